"""Proving that the shopper in a conversation owns an order.

An order number alone proves nothing (it is printed on parcels and invoices), so
the bot must also bring something only the customer knows or holds: the email,
the postal code, the phone number, or a customer token signed by the storefront.

A typed email or postal code, or the phone number, proves only the order it was checked
against: anyone can place a guest order with someone else's address, or learn one
(order, email) pair. Only a customer token — the shop's own login — proves every
order of its email.

The phone is never what the caller says it is: a phone proof is the conversation's own
channel address, for an SMS or WhatsApp conversation (the provider proved the number),
and whatever value is sent with it is ignored. An unknown conversation, or one on
another channel, has no phone: its phone proof fails like a wrong one.

Whoever asks must not learn whether an order exists: an unknown order and a wrong
proof give the same answer and cost the same attempt. Typed proofs (email, postal code)
slow down the client that keeps failing — its conversation, device or session and network
address — with growing waits (gateway/shop/proof_throttle.py), never the order, so
throwaway chats cannot lock the owner out. Possession proofs cannot be guessed: they
neither count against nor wait for those waits, and a valid customer token is never
refused; phone proofs and invalid tokens are only rate-limited per conversation (the
`possession_proof_per_conversation` rule, config/limits.yml).

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
from typing import Annotated, Self

from pydantic import Field, model_validator

from redis.asyncio import Redis

from core.types import MAX_CUSTOMER_TOKEN_LENGTH, Conversation
from gateway import keys
from gateway.conversations.contacts import EMAIL_IDENTITY, PHONE_CHANNELS, PHONE_IDENTITY, Contacts
from gateway.conversations.store import ConversationStore
from gateway.json_input import Body, Text
from gateway.limits.limiter import Limiter
from gateway.shop import customer_token
from gateway.shop.orders import Order, OrderNumber, OrderStore, normalise_email
from gateway.shop.proof_throttle import Attempt, Client, MustWait, ProofThrottle

# How long a proof holds in a conversation: a day covers a shopper coming back later.
PROOF_SECONDS = 24 * 3600
# The demo shop sells from Germany: a national number (0151 …) is a German one.
DEFAULT_COUNTRY_CODE = "49"
# The rule (config/limits.yml) for phone proofs and invalid customer tokens, per conversation.
POSSESSION_RULE = "possession_proof_per_conversation"


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
    value: Annotated[Annotated[str, Text(max_length=MAX_CUSTOMER_TOKEN_LENGTH)] | None,
                     Field(description="required, except for a phone proof, whose value is ignored "
                                       "(the conversation's own number is the proof)")] = None

    @property
    def text(self) -> str:
        return self.value or ""

    @model_validator(mode="after")
    def _value_unless_phone(self) -> Self:
        if self.value is None and self.kind is not ProofKind.PHONE:
            raise ValueError(f"{self.kind.value} needs a value (only a phone proof has none)")
        return self


class VerificationInput(Body):
    """An order that does not exist and a wrong proof are answered alike."""

    order_id: OrderNumber
    proof: Proof


class NoMatch(Exception):
    """Unknown order or wrong proof — deliberately the same. With no attempts left, the
    client now waits `retry_after` seconds before its next typed proof."""

    def __init__(self, attempt: Attempt) -> None:
        super().__init__(f"no match, {attempt.attempts_left} attempts left")
        self.attempts_left = attempt.attempts_left
        self.retry_after = attempt.retry_after if attempt.attempts_left == 0 else None


class TooManyAttempts(Exception):
    """The client must wait `retry_after` seconds: earlier typed proofs failed, or (for a
    possession proof) too many were tried in this conversation."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"wait {retry_after} s")
        self.retry_after = retry_after


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
    def __init__(self, redis: Redis, orders: OrderStore, token_secret: str | None, limiter: Limiter) -> None:
        self.redis = redis
        self.orders = orders
        self.token_secret = token_secret
        self.limiter = limiter
        self.contacts = Contacts(redis)
        self.conversations = ConversationStore(redis)
        self.throttle = ProofThrottle(redis)

    async def verify(self, conversation_id: str, order_id: str, proof: Proof) -> Order:
        """The order, now proven for the conversation, whose contact is linked to the order's
        email and phone; raises NoMatch or TooManyAttempts (and then links nothing)."""
        if proof.kind is ProofKind.CUSTOMER_TOKEN and self.token_secret is None:
            raise TokenProofsDisabled()
        conversation = await self.conversations.find(conversation_id)
        clients = await self.throttle.clients(conversation_id, conversation)
        claimed_email = self._claimed_email(proof)
        if proof.kind in POSSESSION_PROOFS:
            order = await self._by_possession(conversation_id, conversation, clients, order_id, proof, claimed_email)
        else:
            order = await self._by_typed_proof(clients, order_id, proof, claimed_email)
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

    async def _by_possession(self, conversation_id: str, conversation: Conversation | None, clients: list[Client],
                             order_id: str, proof: Proof, claimed_email: str | None) -> Order:
        # A valid token is the owner's login: never refused. Anything else is rate-limited.
        if not (proof.kind is ProofKind.CUSTOMER_TOKEN and claimed_email is not None):
            decision = await self.limiter.hit(POSSESSION_RULE, conversation_id)
            if not decision.allowed:
                raise TooManyAttempts(max(1, round(decision.retry_after)))
        order = await self.orders.get(order_id)
        if order is None or not self._matches(order, proof, claimed_email, _proven_phone(conversation)):
            raise NoMatch(await self.throttle.standing(clients))
        return order

    async def _by_typed_proof(self, clients: list[Client], order_id: str, proof: Proof,
                              claimed_email: str | None) -> Order:
        try:
            attempt = await self.throttle.reserve(clients)
        except MustWait as exc:
            raise TooManyAttempts(exc.retry_after) from None
        order = await self.orders.get(order_id)
        if order is None or not self._matches(order, proof, claimed_email, None):
            raise NoMatch(attempt)
        await self.throttle.refund(clients)
        return order

    def _claimed_email(self, proof: Proof) -> str | None:
        """The normalised email an email or token proof names (None: not such a proof, or a bad token)."""
        if proof.kind is ProofKind.EMAIL:
            return normalise_email(proof.text)
        if proof.kind is ProofKind.CUSTOMER_TOKEN and self.token_secret is not None:
            try:
                return normalise_email(customer_token.verify(proof.text, self.token_secret))
            except customer_token.InvalidToken:
                return None
        return None

    @staticmethod
    def _matches(order: Order, proof: Proof, claimed_email: str | None, phone: str | None) -> bool:
        """`phone`: the conversation's proven number (what a phone proof checks), or None."""
        if proof.kind in (ProofKind.EMAIL, ProofKind.CUSTOMER_TOKEN):
            return claimed_email is not None and _same(claimed_email, normalise_email(order.email))
        if proof.kind is ProofKind.POSTAL_CODE:
            known = [order.postal_code, order.shipping_address.postal_code if order.shipping_address else None]
            wanted = normalise_postal_code(proof.text)
            return any(_same(wanted, normalise_postal_code(code)) for code in known if code)
        return phone is not None and order.phone is not None and _same(phone, normalise_phone(order.phone))

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


def _proven_phone(conversation: Conversation | None) -> str | None:
    """The number an SMS or WhatsApp conversation is with (its provider proved it); None elsewhere."""
    if conversation is None or conversation.channel not in PHONE_CHANNELS:
        return None
    return normalise_phone(conversation.address)


def _newest_first(orders: Iterable[Order]) -> list[Order]:
    return sorted(orders, key=lambda order: order.placed_at, reverse=True)
