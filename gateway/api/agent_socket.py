"""The /agent Socket.IO namespace: consoles kept live, presence, typing.

Every case event is published once on Redis (`gateway.conversations.store.append_event`).
Each gateway process listens to that channel and hands each event to its own
connected consoles only (`ignore_queue`): one publish reaches every console of every
process, without the Socket.IO manager publishing it a second time.

Presence is counted from connected consoles. Each process refreshes the last-seen
time of its sockets, so a process that dies does not leave its agents online.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol
from urllib.parse import urlsplit

import socketio
from redis.asyncio import Redis

from core.types import Channel, Conversation, ConversationState
from gateway import background, keys
from gateway.api.agent import COOKIE
from gateway.api.agent_contract import AgentLoadView
from gateway.conversations.store import ConversationStore
from gateway.desk.agents import Agent, SessionStore
from gateway.desk.assignment import AgentLoad, Presence, Roster
from gateway.desk.case import Cases
from gateway.desk.desk import Desk
from gateway.webchat.socket_server import session_room

log = logging.getLogger(__name__)


class ChannelTyping(Protocol):
    async def typing(self, conversation: Conversation, on: bool) -> None: ...


NAMESPACE = "/agent"
HEARTBEAT_SECONDS = 20.0
_LISTEN_BACKOFF_CAP = 5.0


def conversation_room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def agent_room(email: str) -> str:
    return f"agent:{email}"


def _cookie(environ: dict[str, Any]) -> str | None:
    try:
        morsel = SimpleCookie(environ.get("HTTP_COOKIE", "")).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


def _same_origin(environ: dict[str, Any]) -> bool:
    """A browser always sends Origin on a WebSocket; a console on another site is refused."""
    origin = environ.get("HTTP_ORIGIN")
    if not origin:
        return True  # not a browser (an integration's client): the cookie alone decides
    return bool(urlsplit(str(origin)).netloc == environ.get("HTTP_HOST", ""))


@dataclass(slots=True)
class AgentSockets:
    sio: socketio.AsyncServer
    sessions: SessionStore
    roster: Roster
    desk: Desk
    cases: Cases
    store: ConversationStore
    # Messaging channels that can show the agent typing (Messenger).
    channels: Mapping[Channel, ChannelTyping]
    # This process's console sockets → their agent's email (for the presence heartbeat).
    local: dict[str, str]

    @classmethod
    def attach(cls, sio: socketio.AsyncServer, sessions: SessionStore, roster: Roster, desk: Desk,
               cases: Cases, channels: Mapping[Channel, ChannelTyping]) -> AgentSockets:
        sockets = cls(sio, sessions, roster, desk, cases, desk.store, channels, {})
        sio.on("connect", sockets.on_connect, namespace=NAMESPACE)
        sio.on("disconnect", sockets.on_disconnect, namespace=NAMESPACE)
        sio.on("watch", sockets.on_watch, namespace=NAMESPACE)
        sio.on("unwatch", sockets.on_unwatch, namespace=NAMESPACE)
        sio.on("typing", sockets.on_typing, namespace=NAMESPACE)
        return sockets

    # --- connections and presence -------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        session_id = _cookie(environ)
        session = await self.sessions.touch(session_id) if session_id and _same_origin(environ) else None
        if session is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: log in first")
        agent = session.agent
        await self.sio.save_session(sid, {"email": agent.email, "session_id": session_id}, namespace=NAMESPACE)
        await self.sio.enter_room(sid, agent_room(agent.email), namespace=NAMESPACE)
        self.local[sid] = agent.email
        await self.roster.connected(agent.email, sid)
        load = await self.roster.load(agent)
        await self.announce_presence(load)
        if load.presence is Presence.ONLINE:
            await self.desk.agent_available(agent)

    async def on_disconnect(self, sid: str) -> None:
        email = self.local.pop(sid, None)
        if email is None:
            return
        await self.roster.disconnected(email, sid)
        agent = await self.roster.agents.get(email)
        if agent is not None:
            await self.announce_presence(await self.roster.load(agent))

    async def announce_presence(self, load: AgentLoad) -> None:
        await self.sio.emit("presence", AgentLoadView.of(load).model_dump(mode="json"), namespace=NAMESPACE)

    async def heartbeat(self) -> None:
        """Keep this process's sockets counted as connected (see Roster.connected)."""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for sid, email in list(self.local.items()):
                await self.roster.connected(email, sid)

    # --- what a console asks for --------------------------------------------------------

    async def _agent(self, sid: str) -> Agent | None:
        """The socket's agent while their session lives; an expired session's socket is closed."""
        saved = await self.sio.get_session(sid, namespace=NAMESPACE)
        session = await self.sessions.touch(saved["session_id"]) if saved.get("session_id") else None
        if session is None:
            await self.sio.disconnect(sid, namespace=NAMESPACE)
            return None
        return session.agent

    @staticmethod
    def _conversation_id(data: object) -> str | None:
        if isinstance(data, dict) and isinstance(cid := data.get("conversation_id"), str) and 0 < len(cid) <= 64:
            return cid
        return None

    async def on_watch(self, sid: str, data: object) -> None:
        if (cid := self._conversation_id(data)) and await self._agent(sid):
            await self.sio.enter_room(sid, conversation_room(cid), namespace=NAMESPACE)

    async def on_unwatch(self, sid: str, data: object) -> None:
        if cid := self._conversation_id(data):
            await self.sio.leave_room(sid, conversation_room(cid), namespace=NAMESPACE)

    async def on_typing(self, sid: str, data: object) -> None:
        """The agent types: the shopper's widget shows it (web chat only)."""
        cid = self._conversation_id(data)
        agent = await self._agent(sid) if cid else None
        if agent is None or cid is None:
            return
        conversation = await self.store.find(cid)
        if conversation is None:
            return
        if conversation.state is not ConversationState.ASSIGNED or conversation.agent != agent.email:
            return
        typing = bool(isinstance(data, dict) and data.get("typing"))
        if conversation.channel is Channel.WEB:
            await self.sio.emit("agent_typing", {"typing": typing, "agent_name": agent.name},
                                room=session_room(conversation.address))
        elif (channel := self.channels.get(conversation.channel)) is not None:
            await channel.typing(conversation, typing)

    async def shopper_typing(self, conversation_id: str, typing: bool) -> None:
        conversation = await self.store.find(conversation_id)
        if conversation is None or conversation.state not in (ConversationState.QUEUED, ConversationState.ASSIGNED):
            return
        rooms = [conversation_room(conversation_id)]
        if conversation.agent:
            rooms.append(agent_room(conversation.agent))
        await self.sio.emit("typing", {"conversation_id": conversation_id, "typing": typing},
                            to=rooms, namespace=NAMESPACE)

    # --- case events to this process's consoles -------------------------------------------

    async def forward(self, message: dict[str, Any]) -> None:
        if message.get("type") != "event" or not isinstance(cid := message.get("conversation_id"), str):
            return
        event = message.get("event") or {}
        conversation = await self.store.find(cid)
        rooms = [conversation_room(cid)]
        if conversation is not None and conversation.agent:
            rooms.append(agent_room(conversation.agent))
        await self.sio.emit("event", {"conversation_id": cid, "event": event}, to=rooms,
                            namespace=NAMESPACE, ignore_queue=True)
        if event.get("kind") == "state" and conversation is not None:
            await self.sio.emit("conversation", await self.cases.summary(conversation),
                                namespace=NAMESPACE, ignore_queue=True)

    async def listen(self, redis_url: str) -> None:
        """Forward the events channel to this process's consoles, reconnecting after a Redis restart."""
        delay = 0.1
        while True:
            client = Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(keys.EVENTS_CHANNEL)
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await self.forward(json.loads(message["data"]))
                    except Exception:  # one bad event must not stop the consoles' feed
                        log.exception("could not forward a case event to the consoles")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events channel lost (%s); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LISTEN_BACKOFF_CAP)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                await client.aclose()


@contextlib.asynccontextmanager
async def running(sockets: AgentSockets, redis_url: str) -> AsyncIterator[None]:
    """The listener and the heartbeat, for as long as the app runs."""
    tasks = [asyncio.create_task(sockets.listen(redis_url), name="agent-events"),
             asyncio.create_task(sockets.heartbeat(), name="agent-heartbeat")]
    try:
        yield
    finally:
        await background.stop(tasks)
