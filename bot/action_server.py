"""The action server: rasa_sdk's app, bound where it is told and behind a shared secret.

`rasa run actions` listens on 0.0.0.0 and runs any action for whoever reaches the port,
with a tracker of the caller's making — one whose metadata claims an SMS sender's phone,
say. storechat starts the same app (rasa_sdk.endpoint.create_app) through this module
instead (cwd bot/, PYTHONPATH=bot and the repository root):

    STORECHAT_ACTIONS_TOKEN=… python -m action_server --host 127.0.0.1 --port 5055

Every call but `GET /health` must carry `Authorization: Bearer $STORECHAT_ACTIONS_TOKEN`,
the header Rasa sends (endpoints.yml); without it the answer is 401 and no action runs.
Without the variable the server does not start.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Optional

from rasa_sdk import utils
from rasa_sdk.constants import DEFAULT_SERVER_PORT
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "STORECHAT_ACTIONS_TOKEN"
# What a readiness probe may ask without the secret; it runs nothing and tells nothing.
OPEN_PATHS = frozenset({"/health"})


def authorised(header: Optional[str], token: str) -> bool:
    """Whether an Authorization header carries the bearer `token` (compared in constant time)."""
    given = (header or "").encode("utf-8", "replace")
    return hmac.compare_digest(given, f"Bearer {token}".encode("utf-8"))


def create_action_server(token: str, actions: str = "actions") -> Sanic:
    if not token:
        raise ValueError(f"{TOKEN_VARIABLE} must not be empty")
    # No CORS origin: no browser has any business here.
    app = create_app(actions, cors_origins="")

    @app.middleware("request")
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS or authorised(request.headers.get("Authorization"), token):
            return None
        return response.json({"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})

    return app


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="storechat's action server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_SERVER_PORT)
    parser.add_argument("--actions", default="actions", help="package of the actions")
    utils.add_logging_level_option_arguments(parser)
    args = parser.parse_args(argv)
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"{TOKEN_VARIABLE} is not set: the action server refuses to run unauthenticated", file=sys.stderr)
        return 2
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    app = create_action_server(token, args.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    logger.info("Action endpoint is up and running on http://%s:%s", args.host, args.port)
    app.run(args.host, args.port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
