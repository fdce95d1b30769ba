"""Untrusted JSON read into pydantic models, every error naming the offending field.

The models are the contract: they validate each request body and generate its schema in
the OpenAPI document (gateway/api/openapi.py), so the document states the limits the
server enforces. A shop developer who sends a wrong order should read
`items[1].quantity: must be an integer ≥ 1` in the 422, not pydantic's wording, so
`parse` turns a ValidationError into one InvalidInput here, in one place. Unknown fields
are ignored, so a shop may send more than storechat needs; `null` counts as absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from annotated_types import GroupedMetadata
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, Strict, StringConstraints
from pydantic import TypeAdapter, ValidationError, ValidationInfo
from pydantic_core import ErrorDetails, PydanticCustomError

from core.text import has_lone_surrogate

LONE_SURROGATE = "must be valid Unicode text (no lone surrogates)"
# Never in stored text: NUL and the other C0 controls but tab, newline and carriage return.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Nor in a name or label (one line an agent reads beside others): line breaks, and the
# bidirectional embeddings, overrides and isolates that make "Anna" read as someone else.
_NOT_IN_LABELS = re.compile("[\t\n\r\u202a-\u202e\u2066-\u2069]")
CONTROL_CHARACTERS = "must not contain control characters (U+0000 and the like)"
LABEL_CHARACTERS = ("must be one line, without tabs or bidirectional formatting characters "
                    "(U+202A–U+202E, U+2066–U+2069)")
# Dates a shop's order can have: anything outside is a typo or a probe, never an order.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
# The field a tagged union's members are told apart by (storefront events).
DISCRIMINATOR = "type"
Model = TypeVar("Model", bound=BaseModel)
T = TypeVar("T")


class InvalidInput(ValueError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path


class Body(BaseModel):
    """A JSON object of the API: immutable; readable from a dataclass with the same fields."""

    model_config = ConfigDict(frozen=True, extra="ignore", from_attributes=True)




def problem(text: str) -> PydanticCustomError:
    """The error a validator raises: `text` becomes the message after the field's path."""
    return PydanticCustomError("storechat", text)


def setting(info: ValidationInfo, name: str) -> Any:
    """A setting a validator needs, passed by the route as `parse(..., context=...)`."""
    return (info.context or {})[name]


def text_value(value: Any, what: str = "a non-empty string") -> str:
    """A string worth storing: not blank, encodable (checked before any length or pattern)."""
    if not isinstance(value, str) or not value.strip():
        raise problem(f"must be {what}")
    if has_lone_surrogate(value):
        raise problem(LONE_SURROGATE)
    if _CONTROLS.search(value):
        raise problem(CONTROL_CHARACTERS)
    return value


def label_value(value: Any) -> str:
    """`text_value` that is also fit to show as a name: one line, no bidi formatting."""
    text = text_value(value)
    if _NOT_IN_LABELS.search(text):
        raise problem(LABEL_CHARACTERS)
    return text


def unsafe_in_label(text: str) -> bool:
    """What `label_value` refuses (a name from the CLI or a provider is checked with it)."""
    return bool(_CONTROLS.search(text) or _NOT_IN_LABELS.search(text) or has_lone_surrogate(text))


@dataclass(frozen=True, slots=True)
class Text(GroupedMetadata):
    """`Annotated[str, Text(...)]`: a non-blank string of at most `max_length` characters,
    the whole of which matches `pattern` if given, without control characters; a `label`
    (a name, a SKU, a city) is one line without bidi formatting characters too."""

    max_length: int = 200
    pattern: str | None = None
    label: bool = False

    def __iter__(self) -> Iterator[object]:
        anchored = None if self.pattern is None else f"^(?:{self.pattern})$"
        yield StringConstraints(min_length=1, max_length=self.max_length, pattern=anchored)
        yield BeforeValidator(label_value if self.label else text_value)


def _within_years(moment: date) -> None:
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise problem(f"must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}")


