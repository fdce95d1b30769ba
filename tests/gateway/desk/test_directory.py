"""The conversation directory on real Redis: events through the real store and state machine,
folded by the feed's Follower, then listed and searched as a supervisor would."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from core.types import Author, Channel, ConversationState as S, EventKind, Team
from gateway import keys
from gateway.conversations import state_machine
from gateway.conversations.feed import Follower, rebuild
from gateway.conversations.store import ConversationStore
from gateway.desk.directory import Bounds, Cursor, Directory, DirectoryProjection, Filter, InvalidCursor

# Tuesday 1 December 2026, 10:00 in Berlin.
T0 = 1796115600.0
ANNA = "anna@shop.example"
BEN = "ben@shop.example"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Cases:
    """Conversations written through the real store and state machine, at the test's times."""

    def __init__(self, redis: Redis, projection: DirectoryProjection | None = None) -> None:
        self.redis = redis
        self.clock = Clock()
        self.store = ConversationStore(redis, self.clock)
        self.projection = projection or DirectoryProjection()
        self.follower = Follower(redis, self.projection)
        self.directory = Directory(redis, self.projection.bounds)
        self.count = 0

    async def start(self) -> Cases:
        await self.follower.ensure_group()  # a new group starts at the feed's end
        return self

    async def chat(self, *lines: str, channel: Channel = Channel.WEB, at: float | None = None) -> str:
        """A conversation where the shopper writes `lines` and the bot answers each."""
        self.count += 1
        if at is not None:
            self.clock.now = at
        conversation = await self.store.open(channel, f"address-{self.count}", "de")
        for line in lines:
            await self.store.append_message(conversation.id, Author.SHOPPER, line)
        return conversation.id

    async def move(self, cid: str, to: S, **where: str) -> None:
        await state_machine.transition(self.redis, cid, to, clock=self.clock, reason="test", **where)

    async def ids(self, limit: int = 50, **wanted: object) -> list[str]:
        await self.follower.drain()
        page = await self.directory.search(Filter(**wanted), limit=limit)  # type: ignore[arg-type]
        return [hit.conversation_id for hit in page.hits]


@pytest.fixture
async def cases(redis: Redis) -> Cases:
    return await Cases(redis).start()


async def test_every_conversation_is_listed_newest_activity_first(cases: Cases) -> None:
    first = await cases.chat("Hallo", at=T0)
    second = await cases.chat("Hi", at=T0 + 60)
    third = await cases.chat("Guten Tag", at=T0 + 120)
    assert await cases.ids() == [third, second, first]

    cases.clock.now = T0 + 600  # the first shopper writes again: their case comes to the top
    await cases.store.append_message(first, Author.SHOPPER, "Noch da?")
    await cases.follower.drain()
    page = await cases.directory.search(Filter(), limit=10)

    assert [hit.conversation_id for hit in page.hits] == [first, third, second]
    assert page.hits[0].last_activity == T0 + 600 and page.next is None


async def test_state_team_agent_and_channel_narrow_the_list(cases: Cases) -> None:
    waiting = await cases.chat("Wo ist mein Paket?")
    mine = await cases.chat("Rechnung bitte", channel=Channel.SMS)
    done = await cases.chat("Kaputt angekommen")
    await cases.chat("Nur eine Frage")  # stays with the bot
    await cases.move(waiting, S.QUEUED, team="logistics")
    await cases.move(mine, S.QUEUED, team="billing")
    await cases.move(mine, S.ASSIGNED, team="billing", agent=ANNA)
    await cases.move(done, S.QUEUED, team="product")
    await cases.move(done, S.ASSIGNED, team="product", agent=BEN)
    await cases.move(done, S.RESOLVED)

    assert await cases.ids(state=S.QUEUED) == [waiting]
    assert await cases.ids(state=S.ASSIGNED, team=Team.BILLING) == [mine]
    assert await cases.ids(channel=Channel.SMS) == [mine]
    # A resolved conversation keeps the team and agent it was last with.
    assert await cases.ids(team=Team.PRODUCT) == [done]
    assert await cases.ids(agent=BEN) == [done]
    assert await cases.ids(agent=BEN, state=S.ASSIGNED) == []
    assert len(await cases.ids(state=S.BOT)) == 1


async def test_the_date_range_is_of_the_last_activity(cases: Cases) -> None:
    old = await cases.chat("Hallo", at=T0 - 3 * 86_400)
    revived = await cases.chat("Hallo", at=T0 - 3 * 86_400)
    today = await cases.chat("Hallo", at=T0)
    cases.clock.now = T0 + 30
    await cases.store.append_message(revived, Author.SHOPPER, "Ich bin es wieder")

    assert await cases.ids(since=T0 - 3600) == [revived, today]
    assert await cases.ids(until=T0 - 86_400) == [old]
    assert await cases.ids(since=T0 - 3600, until=T0 + 10) == [today]


