"""Every answer of /api/v1 a test receives, checked against what the OpenAPI document says.

`conforms_to_the_document` is an aiohttp client middleware: the test clients of
tests/gateway/ (conftest.py's `aiohttp_client`) and the agents' consoles (agent_support.py)
send every request through it, so each API test also checks that the status is documented
for its operation and that the body fits the documented schema.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse
from jsonschema import Draft202012Validator

from gateway.api.openapi import document

PREFIX = "/api/v1"


@functools.cache
def served_document() -> dict[str, Any]:
    """The document the test apps serve (the answers do not depend on the path patterns)."""
    return document("http://test")


@functools.cache
def _operations() -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, item in served_document()["paths"].items():
        pattern = re.compile(re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template)) + "$")
        for method, operation in item.items():
            found.append((pattern, method.upper(), operation))
    return found


def documented_answer(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The document's answer for this status of the operation at `path` (None: no such
    operation, as for a path no route has); AssertionError if the status is undocumented."""
    for pattern, documented_method, operation in _operations():
        if documented_method == method and pattern.match(path.removeprefix(PREFIX)):
            answers: dict[str, Any] = operation["responses"]
            assert str(status) in answers, f"{method} {path} answered {status}, documented: {sorted(answers)}"
            return dict(answers[str(status)])
    return None


@functools.cache
def _validator(schema_json: str) -> Draft202012Validator:
    # The schema's $refs point into the document's components: resolve them there.
    schema = {**json.loads(schema_json), "components": served_document()["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def check_answer(method: str, path: str, status: int, content_type: str | None, body: bytes) -> None:
    answer = documented_answer(method, path, status)
    if answer is None or "content" not in answer:
        return
    assert content_type == "application/json", f"{method} {path} {status}: {content_type}"
    schema = answer["content"]["application/json"].get("schema")
    if schema is None:
        return
    errors = sorted(_validator(json.dumps(schema)).iter_errors(json.loads(body)), key=lambda e: e.json_path)
    assert not errors, f"{method} {path} {status} is not as documented: " + "; ".join(
        f"{error.json_path}: {error.message}" for error in errors[:3])


async def conforms_to_the_document(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    response = await handler(request)
    if request.url.path.startswith(PREFIX + "/"):
        body = await response.read()  # kept by the response: the test reads it again
        check_answer(request.method, request.url.path, response.status, response.content_type, body)
    return response
