"""Settings read from environment variables: one pydantic-settings base, its errors in words.

Each field names its variable as its `validation_alias` and holds its default once. The
environment comes in at one place, `from_env`, from the mapping it is given (the process
environment, or a test's dict): `Settings(...)` is its arguments only, never the shell
that happens to run it. Every way in validates the same, and a bad value becomes a
`ConfigError` that names the variable (`storechat` prints it and stops).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class ConfigError(ValueError):
    """An environment variable holds a value storechat cannot use."""


def _regex(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    try:
        # ASCII: an order number's \d is 0-9, not any script's digits ("١٠٤٢١٥").
        return re.compile(raw, re.ASCII)
    except re.error as exc:
        raise ValueError(f"is not a regular expression ({exc}): {raw!r}") from None


def _http_address(url: str) -> str:
    if not _is_http_address(url):
        raise ValueError(f"must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def _is_http_address(url: str) -> bool:
    parts = urlsplit(url)
    try:
        _ = parts.port  # a malformed port raises here, at start, not on first use
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


Regex = Annotated[re.Pattern[str], BeforeValidator(_regex)]
# An absolute http(s) URL, kept without a trailing slash (paths are appended to it).
HttpAddress = Annotated[str, AfterValidator(_http_address)]
# More than zero and finite (the only lower bound a float here has; see _MESSAGES).
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
AtLeastOne = Annotated[int, Field(ge=1)]

# What each kind of pydantic error says after the variable's name.
_MESSAGES = {
    "int_parsing": "must be an integer, got {input!r}",
    "int_from_float": "must be an integer, got {input!r}",
    "float_parsing": "must be a number, got {input!r}",
    "finite_number": "must be a finite number, got {input!r}",
    "bool_parsing": "must be yes or no, got {input!r}",
    "greater_than": "must be positive",
    "greater_than_equal": "must be at least {ge}",
}


class EnvironmentSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The arguments only: from_env is where the environment comes in.
        return (init_settings,)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each field read from the environment, by name → its variable."""
        return {name: field.validation_alias for name, field in cls.model_fields.items()
                if isinstance(field.validation_alias, str)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        # An empty variable counts as unset (`REDIS_URL= storechat run`).
        return cls._validated({variable: env[variable] for variable in cls.variables().values() if env.get(variable)})

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` (by field name), validated as the original was."""
        return self._validated({**dict(self), **changes})

    @classmethod
    def _validated(cls, values: dict[str, Any]) -> Self:
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, cls.variables())) from None


def _describe(exc: ValidationError, variables: Mapping[str, str]) -> str:
    problems = []
    for error in exc.errors():
        if error["type"] == "default_factory_not_called":
            continue  # a default derived from a field that failed: that failure is reported
        where = str(error["loc"][0]) if error["loc"] else ""
        problems.append(_problem(variables.get(where, where), error))
    return "; ".join(problems)


def _problem(variable: str, error: ErrorDetails) -> str:
    context = error.get("ctx", {})
    cause = context.get("error")
    if isinstance(cause, ConfigError):
        return str(cause)  # already names its variable
    if cause is not None:
        message = str(cause)
    elif error["type"] in _MESSAGES:
        message = _MESSAGES[error["type"]].format(input=error["input"], **context)
    else:
        return f"{variable}: {error['msg']}" if variable else error["msg"]
    return f"{variable} {message}" if variable else message
