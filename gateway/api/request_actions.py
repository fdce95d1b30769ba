"""The Agent API's actions on shopper requests: approve, reject, send a return label, decide a
damaged item (gateway/desk/request_actions.py does them; the routes are in gateway/api/agent.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.http import ApiError, answer, read_body
from gateway.api.request_actions_contract import (
    ActionAnswer,
    ApproveInput,
    DecisionInput,
    LabelInput,
    RejectInput,
)
from gateway.desk.agents import Agent
from gateway.desk.request_actions import (
    ActionDone,
    ActionRefused,
    NotPermitted,
    OrderNotProven,
    RequestActions,
    UnknownRequest,
)
from gateway.shop.shopper_requests import request_to_json


async def act(request: web.Request, actions: RequestActions, agent: Agent, cid: str) -> web.Response:
    """The action the path names, for the agent, on the conversation `cid` they work."""
    action = request.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        if action == "decisions":
            decision = await read_body(request, DecisionInput, "invalid_decision")
            done = await actions.decide(cid, agent, decision.order_id, decision.resolution, decision.items,
                                        decision.note)
        elif action == "approve":
            approval = await read_body(request, ApproveInput, "invalid_action")
            done = await actions.approve(cid, agent, request.match_info["request_id"], approval.note)
        elif action == "reject":
            rejection = await read_body(request, RejectInput, "invalid_action")
            done = await actions.reject(cid, agent, request.match_info["request_id"], rejection.reason)
        else:
            await read_body(request, LabelInput, "invalid_action")
            done = await actions.send_label(cid, agent, request.match_info["request_id"])
    except UnknownRequest:
        raise ApiError(404, "unknown_request", "no such request in this conversation") from None
    except NotPermitted as exc:
        raise ApiError(403, "not_permitted", str(exc)) from None
    except OrderNotProven:
        raise ApiError(422, "not_verified", "the shopper has not proven this order in this conversation") from None
    except ActionRefused as exc:
        extra = {"status": exc.status.value} if exc.status is not None else None
        raise ApiError(409, exc.code, str(exc), extra=extra) from None
    return _answer(actions, done)


def _answer(actions: RequestActions, done: ActionDone) -> web.Response:
    return answer(ActionAnswer, {
        "request": request_to_json(done.request, actions.requests.public_url), "made": done.made,
        "shop_event": done.shop_event, "message": done.message,
    }, 201 if done.made else 200)
