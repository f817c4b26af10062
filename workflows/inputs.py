"""What a text input may be, field by field: one rule per field for the API's schemas
(`server.schemas`) and for the services the web pages call, so both accept and refuse alike.

A rule has a length limit, which for a value that ends in a column is that column's
(`column_length(Request.title)`): a limit written twice drifts, and a value longer than its column
is a database error (PostgreSQL refuses it; SQLite would store it). Every text is also refused
when no database can store it (NUL characters, lone UTF-16 surrogates), when it holds control
characters (one line: none; several lines: tab and line breaks only) and when it has characters
but none that shows (zero-width spaces, fillers): a title nobody can see names nothing.

Each refusal is a `Problem`: a reason (what the pages word from their catalogue) and the API's
bilingual message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# What no database stores: NUL (PostgreSQL refuses it in text) and lone surrogates (no UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates reorder how the rest of the text reads
# (a title that displays as something else); they are refused with the control characters.
_BIDI = "\u202a-\u202e\u2066-\u2069"
ONE_LINE_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
LINES_CONTROL = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
# The OpenAPI pattern of a one-line text (what ONE_LINE_CONTROL refuses, in JSON Schema's dialect)
ONE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
# Characters without a glyph of their own: controls and formats (zero-width space and joiners,
# soft hyphen, BOM), separators, marks that only modify another character, private and unassigned
# code points; and letters that draw as blank space (Hangul fillers, the braille blank).
_UNSEEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")

REQUIRED = "必填 required"
NOT_TEXT = "应为文本 must be a string"
CONTROL = "不能包含控制字符 no control characters"
INVISIBLE = "须包含可见的文字 must contain visible characters"
UNSTORABLE_TEXT = "不能包含空字符或无效的 Unicode 字符 no NUL characters or lone surrogates"


def too_long(limit: int) -> str:
    return f"最多 {limit} 个字符 at most {limit} characters"


@dataclass(frozen=True)
class Problem:
    """Why a value was refused: `reason` (required, not_text, unstorable, control, invisible,
    too_long), the API's bilingual `message`, and the `limit` a too long value broke."""

    reason: str
    message: str
    limit: int | None = None


def column_length(attribute: Any) -> int:
    """The length of the string column a mapped attribute is stored in (`User.username` -> 64)."""
    column = attribute.property.columns[0]
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{attribute} is not a string column with a length")
    return length


def visible(text: str) -> bool:
    """True when at least one character of `text` draws something."""
    return any(
        unicodedata.category(ch) not in _UNSEEN_CATEGORIES and ch not in _BLANK_LETTERS
        for ch in text
    )


def text_problem(
    value: Any, max_length: int, *, required: bool = True, multiline: bool = False
) -> Problem | None:
    """Why `value` is not an acceptable text of at most `max_length` characters, or None.

    Blank (empty or white space) is refused when `required`; the length is the value's as sent
    (what the OpenAPI description's maxLength says), the services store it trimmed."""
    if not isinstance(value, str):
        return Problem("not_text", NOT_TEXT)
    if UNSTORABLE.search(value):
        return Problem("unstorable", UNSTORABLE_TEXT)
    if (LINES_CONTROL if multiline else ONE_LINE_CONTROL).search(value):
        return Problem("control", CONTROL)
    if len(value) > max_length:
        return Problem("too_long", too_long(max_length), max_length)
    if not value.strip():
        return Problem("required", REQUIRED) if required else None
    if not visible(value):
        return Problem("invisible", INVISIBLE)
    return None


def clean_text(
    value: Any, max_length: int, *, required: bool = True, multiline: bool = False
) -> str:
    """`value` trimmed, or ValueError with the API's message (`text_problem`)."""
    problem = text_problem(value, max_length, required=required, multiline=multiline)
    if problem is not None:
        raise TextError(problem)
    return value.strip()


class TextError(ValueError):
    """A refused text, with its `problem`."""

    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def storable(value: Any) -> bool:
    """False for a string no database can store (see UNSTORABLE); other values pass."""
    return not (isinstance(value, str) and UNSTORABLE.search(value))
