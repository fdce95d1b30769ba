"""Agent accounts, their passwords and their console sessions, in Redis.

Passwords are hashed with scrypt and stored with their parameters, so the cost
can be raised later without breaking stored hashes. A session's cookie value is
never stored: Redis holds its SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from core.types import Team
from gateway import keys
from gateway.json_input import unsafe_in_label
from gateway.limits.limiter import Limiter
from gateway.shop.orders import normalise_email

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
MAX_NAME_CHARS = 100
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES, _HASH_BYTES = 16, 32
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class AgentRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class InvalidAgent(ValueError):
    """An email, name or password an agent account cannot have."""


@dataclass(frozen=True, slots=True)
class Agent:
    email: str
    name: str
    team: Team
    role: AgentRole


def valid_email(email: str) -> str:
    normalised = normalise_email(email)
    if len(normalised) > 254 or not _EMAIL.fullmatch(normalised):
        raise InvalidAgent(f"not an email address: {email!r}")
    return normalised


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidAgent(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidAgent(f"the password must be at most {MAX_PASSWORD_CHARS} characters")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 1024 * 1024, dklen=length)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash`, salt and hash in base64."""
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(password, base64.b64decode(salt, validate=True), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Checked when the email is unknown, so that answer costs one scrypt like a wrong password.
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(bytes(_SALT_BYTES))}${_b64(bytes(_HASH_BYTES))}"


@dataclass(frozen=True, slots=True)
class AgentStore:
    redis: Redis

    async def put(self, email: str, password: str, *, team: Team, name: str | None = None,
                  role: AgentRole | None = None) -> tuple[Agent, bool]:
        """Create the account or update it (a new password always); the agent, and True if new.

        A name or role not given keeps the stored one (a new account: the email's
        local part, and `agent`), so changing a password cannot demote a supervisor.
        """
        email = valid_email(email)
        check_password(password)
        existing = await self.get(email)
        name = (name or "").strip() or (existing.name if existing else email.partition("@")[0])
        if len(name) > MAX_NAME_CHARS:
            raise InvalidAgent(f"the name must be at most {MAX_NAME_CHARS} characters")
        if unsafe_in_label(name):
            # Shoppers read it ("Anna is now looking after you"): no NUL, no bidi overrides.
            raise InvalidAgent("the name must be one line without control or bidirectional formatting characters")
        role = role or (existing.role if existing else AgentRole.AGENT)
        agent = Agent(email=email, name=name, team=team, role=role)
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.agent(email), mapping={
                "name": agent.name, "team": agent.team.value, "role": agent.role.value, "password": password_hash,
            })
            pipe.sadd(keys.agent_emails(), email)
            if existing is not None and existing.team is not team:
                pipe.srem(keys.team_agents(existing.team.value), email)
            pipe.sadd(keys.team_agents(team.value), email)
            await pipe.execute()
        return agent, existing is None

    async def get(self, email: str) -> Agent | None:
        fields = await self.redis.hgetall(keys.agent(normalise_email(email)))
        return _agent(normalise_email(email), fields) if fields else None

    async def all(self) -> list[Agent]:
        return await self._members(keys.agent_emails())

    async def of_team(self, team: Team) -> list[Agent]:
        return await self._members(keys.team_agents(team.value))

    async def _members(self, emails_key: str) -> list[Agent]:
        """The accounts whose emails a set holds, by email, read in one round trip."""
        emails = sorted(str(email) for email in await self.redis.smembers(emails_key))
        async with self.redis.pipeline(transaction=False) as pipe:
            for email in emails:
                pipe.hgetall(keys.agent(email))
            records = await pipe.execute()
        return [_agent(email, fields) for email, fields in zip(emails, records, strict=True) if fields]

    async def authenticate(self, email: str, password: str) -> Agent | None:
        """The agent if the password is theirs; an unknown email costs the same scrypt."""
        email = normalise_email(email)
        fields = await self.redis.hgetall(keys.agent(email))
        stored = str(fields["password"]) if fields else None
        matches = await asyncio.to_thread(verify_password, password, stored or _DUMMY_HASH)
        return _agent(email, fields) if matches and stored else None


def _agent(email: str, fields: Mapping[Any, Any]) -> Agent:
    return Agent(email=email, name=str(fields["name"]), team=Team(fields["team"]), role=AgentRole(fields["role"]))


class LoginLocked(Exception):
    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"too many login attempts from here: try again in {seconds} s")
        self.retry_after = seconds


@dataclass(frozen=True, slots=True)
class LoginLimiter:
    """Login attempts per client address (`agent_login_per_address`) and per address and
    email (`agent_login_per_address_email`), for unknown emails too.

    Never per email alone: wrong passwords sent from anywhere would then lock the agent out
    of the console wherever they are. A guesser is slowed down where they are; the agent
    logs in from another address as always. Each attempt counts before the password is
    checked, so parallel guesses cannot slip past the limit between check and count. A login
    that succeeds gives its attempt back: only failures use the budget up, so a whole office
    behind one address logs in at 8:00 without waiting.
    """

    limiter: Limiter

    @staticmethod
    def _checks(address: str, email: str) -> list[tuple[str, str]]:
        return [("agent_login_per_address_email", f"{address} {normalise_email(email)}"),
                ("agent_login_per_address", address)]

    async def attempt(self, address: str, email: str) -> None:
        decision = await self.limiter.hit_all(self._checks(address, email))
        if not decision.allowed:
            raise LoginLocked(decision.retry_after)

    async def succeeded(self, address: str, email: str) -> None:
        """The attempt of a login whose password was right, given back to both rules."""
        for rule, client in self._checks(address, email):
            await self.limiter.refund(rule, client)


@dataclass(frozen=True, slots=True)
class AgentSession:
    session_id: str
    agent: Agent
    csrf_token: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionStore:
    """Console sessions that end after `idle_ms` without a request (sliding expiry)."""

    redis: Redis
    agents: AgentStore
    idle_ms: int

    async def open(self, agent: Agent) -> AgentSession:
        session = AgentSession(secrets.token_urlsafe(32), agent, secrets.token_urlsafe(32))
        key = keys.agent_session(_digest(session.session_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"email": agent.email, "csrf": session.csrf_token})
            pipe.pexpire(key, self.idle_ms)
            await pipe.execute()
        return session

    async def touch(self, session_id: str) -> AgentSession | None:
        """The live session, its idle timer restarted; None if expired, unknown or its agent is gone."""
        key = keys.agent_session(_digest(session_id))
        fields = await self.redis.hgetall(key)
        if not fields:
            return None
        agent = await self.agents.get(str(fields["email"]))
        if agent is None:
            await self.redis.delete(key)
            return None
        # PEXPIRE on a key that expired since HGETALL is a no-op: no session is revived.
        await self.redis.pexpire(key, self.idle_ms)
        return AgentSession(session_id, agent, str(fields["csrf"]))

    async def close(self, session_id: str) -> None:
        await self.redis.delete(keys.agent_session(_digest(session_id)))