async def test_the_last_csat_score_is_a_filter(cases: Cases) -> None:
    happy, grumpy = await cases.chat("Danke"), await cases.chat("Geht so")
    for cid, score in ((happy, 5), (grumpy, 2)):
        await cases.move(cid, S.QUEUED, team="general")
        await cases.move(cid, S.RESOLVED)
        await cases.store.append(cid, EventKind.CSAT, author=Author.SHOPPER, data={"score": score, "comment": None})
    await cases.store.append(grumpy, EventKind.CSAT, author=Author.SHOPPER,
                             data={"score": 2, "comment": "Viel zu lange gewartet"})

    assert await cases.ids(csat=5) == [happy]
    page = await cases.directory.search(Filter(csat=2), limit=5)
    assert [(hit.conversation_id, hit.csat) for hit in page.hits] == [(grumpy, 2)]
    assert await cases.ids(text="gewartet") == [grumpy]  # the comment is searchable too


async def test_search_folds_case_accents_and_umlaut_spellings(cases: Cases) -> None:
    german = await cases.chat("Ich möchte eine Rücksendung für die Größe XL")
    english = await cases.chat("I want a REFUND for the damaged café table")
    await cases.chat("Wo bleibt meine Bestellung?")

    for query in ("Rücksendung", "ruecksendung", "RÜCKSENDUNG", "groesse", "Größe xl"):
        assert await cases.ids(text=query) == [german], query
    assert await cases.ids(text="refund cafe") == [english]
    assert await cases.ids(text="Café damaged") == [english]
    # Every word must occur.
    assert await cases.ids(text="ruecksendung refund") == []


async def test_a_word_finds_the_longer_words_it_starts(cases: Cases) -> None:
    returned = await cases.chat("Rücksendeetikett fehlt")
    refund = await cases.chat("Rückerstattung noch nicht da")
    await cases.chat("Rechnung fehlt")

    assert set(await cases.ids(text="rück")) == {returned, refund}
    assert await cases.ids(text="rücksende") == [returned]
    assert await cases.ids(text="rueckerst") == [refund]
    assert await cases.ids(text="ru") == []  # too short to stand for longer words


async def test_bot_and_agent_words_are_found_but_not_system_notices(cases: Cases) -> None:
    cid = await cases.chat("Hallo")
    await cases.store.append_message(cid, Author.BOT, "Die Rücksendung ist 30 Tage kostenlos.")
    await cases.store.append_message(cid, Author.AGENT, "Ich schicke Ihnen das DHL-Etikett.",
                                     {"agent": ANNA, "agent_name": "Anna"})
    await cases.store.append(cid, EventKind.NOTE, author=Author.AGENT, text="Kulanz gewährt",
                             data={"agent": ANNA, "agent_name": "Anna"})
    await cases.store.append_message(cid, Author.SYSTEM, "Sie sind als Nächstes dran.")

    assert await cases.ids(text="kostenlos") == [cid]
    assert await cases.ids(text="dhl etikett") == [cid]
    assert await cases.ids(text="kulanz") == [cid]
    assert await cases.ids(text="naechstes") == []


async def test_a_query_of_only_common_words_finds_nothing(cases: Cases) -> None:
    await cases.chat("Wo ist das und was ist the order")

    assert await cases.ids(text="und das the") == []
    assert await cases.ids(text="order") != []


async def test_pages_cover_every_hit_once_even_when_times_tie(cases: Cases) -> None:
    # The clock does not move: every conversation has the same last activity.
    written = {await cases.chat("Paket fehlt", at=T0) for _ in range(7)}
    written.add(await cases.chat("Paket fehlt", at=T0 - 10))
    await cases.follower.drain()

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await cases.directory.search(Filter(text="paket"), limit=3, cursor=cursor)
        seen += [hit.conversation_id for hit in page.hits]
        if page.next is None:
            break
        cursor = Cursor.decode(page.next)

    assert len(seen) == len(written) and set(seen) == written
    with pytest.raises(InvalidCursor):
        Cursor.decode("not-a-cursor")


async def test_every_index_is_bounded(redis: Redis) -> None:
    bounds = Bounds(terms_per_conversation=4, postings_per_term=3, terms_per_prefix=2)
    cases = await Cases(redis, DirectoryProjection(bounds=bounds)).start()
    long = await cases.chat("eins zwei drei vier", "fuenf sechs")
    common = [await cases.chat(f"Lieferung {n}", at=T0 + n) for n in range(5)]
    await cases.chat("liebe lieder liegen", at=T0 + 10)
    await cases.follower.drain()

    # The first words of a long conversation are indexed, later new ones not.
    assert await cases.ids(text="vier") == [long] and await cases.ids(text="fuenf") == []
    assert await redis.zcard(keys.directory_postings("lieferung")) == 3
    assert await cases.ids(text="lieferung") == common[:1:-1]  # the newest three
    # Four words start with "lie"; the two used last are kept for prefix search.
    assert await redis.zrange(keys.directory_prefix("lie"), 0, -1) == ["lieder", "liegen"]


async def test_a_rebuild_gives_the_same_directory(cases: Cases) -> None:
    first = await cases.chat("Rücksendung bitte")
    second = await cases.chat("Rücksendung fehlt", at=T0 + 10)
    await cases.move(second, S.QUEUED, team="logistics")
    before = await cases.ids(text="ruecksendung"), await cases.ids(team=Team.LOGISTICS)

    await rebuild(cases.redis, cases.projection)

    assert (await cases.ids(text="ruecksendung"), await cases.ids(team=Team.LOGISTICS)) == before
    assert before == ([second, first], [second])
