"""The code is mypy-clean (strict), so type errors fail the build like any other bug."""

from __future__ import annotations

import subprocess
import sys

from gateway.settings import REPO_ROOT


def test_mypy_strict_passes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
