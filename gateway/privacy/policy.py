"""The retention policy: config/retention.yml (STORECHAT_RETENTION), read once at start.

Kept apart from the sweeper (gateway/privacy/retention.py) so that what starts Rasa
(gateway/run/processes.py, which hands Rasa the trackers' expiry) reads it without importing
the reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.environment import ConfigError

DAY_SECONDS = 86_400

Days = Annotated[int, Field(ge=1, le=36_500)]


class RetentionPolicy(BaseModel):
    """config/retention.yml; every value in whole days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversations_days: Days = 730
    visitor_trails_days: Days = 30
    trackers_days: Days = 30

    @classmethod
    def load(cls, path: Path) -> Self:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return cls.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"STORECHAT_RETENTION: cannot read {path}: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'file'}: {error['msg']}"
                                 for error in exc.errors())
            raise ConfigError(f"STORECHAT_RETENTION: {path}: {problems}") from None

    @property
    def conversation_seconds(self) -> int:
        return self.conversations_days * DAY_SECONDS

    @property
    def visitor_seconds(self) -> int:
        return self.visitor_trails_days * DAY_SECONDS

    @property
    def tracker_seconds(self) -> int:
        return self.trackers_days * DAY_SECONDS
