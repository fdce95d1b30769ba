"""The /agent Socket.IO namespace: consoles kept live, presence, typing.

Who hears what follows the agents' reach (gateway/desk/reach.py). A console's sockets are
in their agent's room and in their team's room, a supervisor's in the room of every
conversation; a conversation's summary goes, on each state change, to the rooms of the
team and agent it is with now and was with until then, and to the supervisors. A console
watching a conversation (`watch`, only one it reaches) is in that conversation's room,
and leaves it when a transfer takes the conversation out of its reach.

An event whose payload is not `{"conversation_id": <id>}` is answered with
`storechat_error {code, message, event}` (also as the ack, when one is asked for) and one
log line.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
from gateway.conversations.store import ConversationStore, UnknownConversation
from gateway.desk.agents import Agent, SessionStore
from gateway.desk.assignment import AgentLoad, Presence, Roster
from gateway.desk.case import Cases
from gateway.desk.desk import Desk
from gateway.desk.reach import NotYours, Reach
from gateway.webchat.socket_server import typing_room

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


def team_room(team: str) -> str:
    return f"team:{team}"


# The sockets of those who reach every conversation (supervisors; everyone with reach "all").
EVERY_CONVERSATION_ROOM = "reach:all"
_INVALID_PAYLOAD = 'send {"conversation_id": "<id>"}'
# A console event's handler, given a payload that names a conversation.
EventHandler = Callable[[str, str, dict[str, Any]], Awaitable[object]]


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
        sockets._on("watch", sockets.on_watch)
        sockets._on("unwatch", sockets.on_unwatch)
        sockets._on("typing", sockets.on_typing)
        return sockets

    @property
    def reach(self) -> Reach:
        return self.cases.reach

    def _on(self, event: str, handler: EventHandler) -> None:
        """Handle a console event whose payload names a conversation; refuse any other payload
        (none, null, a list, a number...) with one clear answer instead of a TypeError."""
        async def checked(sid: str, *payload: object) -> object:
            data = payload[0] if len(payload) == 1 else None
            if not isinstance(data, dict) or (cid := self._conversation_id(data)) is None:
                return await self._refuse(sid, event, "invalid_payload", _INVALID_PAYLOAD)
            return await handler(sid, cid, data)
        self.sio.on(event, checked, namespace=NAMESPACE)

    async def _refuse(self, sid: str, event: str, code: str, message: str) -> dict[str, str]:
        log.info("/agent %s from socket %s refused: %s", event, sid, code)
        error = {"code": code, "message": message, "event": event}
        await self.sio.emit("storechat_error", error, to=sid, namespace=NAMESPACE)
        return error

    # --- connections and presence -------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: object = None) -> None:
        session_id = _cookie(environ)
        session = await self.sessions.touch(session_id) if session_id and _same_origin(environ) else None
        if session is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized: log in first")
        agent = session.agent
        await self.sio.save_session(sid, {"email": agent.email, "session_id": session_id}, namespace=NAMESPACE)
        for room in self._rooms(agent):
            await self.sio.enter_room(sid, room, namespace=NAMESPACE)
        self.local[sid] = agent.email
        await self.roster.connected(agent.email, sid)
        load = await self.roster.load(agent)
        await self.announce_presence(load)
        if load.presence is Presence.ONLINE:
            await self.desk.agent_available(agent)

    def _rooms(self, agent: Agent) -> list[str]:
        """The rooms of an agent's sockets: their own, and their team's or every conversation's."""
        wide = EVERY_CONVERSATION_ROOM if self.reach.sees_all(agent) else team_room(agent.team.value)
        return [agent_room(agent.email), wide]

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
    def _conversation_id(data: Mapping[str, Any]) -> str | None:
        if isinstance(cid := data.get("conversation_id"), str) and 0 < len(cid) <= 64:
            return cid
        return None

    async def _reachable(self, agent: Agent, conversation_id: str, *, to_work: bool = False) -> Conversation | None:
        """The conversation if the agent reads it (and works it, `to_work`; gateway/desk/reach.py), else None."""
        try:
            return await self.reach.conversation(agent, conversation_id, to_work=to_work)
        except (UnknownConversation, NotYours):
            return None

    async def on_watch(self, sid: str, cid: str, data: dict[str, Any]) -> object:
        agent = await self._agent(sid)
        if agent is None:
            return None
        if await self._reachable(agent, cid) is None:
            return await self._refuse(sid, "watch", "unknown_conversation", "no such conversation")
        await self.sio.enter_room(sid, conversation_room(cid), namespace=NAMESPACE)
        return {"conversation_id": cid}

    async def on_unwatch(self, sid: str, cid: str, data: dict[str, Any]) -> object:
        await self.sio.leave_room(sid, conversation_room(cid), namespace=NAMESPACE)
        return {"conversation_id": cid}

    async def on_typing(self, sid: str, cid: str, data: dict[str, Any]) -> None:
        """The agent types: the shopper's widget shows it (web chat only)."""
        agent = await self._agent(sid)
        conversation = await self._reachable(agent, cid, to_work=True) if agent is not None else None
        if agent is None or conversation is None:
            return
        if conversation.state is not ConversationState.ASSIGNED or conversation.agent != agent.email:
            return
        typing = bool(data.get("typing"))
        if conversation.channel is Channel.WEB:
            await self.sio.emit("agent_typing", {"typing": typing, "agent_name": agent.name},
                                room=typing_room(conversation.address))
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
            await self._state_changed(conversation, event.get("id"))

    async def _state_changed(self, conversation: Conversation, event_id: object) -> None:
        """The summary to those who reach the conversation now and to those who did until this
        change (their lists drop it); watchers it left the reach of leave its room."""
        now = await self.reach.holder(conversation)
        before = await self.reach.last_holder(conversation.id, before=event_id) if isinstance(event_id, str) \
            else now
        rooms = {EVERY_CONVERSATION_ROOM}
        for holder in (now, before):
            if holder.team:
                rooms.add(team_room(holder.team))
            if holder.agent:
                rooms.add(agent_room(holder.agent))
        await self.sio.emit("conversation", await self.cases.summary(conversation), to=sorted(rooms),
                            namespace=NAMESPACE, ignore_queue=True)
        if now != before:
            await self._leave_if_out_of_reach(conversation)

    async def _leave_if_out_of_reach(self, conversation: Conversation) -> None:
        """Watchers who no longer read the conversation (its holder's, or its contact's) leave its room."""
        room = conversation_room(conversation.id)
        watchers = [sid for sid, _ in self.sio.manager.get_participants(NAMESPACE, room)]
        for sid in watchers:
            email = self.local.get(sid)
            agent = await self.roster.agents.get(email) if email else None
            if agent is None or not await self.reach.allows(agent, conversation):
                await self.sio.leave_room(sid, room, namespace=NAMESPACE)

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
