"""The supervisors' conversation directory at shop size: how long a list or a search takes.

    .venv/bin/python benchmarks/directory_search.py                  # 180,000 conversations
    .venv/bin/python benchmarks/directory_search.py --conversations 20000 --runs 20

Starts its own embedded Redis, indexes the conversations with the directory's real fold
(gateway/desk/directory.py; the same writes its projection makes, without the feed and the
case streams, which a search never reads), then times each kind of request the supervisor
console makes, on one connection, one at a time, and prints median and p95 per query and the
memory the index takes.

The conversations are built from faq_data: the shopper asks one of the example questions
(German or English, sometimes with an order number or a product), the bot answers with the
topic's real answer, a third are handed to a team, an agent replies, most are resolved and
some rated; their last activity is spread over 90 days.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

# Run as a script (`python benchmarks/directory_search.py`): make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.stack import free_port  # noqa: E402
from core.types import Author, Channel, Conversation, ConversationState, Event, EventKind, Team  # noqa: E402
from gateway import keys  # noqa: E402
from gateway.bot.faq import Entry, load_languages, load_topics  # noqa: E402
from gateway.desk.directory import NAME, Cursor, Directory, Filter, fold  # noqa: E402
from gateway.run import processes  # noqa: E402
from gateway.settings import REPO_ROOT  # noqa: E402

NOW = 1_796_115_600.0  # Tuesday 1 December 2026, 10:00 in Berlin
DAY = 86_400.0
PRODUCTS = ("Leinen-Kissenhülle", "Wolldecke", "Kerzenhalter", "Becher", "Vase", "Lampe",
            "linen cushion cover", "wool throw", "candle holder", "mug", "lamp")
AGENTS = [f"agent{n}@nordlicht-home.example" for n in range(20)]
QUERIES: list[tuple[str, Filter]] = [
    ("the newest page, no filter", Filter()),
    ("state=queued", Filter(state=ConversationState.QUEUED)),
    ("state=resolved, team=logistics, channel=web", Filter(state=ConversationState.RESOLVED, team=Team.LOGISTICS,
                                                          channel=Channel.WEB)),
    ("agent + csat=1", Filter(agent=AGENTS[3], csat=1)),
    ("last 7 days", Filter(since=NOW - 7 * DAY)),
    ("q=Rücksendung (common word)", Filter(text="Rücksendung")),
    ("q=refund label", Filter(text="refund label")),
    ("q=rück (prefix)", Filter(text="rück")),
    ("q=<an order number> (rare)", Filter(text="104233")),
    ("q=Bestellung + team=logistics + last 30 days", Filter(text="Bestellung", team=Team.LOGISTICS,
                                                           since=NOW - 30 * DAY)),
    ("q=lieferung paket wo (3 words)", Filter(text="lieferung paket wo")),
]


def conversation_events(chooser: random.Random, topics: list[Entry], index: int) -> tuple[Conversation, list[Event]]:
    lang = "de" if chooser.random() < 0.6 else "en"
    channel = chooser.choices(list(Channel), weights=(70, 10, 10, 10, 0))[0]
    start = NOW - chooser.random() * 90 * DAY
    cid = f"bench{index:07d}"
    at = start
    events = [Event("", EventKind.STATE, at, data={"to": "bot", "reason": "created"})]
    for _ in range(chooser.choice((1, 1, 2, 2, 3))):
        topic = chooser.choice(topics)
        question = chooser.choice(topic.questions.get(lang) or topic.questions["de"])
        if chooser.random() < 0.3:
            question += f" Bestellung {chooser.randint(100000, 999999)}" if lang == "de" else \
                f" order {chooser.randint(100000, 999999)}"
        if chooser.random() < 0.2:
            question += " " + chooser.choice(PRODUCTS)
        at += chooser.uniform(2, 60)
        events.append(Event("", EventKind.MESSAGE, at, Author.SHOPPER, question))
        at += 1
        events.append(Event("", EventKind.MESSAGE, at, Author.BOT, topic.answers.get(lang) or topic.answers["de"]))
    state, team, agent = ConversationState.BOT, None, None
    if chooser.random() < 0.33:
        team = chooser.choice(list(Team)).value
        at += 5
        events.append(Event("", EventKind.STATE, at, data={"from": "bot", "to": "queued", "reason": "x", "team": team}))
        state = ConversationState.QUEUED
        if chooser.random() < 0.95:
            agent = chooser.choice(AGENTS)
            at += chooser.uniform(10, 600)
            events.append(Event("", EventKind.STATE, at, data={"from": "queued", "to": "assigned", "reason": "claimed",
                                                             "team": team, "agent": agent}))
            at += 30
            reply = "Ich kümmere mich darum, einen Moment bitte." if lang == "de" else "I'll look into it right away."
            events.append(Event("", EventKind.MESSAGE, at, Author.AGENT, reply))
            state = ConversationState.ASSIGNED
            if chooser.random() < 0.97:
                at += chooser.uniform(60, 1800)
                events.append(Event("", EventKind.STATE, at, data={"from": "assigned", "to": "resolved", "reason": "r"}))
                state = ConversationState.RESOLVED
                if chooser.random() < 0.4:
                    at += 20
                    events.append(Event("", EventKind.CSAT, at, Author.SHOPPER,
                                        data={"score": chooser.randint(1, 5), "comment": None}))
    conversation = Conversation(id=cid, contact_id=cid, channel=channel, address=cid, state=state, locale=lang,
                                created_at=start, updated_at=at, team=team, agent=agent, state_since=at)
    return conversation, events


async def index_one(redis: Redis, conversation: Conversation, events: list[Event]) -> None:
    projected = await fold(redis, conversation, {}, events)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(keys.projection_state(NAME, conversation.id), mapping=dict(projected.state))
        if projected.write is not None:
            projected.write(pipe)
        await pipe.execute()


async def build(redis: Redis, count: int) -> float:
    faq = REPO_ROOT / "faq_data"
    topics = load_topics(faq, load_languages(faq))
    chooser = random.Random(12)
    started = time.perf_counter()
    batch = 64
    for first in range(0, count, batch):
        generated = [conversation_events(chooser, topics, n) for n in range(first, min(count, first + batch))]
        await asyncio.gather(*(index_one(redis, conversation, events) for conversation, events in generated))
        if first and first % 20_000 < batch:
            print(f"  indexed {first:,} conversations ({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


async def measure(redis: Redis, runs: int) -> None:
    directory = Directory(redis)
    print(f"\n{'query':48} {'hits':>6} {'median':>9} {'p95':>9}   (page of 50, {runs} runs each)")
    for name, wanted in QUERIES:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            page = await directory.search(wanted, limit=50)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        print(f"{name:48} {len(page.hits):>6} {statistics.median(times):>7.2f}ms {times[int(0.95 * len(times)) - 1]:>7.2f}ms")
    # A supervisor paging down: the 20th page of a search.
    cursor, started = None, time.perf_counter()
    for _ in range(20):
        page = await directory.search(Filter(text="Rücksendung"), limit=50, cursor=cursor)
        cursor = Cursor.decode(page.next) if page.next else None
    print(f"{'q=Rücksendung, pages 1-20 (each)':48} {len(page.hits):>6} "
          f"{(time.perf_counter() - started) * 1000 / 20:>7.2f}ms")


async def run(url: str, count: int, runs: int) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    base = int((await redis.info("memory"))["used_memory"])
    print(f"indexing {count:,} conversations …", flush=True)
    seconds = await build(redis, count)
    used = int((await redis.info("memory"))["used_memory"]) - base
    terms = sum([1 async for _ in redis.scan_iter(match=keys.directory_postings("*"), count=5000)])
    print(f"indexed in {seconds:.0f} s ({count / seconds:,.0f} conversations/s); index + states "
          f"{used / 2**20:,.0f} MiB ({used / count:,.0f} bytes per conversation), {terms:,} terms")
    await measure(redis, runs)
    await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=180_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with tempfile.TemporaryDirectory() as data:
        service = processes.embedded_redis(port, Path(data), persist=False)
        process = processes.start(service, Path(data) / "redis.log")
        try:
            processes.wait_until(processes.redis_ok(url), timeout=20, process=process, what="redis")
            asyncio.run(run(url, args.conversations, args.runs))
        finally:
            processes.stop(process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
