"""Proving that the shopper in a conversation owns an order.

An order number alone proves nothing (it is printed on parcels and invoices), so
the bot must also bring something only the customer knows or holds: the email,
the postal code, the phone number, or a customer token signed by the storefront.

A typed email, postal code or phone number proves only the order it was checked
against: anyone can place a guest order with someone else's address, or learn one
(order, email) pair. Only a customer token — the shop's own login — proves every
order of its email.

Whoever asks must not learn whether an order exists: an unknown order and a wrong
proof give the same answer and cost the same attempt. Attempts are limited per
conversation (a shopper mistyping). Typed proofs are also limited per order id
across all conversations (someone guessing an order's postal code from many
conversations); possession proofs (the customer token, the phone number the channel
vouches for) cannot be guessed, so they neither count against nor wait for that
limit — otherwise throwaway chats could lock the owner out of their own order.

An order proven by its email, phone or customer token also says who the shopper is: the
conversation's contact is linked to the order's email and phone (gateway/conversations/contacts.py), so
the agent's case shows the person's earlier conversations on every channel. A postal code
(printed on the parcel) and a failed proof link nothing.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from redis.asyncio import Redis

from core.types import MAX_CUSTOMER_TOKEN_LENGTH
from gateway import keys
from gateway.conversations.contacts import EMAIL_IDENTITY, PHONE_IDENTITY, Contacts
from gateway.json_input import Body, Text
from gateway.shop import customer_token
from gateway.shop.orders import Order, OrderNumber, OrderStore, normalise_email

CONVERSATION_ATTEMPTS = 3
ORDER_ATTEMPTS = 10
# Failures count for an hour after the latest one; a lock lasts as long.
LOCK_SECONDS = 3600
# How long a proof holds in a conversation: a day covers a shopper coming back later.
PROOF_SECONDS = 24 * 3600
# The demo shop sells from Germany: a national number (0151 …) is a German one.
DEFAULT_COUNTRY_CODE = "49"

# Counts an attempt against the conversation's counter and, if given, the order's
# (KEYS[2]) unless either is at its limit (then -1), in one step so that parallel
# guesses cannot all slip under the limit.
_RESERVE = """
local conversation = tonumber(redis.call('GET', KEYS[1]) or '0')
if conversation >= tonumber(ARGV[1]) then return -1 end
if KEYS[2] then
  if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return -1 end
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
conversation = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return tonumber(ARGV[1]) - conversation
"""

# A successful proof gives its reserved attempt back.
_REFUND = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class ProofKind(StrEnum):
    EMAIL = "email"
    POSTAL_CODE = "postal_code"
    PHONE = "phone"
    CUSTOMER_TOKEN = "customer_token"


# What the shopper holds rather than types: not guessable from another conversation.
POSSESSION_PROOFS = frozenset({ProofKind.CUSTOMER_TOKEN, ProofKind.PHONE})
# Proofs that also say who the shopper is (gateway/conversations/contacts.py links their identities).
IDENTITY_PROOFS = frozenset({ProofKind.EMAIL, ProofKind.PHONE, ProofKind.CUSTOMER_TOKEN})
# GET …/orders lists at most this many, newest first.
MAX_LISTED_ORDERS = 20


class Proof(Body):
    kind: ProofKind
    value: Annotated[str, Text(max_length=MAX_CUSTOMER_TOKEN_LENGTH)]


class VerificationInput(Body):
    """An order that does not exist and a wrong proof are answered alike."""

    order_id: OrderNumber
    proof: Proof


class Locked(Exception):
    """Too many failed attempts in this conversation or against this order id."""


class NoMatch(Exception):
    """Unknown order or wrong proof — deliberately the same."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"no match, {attempts_left} attempts left")
        self.attempts_left = attempts_left


class TokenProofsDisabled(Exception):
    """A customer token was offered but no STORECHAT_CUSTOMER_TOKEN_SECRET is configured."""


def normalise_postal_code(value: str) -> str:
    return "".join(value.split()).upper()


def normalise_phone(value: str) -> str:
    """E.164-ish: ``0151 123``, ``0049151123`` and ``+49 151 123`` are one number."""
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+" + DEFAULT_COUNTRY_CODE + digits[1:]
    return "+" + digits


