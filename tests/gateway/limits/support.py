"""A limits file for a test: the shipped rules, some set anew (the gateway reads STORECHAT_LIMITS)."""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway.settings import REPO_ROOT


def limits_file(directory: Path, **rates: str) -> Path:
    """config/limits.yml with `rates` in place of the shipped ones, written into `directory`."""
    shipped = yaml.safe_load((REPO_ROOT / "config" / "limits.yml").read_text(encoding="utf-8"))
    unknown = set(rates) - set(shipped)
    assert not unknown, f"no such rule: {sorted(unknown)}"
    path = directory / "limits.yml"
    path.write_text(yaml.safe_dump({**shipped, **rates}), encoding="utf-8")
    return path
