"""The OpenAPI document is the contract: valid OpenAPI, and what a real gateway answers.

Schemathesis generates requests from the document for every operation and sends them,
authenticated, to a real `storechat serve` on a real Redis; every answer must be no
server error, of a documented status and content type, and fit its documented schema.
(Every answer the other API tests receive is checked too: contract_support.py.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import validate
from redis.asyncio import Redis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Imported at collection, not lazily by the first test: pytest rewrites schemathesis' modules
# as it imports them, and CPython 3.11 can fail to parse one deep in a test's stack
# ("AST constructor recursion depth mismatch").
from schemathesis.specs.openapi.schemas import OpenApiSchema

from core.types import Team
from gateway.api.agent import COOKIE, CSRF_HEADER
from gateway.api.openapi import OPERATIONS
from gateway.desk.agents import AgentRole, AgentStore
from gateway.settings import Settings
from tests.gateway.limits.support import limits_file
from tests.gateway.shop_support import BOT, BOT_TOKEN, SHOP, SHOP_TOKEN
from tests.support import free_port, gateway_process

EMAIL = "sue@nordlicht-home.example"
PASSWORD = "correct horse battery"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Enough to try each operation's limits and both ends of its answers, in well under a minute for all.
EXAMPLES_PER_OPERATION = 25
API_RULES = ("api_per_address", "api_per_token", "agent_api_per_agent", "agent_login_per_address",
             "agent_login_per_address_email")


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    document: dict[str, Any]
    schema: OpenApiSchema

    def login(self) -> dict[str, str]:
        """A fresh session: the cookie and CSRF headers an agent's console sends."""
        answer = requests.post(f"{self.base_url}/agent/login", json={"email": EMAIL, "password": PASSWORD}, timeout=10)
        answer.raise_for_status()
        return {"Cookie": f"{COOKIE}={answer.cookies[COOKIE]}", CSRF_HEADER: answer.json()["csrf_token"]}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live_api(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LiveApi]:
    # Plain http (no public_url): the session cookie is not Secure.
    settings = base_settings.replace(port=free_port(), shop_token=SHOP_TOKEN, bot_token=BOT_TOKEN, public_url=None)
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    await redis.flushdb()
    await AgentStore(redis).put(EMAIL, PASSWORD, team=Team.LOGISTICS, name="Sue", role=AgentRole.SUPERVISOR)
    await redis.aclose()
    log: Path = tmp_path_factory.mktemp("contract-logs") / "gateway.log"
    # Hundreds of requests a minute from one address, one session and dozens of logins: the
    # API's rate rules off (their 429 is documented for every operation all the same).
    limits = limits_file(tmp_path_factory.mktemp("limits"), **dict.fromkeys(API_RULES, "unlimited"))
    with gateway_process(settings, log, env={"STORECHAT_LIMITS": str(limits)}):
        base_url = f"http://{settings.host}:{settings.port}/api/v1"
        document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
        yield LiveApi(base_url, document, schemathesis.openapi.from_dict(document))


def test_the_served_document_is_valid_openapi(live_api: LiveApi) -> None:
    validate(live_api.document)


def _credentials(security: str | None, session: dict[str, str]) -> dict[str, str]:
    if security == "shopToken":
        return SHOP
    if security == "botToken":
        return BOT
    if security == "agentSession":
        return session
    return {}


EVERY_OPERATION = [("GET", "/openapi.json", None), *((op.method, op.path, op.security) for op in OPERATIONS)]


@pytest.mark.parametrize(("method", "path", "security"), EVERY_OPERATION,
                         ids=[f"{method} {path}" for method, path, _ in EVERY_OPERATION])
def test_every_answer_is_as_documented(live_api: LiveApi, method: str, path: str, security: str | None) -> None:
    strategy = live_api.schema[path][method].as_strategy()
    session = live_api.login()

    @given(case=strategy)
    @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: Any) -> None:
        # Logging out ends the session it is sent with: each logout gets its own.
        credentials = live_api.login() if path == "/agent/logout" else session
        case.headers = {**(case.headers or {}), **_credentials(security, credentials)}
        case.call_and_validate(base_url=live_api.base_url, checks=CHECKS, timeout=10)

    answers_as_documented()
