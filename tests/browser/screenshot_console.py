"""Takes docs/console.png, the README's picture of the agent console (1440×900).

    .venv/bin/python tests/browser/screenshot_console.py [path]

Runs the one screenshot test of tests/browser/test_console.py against the real stack
(Redis, Rasa, the action server, a gateway) that the test session starts; it is
skipped on ordinary test runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "docs" / "console.png").resolve()
    os.environ["STORECHAT_CONSOLE_SCREENSHOT"] = str(target)
    os.chdir(REPO)
    code = pytest.main(["-q", "tests/browser/test_console.py::test_screenshot_for_the_readme"])
    if code == 0:
        print(f"wrote {target}")
    sys.exit(code)
