"""`storechat run` (what `make run` starts) brings up the whole system and stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from gateway.run import processes
from gateway.settings import REPO_ROOT
from tests.support import Shopper, free_port


# Its own Rasa server, not the session's: this is what `make run` starts, and how it stops.
# `rasa_model`: it loads the trained model (and so is marked `rasa`).
@pytest.mark.timeout(600)
async def test_storechat_run_serves_chat_and_stops_on_ctrl_c(rasa_model: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},  # embedded Redis
        "STORECHAT_PORT": str(port),
        "RASA_PORT": str(free_port()),
        "ACTION_SERVER_PORT": str(free_port()),
        "STORECHAT_REDIS_PORT": str(free_port()),
        "STORECHAT_DATA_DIR": str(tmp_path / "var"),
    }
    output = (tmp_path / "run.out").open("wb")
    run = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run"], cwd=REPO_ROOT, env=env,
        stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        processes.wait_until(processes.http_ok(base + "/healthz"), timeout=300, process=run, what="storechat run")
        # The gateway answers while the first start still writes the demo history; the
        # newcomer's banner comes after it (a Ctrl-C before then stops without one).
        processes.wait_until(lambda: "storechat is up" in (tmp_path / "run.out").read_text(),
                             timeout=300, process=run, what="storechat run's banner")
        with urllib.request.urlopen(base + "/healthz") as response:
            assert json.load(response) == {"status": "ok", "redis": "up", "rasa": "up"}

        shopper = Shopper(base)
        await shopper.connect()
        await shopper.say("hallo")
        assert (await shopper.expect("bot_uttered"))["text"]
        await shopper.close()
    finally:
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        code = run.wait(60)
        output.close()
    printed = (tmp_path / "run.out").read_text()
    assert code == 0, printed
    assert base + "/" in printed  # it told the newcomer where the storefront is
    assert "stopped gateway" in printed and "stopped redis" in printed
    assert processes.port_free("127.0.0.1", port)
    assert (tmp_path / "var" / "redis").is_dir()  # the embedded Redis persists under var/