def _calendar_date(value: Any) -> date:
    if isinstance(value, date):
        return value  # an answer's, read from the stored order
    text = text_value(value)
    if len(text) > 10:
        raise problem("must be at most 10 characters")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise problem("must be a date like 2026-11-26") from None
    _within_years(day)
    return day


def _timestamp(value: Any) -> datetime:
    """A date-time with its UTC offset: a bare local time is ambiguous across borders."""
    if isinstance(value, datetime):
        return value
    text = text_value(value)
    if len(text) > 40:
        raise problem("must be at most 40 characters")
    try:
        moment: datetime | None = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise problem("must be a date-time with offset like 2026-11-20T10:15:00+01:00")
    _within_years(moment)
    return moment


# [0-9], not \d: the pattern engine takes \d for any script's digits ("١٠٤٢١٥").
MONEY = r"[0-9]{1,9}(\.[0-9]{1,2})?"
CURRENCY = r"[A-Z]{3}"
# Shoppers click these links: only http(s), never javascript: or data:.
HTTP_URL = r"[Hh][Tt][Tt][Pp][Ss]?://[^\s]+"

ShortText = Annotated[str, Text(label=True)]
Sku = Annotated[str, Text(max_length=64, label=True)]
Money = Annotated[str, Text(max_length=12, pattern=MONEY), Field(examples=["39.80"])]
Currency = Annotated[str, Text(max_length=3, pattern=CURRENCY), Field(examples=["EUR"])]
Url = Annotated[str, Text(max_length=2000, pattern=HTTP_URL)]
# An item's count in an order or a cart: a thousand of one thing is no shopper's.
Quantity = Annotated[int, Strict(), Field(ge=1, le=999)]
# As the answers write them back: Python's isoformat, with the offset the shop sent.
CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp), PlainSerializer(datetime.isoformat)]
# Times the Agent API answers with.
Millis = Annotated[int, Field(description="milliseconds since the epoch")]


def parse(model: type[Model], data: object, path: str = "", *, context: Mapping[str, Any] | None = None) -> Model:
    """`data` as `model`, or the InvalidInput of its first problem (under `path`)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise _invalid(error, data, path) from None


def parse_as(adapter: TypeAdapter[T], data: object, path: str = "") -> T:
    """`parse` for a type that is no model of its own (a union of models)."""
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        raise _invalid(error, data, path) from None


def _invalid(error: ValidationError, data: object, path: str) -> InvalidInput:
    first = error.errors(include_url=False)[0]
    return InvalidInput(_path(path, data, first), _message(first))


def _join(parent: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name


def _path(path: str, data: object, error: ErrorDetails) -> str:
    """`items[0].quantity` from pydantic's ("items", 0, "quantity"), without the union tags
    it puts in between (("event", "cart", "items") is `event.items`)."""
    where = data
    for part in error["loc"]:
        if isinstance(where, Mapping) and part not in where and where.get(DISCRIMINATOR) == part:
            continue
        path = _join(path, part)
        where = where.get(part) if isinstance(where, Mapping) else (
            where[part] if isinstance(where, list) and isinstance(part, int) and part < len(where) else None)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path = _join(path, DISCRIMINATOR)
    return path


def _choices(expected: str) -> str:
    return ", ".join(re.findall(r"'([^']*)'", expected))


def _message(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("missing", "union_tag_not_found") or error["input"] is None:
        return "is required"
    if kind == "storechat":
        return str(error["msg"])
    if kind in ("enum", "literal_error"):
        return "must be one of " + _choices(ctx["expected"])
    if kind == "union_tag_invalid":
        return "must be one of " + _choices(ctx["expected_tags"])
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "must match " + str(ctx["pattern"]).removeprefix("^(?:").removesuffix(")$")
    if kind in ("int_type", "greater_than_equal"):
        return f"must be an integer ≥ {ctx.get('ge', 1)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx['le']}"
    if kind in ("list_type", "tuple_type", "too_short"):
        return "must be a non-empty array"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} entries"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object"
    if kind in ("string_type", "string_too_short"):
        return "must be a non-empty string"
    return error["msg"]
