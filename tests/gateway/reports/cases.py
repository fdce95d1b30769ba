"""The conversations of the recount's scenario: hand-written ones for the corners the
definitions name (midnight, daylight-saving nights, closed holidays, reopened and handed-back
cases, a bot chat picked up after a day), and seeded random ones around them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from core.types import Author, Channel, ConversationState as S, EventKind
from gateway.run.history.writer import AGENTS, SUPERVISOR, Chat, Scenario, answer_delay, berlin

# (reason, team) of the bot's handoffs.
REASONS = (("shopper_asked", "general"), ("complaint", "product"), ("damaged_item", "product"),
           ("billing_problem", "billing"), ("delivered_not_received", "logistics"),
           ("order_problem", "logistics"), ("repeated_misunderstanding", "general"))
# What the shopper writes, and what the bot understood of it (intent, retrieval intent).
TURNS = (
    ("Wo ist meine Bestellung 104233?", "order_status", None, 8),
    ("Wie lange habe ich Zeit für eine Rücksendung?", "faq", "faq/returns", 5),
    ("How long does shipping take?", "faq", "faq/shipping", 4),
    ("Kann ich mit Klarna zahlen?", "faq", "faq/payment", 3),
    ("Hallo", "greet", None, 5),
    ("danke!", "thanks", None, 3),
    ("ja", "affirm", None, 2),
    ("nein", "deny", None, 1),
    ("Ich will eine Rechnung", "invoice_request", None, 2),
    ("Ich möchte etwas zurückschicken", "start_return", None, 2),
    ("Blah  blah", "nlu_fallback", None, 1),
    ("blah BLAH", "nlu_fallback", None, 1),
    ("asdf", "nlu_fallback", None, 1),
    ("Was kostet der Mond?", "out_of_scope", None, 1),
)
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 9, 10, 10, 9, 8, 8, 8, 7, 6, 4, 2)
AUTUMN = (date(2026, 10, 5), 35)  # five weeks around the clocks going back on 25 October
SPRING = (date(2026, 3, 23), 14)  # two weeks around the clocks going forward on 29 March
HOUR = 3600
# How soon an agent answers while the team is in (one span drawn), and after its next opening.
ANSWERED_SOON = ((3, 60), (60, 600), (600, 7200))


def agents_of(team: str) -> list[str]:
    return [email for email, of in AGENTS.items() if of == team and email != SUPERVISOR] or [SUPERVISOR]


async def hand_written(s: Scenario) -> dict[str, str]:
    """The named corner cases; their ids by name."""
    ids: dict[str, str] = {}

    async def chat(name: str, channel: Channel, at: int) -> Chat:
        opened = await s.chat(channel, at - 1000, f"{channel.value}-{name}")
        ids[name] = opened.id
        return opened

    # A handoff two minutes before closing, answered three minutes after the next opening:
    # 12 h 05 min = 43,500 s of calendar time, 300 s of opening hours.
    c = await chat("overnight", Channel.WEB, berlin(2026, 10, 15, 19, 57))
    c.at(berlin(2026, 10, 15, 19, 57))
    await c.turn("Ich möchte mit einem Menschen sprechen", "request_human", after=0)
    c.at(berlin(2026, 10, 15, 19, 58))
    await c.handoff("general", "shopper_asked", after=0)
    c.at(berlin(2026, 10, 16, 8, 2, 30))
    await c.claim("emil@nordlicht-home.example", 0)
    c.at(berlin(2026, 10, 16, 8, 3))
    await c.agent_says("Guten Morgen! Wie kann ich helfen?", 0)
    await c.shopper("Meine Lieferung fehlt", 120)
    await c.agent_says("Ich schaue nach.", 60)
    await c.resolve(240)
    await c.csat(5, "Super, danke")

    # Saturday 15:50 CEST until Monday 08:10 CET, over the night the clocks go back:
    # 40 h 20 min on the wall clock + 1 h = 148,800 s; 10 + 10 min = 1,200 s open.
    c = await chat("autumn_night", Channel.WHATSAPP, berlin(2026, 10, 24, 15, 40))
    c.at(berlin(2026, 10, 24, 15, 40))
    await c.turn("Mein Paket ist beschädigt angekommen", "report_damage", after=0)
    c.at(berlin(2026, 10, 24, 15, 50))
    await c.handoff("product", "damaged_item", after=0)
    c.at(berlin(2026, 10, 26, 8, 10))
    await c.agent_says("Das tut mir leid! Schicken Sie ein Foto?", 0, agent="carla@nordlicht-home.example")
    await c.resolve(1200)

    # 02:30 happens twice that night: both chats start in the hour 2 of a Sunday.
    c = await chat("twice_0230_first", Channel.WEB, berlin(2026, 10, 25, 2, 30))
    c.at(berlin(2026, 10, 25, 2, 30))
    await c.turn("How long does shipping take?", "faq", retrieval="faq/shipping", after=0)
    c = await chat("twice_0230_second", Channel.SMS, berlin(2026, 10, 25, 2, 30, fold=1))
    c.at(berlin(2026, 10, 25, 2, 30, fold=1))
    await c.turn("Kann ich mit Klarna zahlen?", "faq", retrieval="faq/payment", after=0)

    # Saturday 15:30 CET until Monday 08:05 CEST, over the night the clocks go forward:
    # 40 h 35 min − 1 h = 142,500 s; 30 + 5 min = 2,100 s open.
    c = await chat("spring_night", Channel.SMS, berlin(2026, 3, 28, 15, 29))
    c.at(berlin(2026, 3, 28, 15, 29))
    await c.turn("Meine Abbuchung ist doppelt", "billing_problem", after=0)
    c.at(berlin(2026, 3, 28, 15, 30))
    await c.handoff("billing", "billing_problem", after=0)
    c.at(berlin(2026, 3, 30, 8, 5))
    await c.agent_says("Ich prüfe die Buchung.", 0, agent="dana@nordlicht-home.example")
    await c.resolve(600)
    await c.csat(4)
    # One real minute from 01:59:30 CET to 03:00:30 CEST.
    c = await chat("spring_clock_jump", Channel.MESSENGER, berlin(2026, 3, 29, 1, 59, 30))
    c.at(berlin(2026, 3, 29, 1, 59, 30))
    await c.turn("Hallo", "greet", after=0)
    await c.turn("Wo ist meine Bestellung?", "order_status", after=60)

    # Started on Tuesday, handed off on Wednesday after midnight, answered at the opening.
    c = await chat("midnight", Channel.MESSENGER, berlin(2026, 10, 20, 23, 50))
    c.at(berlin(2026, 10, 20, 23, 50))
    await c.turn("Hi", "greet", after=0)
    c.at(berlin(2026, 10, 21, 0, 4, 50))
    await c.turn("Das Paket wurde nie geliefert", "delivered_not_received", after=0)
    c.at(berlin(2026, 10, 21, 0, 5))
    await c.handoff("logistics", "delivered_not_received", after=0)
    c.at(berlin(2026, 10, 21, 8, 1))
    await c.agent_says("Guten Morgen, ich kläre das mit DHL.", 0, agent="anna@nordlicht-home.example")
    await c.resolve(1800)

    # A first response of exactly the target (120.000 s): over it (`target` seconds or longer).
    c = await chat("exactly_target", Channel.WEB, berlin(2026, 10, 14, 10, 0))
    c.at(berlin(2026, 10, 14, 10, 0))
    await c.turn("Ich will einen Menschen", "request_human", after=0)
    c.at(berlin(2026, 10, 14, 10, 0, 5))
    await c.handoff("general", "shopper_asked", after=0)
    c.at(berlin(2026, 10, 14, 10, 2, 5))
    await c.agent_says("Hallo, hier ist Fritz.", 0, agent="fritz@nordlicht-home.example")
    await c.resolve(300)

    # A bot chat picked up after 25 h (an order notification in between): two conversations.
    c = await chat("resumed_after_a_day", Channel.WEB, berlin(2026, 10, 12, 10, 0))
    c.at(berlin(2026, 10, 12, 10, 0))
    await c.turn("Hallo", "greet", after=0)
    await c.turn("Wie lange habe ich Zeit für eine Rücksendung?", "faq", retrieval="faq/returns")
    c.at(berlin(2026, 10, 13, 6, 0))
    await c.notification("shipped", 0)
    c.at(berlin(2026, 10, 13, 11, 1))
    await c.turn("Wo ist meine Bestellung?", "order_status", after=0)
    # ... and one picked up after 23 h: still one.
    c = await chat("resumed_same_day", Channel.SMS, berlin(2026, 10, 12, 15, 0))
    c.at(berlin(2026, 10, 12, 15, 0))
    await c.turn("Wo ist meine Bestellung?", "order_status", after=0)
    c.at(berlin(2026, 10, 13, 14, 0))
    await c.turn("danke!", "thanks", after=0)

    # Not understood twice, handed off, handed back unanswered; the bot then finds the topic.
    c = await chat("handed_back_queued", Channel.WEB, berlin(2026, 10, 16, 11, 0))
    c.at(berlin(2026, 10, 16, 11, 0))
    await c.turn("Hallo", "greet", after=0)
    await c.turn("Blah   blah", "nlu_fallback", after=20)
    await c.turn("BLAH blah ", "nlu_fallback", after=20)
    await c.handoff("general", "repeated_misunderstanding")
    if await c.hand_back(19 * 60):
        await c.turn("wo ist meine bestellung", "order_status", after=600)
        await c.handoff("logistics", "shopper_asked", after=60)
        await c.agent_says("Ich sehe nach.", 8 * 60, agent="ben@nordlicht-home.example")
        await c.resolve(20 * 60)
    else:
        await c.resolve(19 * 60, by=SUPERVISOR)

    # Answered, then handed back to the bot, which a supervisor resolves.
    c = await chat("handed_back_assigned", Channel.MESSENGER, berlin(2026, 10, 22, 14, 0))
    c.at(berlin(2026, 10, 22, 14, 0))
    await c.turn("Ich habe eine Beschwerde", "complain", after=0)
    await c.handoff("product", "complaint", after=60)
    await c.claim("carla@nordlicht-home.example", 120)
    await c.agent_says("Worum geht es?", 60)
    if await c.hand_back(16 * 60):
        await c.turn("danke!", "thanks", after=300)
        await c.resolve(35 * 60, by=SUPERVISOR)
    else:
        await c.resolve(16 * 60)

    # Resolved and rated; reopened two days later, handed off, resolved unanswered, rated low.
    c = await chat("reopened", Channel.WHATSAPP, berlin(2026, 10, 19, 9, 0))
    c.at(berlin(2026, 10, 19, 9, 0))
    await c.turn("Wo ist meine Bestellung?", "order_status", after=0)
    await c.handoff("logistics", "order_problem", after=90)
    await c.agent_says("Ihr Paket ist unterwegs.", 8 * 60, agent="anna@nordlicht-home.example")
    await c.resolve(20 * 60)
    await c.csat(5, "Sehr schnell!")
    c.at(berlin(2026, 10, 21, 18, 0))
    await c.reopen("Das Paket ist doch nicht da", 0)
    await c.bot("Das tut mir leid.", "delivered_not_received")
    await c.handoff("logistics", "delivered_not_received", after=60)
    c.at(berlin(2026, 10, 22, 9, 0))
    await c.resolve(0, by=SUPERVISOR)
    await c.csat(2, "Niemand hat geantwortet")

    # Two scores for one survey: only the first counts.
    c = await chat("scored_twice", Channel.SMS, berlin(2026, 10, 27, 10, 0))
    c.at(berlin(2026, 10, 27, 10, 0))
    await c.turn("Ich habe ein Problem mit der Rechnung", "billing_problem", after=0)
    await c.handoff("billing", "billing_problem", after=2)
    await c.agent_says("Ich helfe gern.", 200, agent="dana@nordlicht-home.example")
    await c.resolve(900)
    await c.csat(4)
    await c.store.append(c.id, EventKind.CSAT, author=Author.SHOPPER, data={"score": 5, "comment": None})

    # Rasa down: the shopper is told, the case goes to the general queue.
    c = await chat("rasa_down", Channel.WEB, berlin(2026, 10, 27, 12, 0))
    c.at(berlin(2026, 10, 27, 12, 0))
    await c.shopper("Hallo?", 0)
    await c.system("Der Assistent ist gerade nicht erreichbar.", 0.1, reason="bot_unavailable")
    await c.handoff("general", "bot_unavailable", after=0.1)
    c.at(berlin(2026, 10, 27, 12, 3))
    await c.agent_says("Hallo, hier ist Emil.", 0, agent="emil@nordlicht-home.example")
    await c.resolve(600)

    # Christmas Eve 19:00 until Monday 08:30, over two closed holidays and a Sunday:
    # 307,800 s; 1 h + 30 min = 5,400 s open.
    c = await chat("christmas", Channel.WEB, berlin(2026, 12, 24, 18, 59))
    c.at(berlin(2026, 12, 24, 18, 59))
    await c.turn("Ich brauche einen Menschen", "request_human", after=0)
    c.at(berlin(2026, 12, 24, 19, 0))
    await c.handoff("general", "shopper_asked", after=0)
    c.at(berlin(2026, 12, 28, 8, 30))
    await c.agent_says("Frohe Weihnachten nachträglich!", 0, agent="fritz@nordlicht-home.example")
    await c.resolve(600)
    await c.csat(5, "Danke trotz Feiertag")

    # The shopper's last message is still unanswered at the resolve: no waiting time for it.
    c = await chat("open_at_resolve", Channel.SMS, berlin(2026, 10, 28, 9, 0))
    c.at(berlin(2026, 10, 28, 9, 0))
    await c.turn("Ich will meine Adresse ändern", "change_address", after=0)
    await c.handoff("logistics", "shopper_asked", after=1)
    await c.agent_says("Welche Adresse?", 300, agent="anna@nordlicht-home.example")
    await c.shopper("Hauptstr. 1", 60)
    await c.agent_says("Erledigt.", 120)
    await c.shopper("ok danke", 30)
    await c.resolve(60)

    # Sent to logistics, moved on to billing before anyone answered: the handoff stays logistics'.
    c = await chat("team_transfer", Channel.WEB, berlin(2026, 10, 26, 10, 0))
    c.at(berlin(2026, 10, 26, 10, 0))
    await c.turn("Wo ist meine Bestellung?", "order_status", after=0)
    await c.handoff("logistics", "shopper_asked", after=5)
    await c.to_team("billing", 300)
    await c.agent_says("Ich bin aus der Buchhaltung.", 900, agent="dana@nordlicht-home.example")
    await c.resolve(600)
    # Claimed by Anna, passed to Ben, who answers: Anna had the handoff, Ben the first response.
    c = await chat("agent_transfer", Channel.MESSENGER, berlin(2026, 10, 26, 11, 0))
    c.at(berlin(2026, 10, 26, 11, 0))
    await c.turn("Wo ist meine Bestellung?", "order_status", after=0)
    await c.handoff("logistics", "order_problem", after=5)
    await c.claim("anna@nordlicht-home.example", 60)
    await c.to_agent("ben@nordlicht-home.example", 240)
    await c.agent_says("Hallo, hier ist Ben.", 60)
    await c.resolve(1400)
    await c.csat(3, "Zu lange")
    # Claimed and resolved without a word: unanswered, Carla's.
    c = await chat("claimed_silent", Channel.WEB, berlin(2026, 10, 27, 16, 0))
    c.at(berlin(2026, 10, 27, 16, 0))
    await c.turn("Ich habe eine Beschwerde", "complain", after=0)
    await c.handoff("product", "complaint", after=3)
    await c.claim("carla@nordlicht-home.example", 120)
    await c.resolve(480)

    # Greetings only: no topic, deflected. An offer before the shopper's first word.
    c = await chat("greetings_only", Channel.WHATSAPP, berlin(2026, 10, 28, 20, 30))
    c.at(berlin(2026, 10, 28, 20, 30))
    await c.turn("Hallo", "greet", after=0)
    await c.turn("danke!", "thanks", after=40)
    c = await chat("offer_first", Channel.WEB, berlin(2026, 10, 29, 15, 0))
    c.at(berlin(2026, 10, 29, 15, 0))
    await c.offer(0)
    await c.shopper("/offer_accept", 120)
    await c.plain_bot("Wie kann ich helfen?", after=1)  # the accepted offer's answer: no intent
    await c.turn("Wo ist meine Bestellung?", "order_status", after=30)
    # Handed off on a Friday night and never answered: neither answered nor unanswered.
    c = await chat("still_waiting", Channel.SMS, berlin(2026, 11, 6, 21, 0))
    c.at(berlin(2026, 11, 6, 21, 0))
    await c.turn("Ich will einen Menschen", "request_human", after=0)
    await c.handoff("general", "shopper_asked", after=1)
    return ids



# --- seeded random conversations --------------------------------------------------------


def random_moment(rng: random.Random) -> int:
    first, days = AUTUMN if rng.random() < 0.85 else SPRING
    day = first + timedelta(days=rng.randrange(days))
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return berlin(day.year, day.month, day.day, hour, rng.randrange(60), round(rng.uniform(0, 59.999), 3))


async def bot_turns(chat: Chat, rng: random.Random, *, after: float) -> None:
    for n in range(rng.randint(1, 4)):
        text, intent, retrieval, _ = rng.choices(TURNS, weights=[t[3] for t in TURNS])[0]
        await chat.shopper(text, after if n == 0 else rng.uniform(5, 240))
        await chat.bot("…", intent, retrieval=retrieval, after=rng.uniform(0.2, 3), messages=rng.choice((1, 1, 2)))




async def human_part(chat: Chat, rng: random.Random) -> None:
    """A handoff and what the desk makes of it; leaves the chat resolved, back with the bot, or open."""
    reason, team = rng.choice(REASONS)
    if rng.random() < 0.05:
        await chat.shopper("Hallo? Ist da jemand?", rng.uniform(10, 60))
        await chat.system("Der Assistent ist gerade nicht erreichbar.", 0.1, reason="bot_unavailable")
        reason, team = "bot_unavailable", "general"
    await chat.handoff(team, reason, after=rng.uniform(0.1, 3))
    if rng.random() < 0.1:
        await chat.to_team(rng.choice([t for _, t in REASONS if t != team]), rng.uniform(60, 900))
    outcome = rng.random()
    if outcome < 0.06:
        return  # still waiting
    if outcome < 0.14:
        await chat.resolve(rng.uniform(300, 7200), by=SUPERVISOR)
        return
    if outcome < 0.2 and await chat.hand_back(rng.uniform(120, 3600)):
        return
    first, *others = rng.sample(agents_of(chat.team or "general"), k=len(agents_of(chat.team or "general")))
    await chat.claim(first, max(1.0, answer_delay(chat, rng, ANSWERED_SOON, (30, 1800)) - 5))
    if others and rng.random() < 0.1:
        await chat.to_agent(others[0], rng.uniform(30, 300))
    if rng.random() < 0.05:
        await chat.resolve(rng.uniform(60, 900))  # claimed, never written
        return
    await chat.agent_says("Hallo, ich helfe Ihnen.", rng.uniform(1, 30))
    for _ in range(rng.randint(0, 3)):
        await chat.shopper("Und was jetzt?", rng.uniform(20, 600))
        if rng.random() < 0.9:
            await chat.agent_says("Das erledige ich.", rng.uniform(10, 900))
    end = rng.random()
    if end < 0.85:
        await chat.resolve(rng.uniform(60, 1800) if rng.random() < 0.9 else rng.uniform(8 * HOUR, 30 * HOUR))
    elif end < 0.95:
        await chat.hand_back(rng.uniform(60, 600))


async def survey(chat: Chat, rng: random.Random) -> None:
    if rng.random() < 0.6:
        score = rng.choices((1, 2, 3, 4, 5), weights=(10, 10, 15, 30, 35))[0]
        await chat.csat(score, rng.choice(("Top", "Zu langsam", "Bitte mehr Farben")) if rng.random() < 0.4 else None,
                        after=rng.uniform(5, 600))


async def random_chat(s: Scenario, rng: random.Random, n: int) -> None:
    channel = rng.choice(list(Channel))
    start = random_moment(rng)
    chat = await s.chat(channel, start - rng.randint(1000, 600_000), f"{channel.value}-random-{n}")
    if rng.random() < 0.15:
        await chat.notification("shipped", rng.uniform(1, 500))
    if channel is Channel.WEB and rng.random() < 0.1:
        await chat.offer(1)
    await bot_turns(chat, rng, after=max(0.0, (start - chat.t) / 1000))
    for _ in range(3):
        if rng.random() < 0.5:
            await human_part(chat, rng)
            if chat.state is S.RESOLVED:
                await survey(chat, rng)
                if rng.random() >= 0.25:
                    return
                await chat.reopen("Ich habe noch eine Frage", rng.uniform(HOUR, 4 * 24 * HOUR))
                await chat.bot("…", "greet")
            elif chat.state is not S.BOT:
                return
            await bot_turns(chat, rng, after=rng.uniform(60, 3 * HOUR))
            continue
        draw = rng.random()
        if draw < 0.15:
            await bot_turns(chat, rng, after=rng.uniform(25 * HOUR, 4 * 24 * HOUR))
        elif draw < 0.25:
            await bot_turns(chat, rng, after=rng.uniform(HOUR, 23 * HOUR))
        elif draw < 0.3:
            await chat.resolve(rng.uniform(HOUR, 5 * HOUR), by=SUPERVISOR)
            await survey(chat, rng)
            return
        else:
            return


async def write_scenario(s: Scenario, *, seed: int = 12, random_chats: int = 300) -> dict[str, str]:
    """The hand-written conversations and `random_chats` seeded ones; the named ids."""
    ids = await hand_written(s)
    rng = random.Random(seed)
    for n in range(random_chats):
        await random_chat(s, rng, n)
    return ids
