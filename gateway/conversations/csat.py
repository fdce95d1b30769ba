"""The satisfaction question after a resolve: a score from 1 to 5, then an optional comment.

The survey is a small state of its own beside the conversation's (a resolved
conversation is resolved whatever the shopper answers): asked → commenting → done.
A shopper who writes something else instead of a score has moved on: the survey
ends unanswered and their message starts a fresh bot turn.
"""

from __future__ import annotations

import re
from enum import StrEnum

from redis.asyncio import Redis

from core.types import Author, Conversation, EventKind, OutgoingMessage, QuickReply
from gateway import keys
from gateway.conversations.outbox import Outbox
from gateway.conversations.store import ConversationStore
from gateway.texts import Texts

NO_COMMENT = "/csat_no_comment"
MAX_COMMENT_CHARS = 1000
# "4", "4/5", "4 stars", "★★★★" — what people type on a phone as well as the button payloads.
_SCORE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|★|\*|stars?|sterne?|points?|punkte?)?\s*[.!]?\s*$", re.IGNORECASE)
_STARS = re.compile(r"^\s*(★{1,5})\s*$")
# The survey is forgotten after this long: an answer days later is a new conversation.
SURVEY_TTL_SECONDS = 7 * 24 * 3600


class SurveyState(StrEnum):
    ASKED = "asked"
    COMMENTING = "commenting"
    DONE = "done"


def parse_score(text: str) -> int | None:
    if match := _SCORE.match(text):
        return int(match.group(1))
    if match := _STARS.match(text):
        return len(match.group(1))
    return None


class Survey:
    def __init__(self, store: ConversationStore, outbox: Outbox, texts: Texts) -> None:
        self.store = store
        self.outbox = outbox
        self.texts = texts

    @property
    def redis(self) -> Redis:
        return self.store.redis

    async def ask(self, conversation: Conversation) -> None:
        key = keys.csat(conversation.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)  # a conversation resolved twice is asked afresh
            pipe.hset(key, mapping={"state": SurveyState.ASKED.value})
            pipe.expire(key, SURVEY_TTL_SECONDS)
            await pipe.execute()
        question = OutgoingMessage(
            self.texts.get(conversation.locale, "csat_question"), author=Author.SYSTEM,
            quick_replies=tuple(QuickReply(str(score), str(score)) for score in range(1, 6)),
        )
        await self.outbox.send(conversation, question)

    async def answer(self, conversation: Conversation, text: str) -> bool:
        """Take the shopper's message as the survey's answer; False if it is not one."""
        key = keys.csat(conversation.id)
        state = await self.redis.hget(key, "state")
        if state == SurveyState.ASKED.value:
            score = parse_score(text)
            if score is None:
                await self.redis.hset(key, "state", SurveyState.DONE.value)
                return False
            # Only the first answer counts: a double tap or a second process sees COMMENTING.
            if not await self._advance(key, SurveyState.ASKED, SurveyState.COMMENTING, score=str(score)):
                return True
            await self._record(conversation, score=score, comment=None)
            await self.outbox.send(conversation, OutgoingMessage(
                self.texts.get(conversation.locale, "csat_comment"), author=Author.SYSTEM,
                quick_replies=(QuickReply(self.texts.get(conversation.locale, "csat_no_comment"), NO_COMMENT),),
            ))
            return True
        if state == SurveyState.COMMENTING.value:
            comment = None if text.strip() == NO_COMMENT else text.strip()[:MAX_COMMENT_CHARS]
            if not await self._advance(key, SurveyState.COMMENTING, SurveyState.DONE, comment=comment or ""):
                return True
            stored = await self.redis.hget(key, "score")
            if comment:
                await self._record(conversation, score=int(stored) if stored else None, comment=comment)
            await self.outbox.send(conversation, OutgoingMessage(
                self.texts.get(conversation.locale, "csat_thanks"), author=Author.SYSTEM,
            ))
            return True
        return False

    async def _advance(self, key: str, current: SurveyState, to: SurveyState, **fields: str) -> bool:
        """Move the survey on if it is still in `current` (atomically: one answer wins)."""
        moved = await self.redis.eval(
            "if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] then return 0 end "
            "redis.call('HSET', KEYS[1], 'state', ARGV[2], unpack(ARGV, 3)) return 1",
            1, key, current.value, to.value, *[item for pair in fields.items() for item in pair],
        )
        return bool(moved)

    async def _record(self, conversation: Conversation, *, score: int | None, comment: str | None) -> None:
        await self.store.append(conversation.id, EventKind.CSAT, author=Author.SHOPPER,
                                data={"score": score, "comment": comment})

    async def result(self, conversation_id: str) -> dict[str, object] | None:
        fields = await self.redis.hgetall(keys.csat(conversation_id))
        if not fields.get("score"):
            return None
        return {"score": int(fields["score"]), "comment": fields.get("comment") or None}