def proven_identities(order: Order) -> list[tuple[str, str]]:
    """The identities (kind, value) of the person a proven order names: its email and its phone."""
    found = [(EMAIL_IDENTITY, normalise_email(order.email))]
    if order.phone:
        found.append((PHONE_IDENTITY, normalise_phone(order.phone)))
    return found


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class Verifier:
    def __init__(self, redis: Redis, orders: OrderStore, token_secret: str | None) -> None:
        self.redis = redis
        self.orders = orders
        self.token_secret = token_secret
        self.contacts = Contacts(redis)
        self._reserve = redis.register_script(_RESERVE)
        self._refund = redis.register_script(_REFUND)

    async def verify(self, conversation_id: str, order_id: str, proof: Proof) -> Order:
        """The order, now proven for the conversation, whose contact is linked to the order's
        email and phone; raises NoMatch or Locked (and then links nothing)."""
        if proof.kind is ProofKind.CUSTOMER_TOKEN and self.token_secret is None:
            raise TokenProofsDisabled()
        counters = [keys.verification_failures(conversation_id)]
        if proof.kind not in POSSESSION_PROOFS:
            counters.append(keys.order_verification_failures(order_id))
        attempts_left = int(await self._reserve(counters, [CONVERSATION_ATTEMPTS, ORDER_ATTEMPTS, LOCK_SECONDS]))
        if attempts_left < 0:
            raise Locked()
        order = await self.orders.get(order_id)
        claimed_email = self._claimed_email(proof)
        if order is None or not self._matches(order, proof, claimed_email):
            raise NoMatch(attempts_left)
        await self._refund(counters)
        # Only the shop's signed login vouches for the customer behind the email.
        customer_email = claimed_email if proof.kind is ProofKind.CUSTOMER_TOKEN else None
        await self._remember(conversation_id, order, customer_email)
        # A postal code is printed on the parcel's label: it proves the order to whoever
        # holds the parcel, not who the person is, so it links no identity. A sender id that
        # is no conversation of ours (the API used directly) links nothing either.
        if proof.kind in IDENTITY_PROOFS:
            for kind, value in proven_identities(order):
                await self.contacts.link_conversation(conversation_id, kind, value)
        return order

    def _claimed_email(self, proof: Proof) -> str | None:
        """The normalised email an email or token proof names (None: not such a proof, or a bad token)."""
        if proof.kind is ProofKind.EMAIL:
            return normalise_email(proof.value)
        if proof.kind is ProofKind.CUSTOMER_TOKEN and self.token_secret is not None:
            try:
                return normalise_email(customer_token.verify(proof.value, self.token_secret))
            except customer_token.InvalidToken:
                return None
        return None

    @staticmethod
    def _matches(order: Order, proof: Proof, claimed_email: str | None) -> bool:
        if proof.kind in (ProofKind.EMAIL, ProofKind.CUSTOMER_TOKEN):
            return claimed_email is not None and _same(claimed_email, normalise_email(order.email))
        if proof.kind is ProofKind.POSTAL_CODE:
            known = [order.postal_code, order.shipping_address.postal_code if order.shipping_address else None]
            wanted = normalise_postal_code(proof.value)
            return any(_same(wanted, normalise_postal_code(code)) for code in known if code)
        return order.phone is not None and _same(normalise_phone(proof.value), normalise_phone(order.phone))

    async def vouch(self, conversation_id: str, order: Order) -> None:
        """The order proven in the conversation on the shop's word: the conversation is at the
        address the customer gave the shop for news of this order (its `notify`), so their
        reply to that news goes on with the order, no proof asked. Links no contact."""
        await self._remember(conversation_id, order, None)

    async def _remember(self, conversation_id: str, order: Order, customer_email: str | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.verified_orders(conversation_id), order.order_id)
            pipe.expire(keys.verified_orders(conversation_id), PROOF_SECONDS)
            if customer_email is not None:
                pipe.sadd(keys.verified_emails(conversation_id), customer_email)
                pipe.expire(keys.verified_emails(conversation_id), PROOF_SECONDS)
            await pipe.execute()

    async def proven_orders(self, conversation_id: str) -> list[Order]:
        """The MAX_LISTED_ORDERS newest orders proven in the conversation, those of token-proven
        customers included; newest first."""
        order_ids = await self.redis.smembers(keys.verified_orders(conversation_id))
        emails = await self.redis.smembers(keys.verified_emails(conversation_id))
        found = {order.order_id: order for order in await self.orders.many(str(i) for i in order_ids)}
        for email in emails:
            customer_orders = await self.orders.for_email(str(email), limit=MAX_LISTED_ORDERS)
            found.update((order.order_id, order) for order in customer_orders)
        return _newest_first(found.values())[:MAX_LISTED_ORDERS]

    async def is_proven(self, conversation_id: str, order: Order) -> bool:
        """Proven itself, or an order of a customer whose token was shown in the conversation."""
        if await self.redis.sismember(keys.verified_orders(conversation_id), order.order_id):
            return True
        return bool(await self.redis.sismember(keys.verified_emails(conversation_id), normalise_email(order.email)))


def _newest_first(orders: Iterable[Order]) -> list[Order]:
    return sorted(orders, key=lambda order: order.placed_at, reverse=True)
