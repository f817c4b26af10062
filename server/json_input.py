"""Reading JSON bodies: numbers that no column or engine value can hold are refused by the parser.

Python reads any JSON integer (and then refuses to convert one of more than 4,300 digits, a
ValueError mid-request) and reads 1e309 as infinity and `NaN` as not-a-number, which no database
stores as JSON. Here integers stay within 64 bits (BIGINT, the widest integer column of both
databases, and SQLite's limit for any bound integer), floats are finite, and NaN and Infinity
are refused; the digits are counted before any conversion, so a huge number costs nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_INT = 2**63 - 1
_MAX_DIGITS = len(str(MAX_INT))
OUT_OF_RANGE = (
    "JSON 数字超出范围 number out of range: integers within ±9223372036854775807, "
    "finite numbers only, no NaN or Infinity"
)


class NumberOutOfRange(json.JSONDecodeError):
    """A JSON number the service refuses (a JSONDecodeError, so every parser answers 400)."""

    def __init__(self, text: str):
        super().__init__(OUT_OF_RANGE, text[:40], 0)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise NumberOutOfRange(text)
    value = int(text)
    if abs(value) > MAX_INT:
        raise NumberOutOfRange(text)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NumberOutOfRange(text)
    return value


def _constant(text: str) -> Any:
    raise NumberOutOfRange(text)


def loads(document: str | bytes, **kwargs: Any) -> Any:
    """`json.loads` with the bounds above (NumberOutOfRange, a JSONDecodeError, beyond them)."""
    return json.loads(
        document, parse_int=_int, parse_float=_float, parse_constant=_constant, **kwargs
    )


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON with `loads` above (`request.get_json` answers 400 beyond the bounds)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)
