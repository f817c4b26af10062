"""Money in the handoff: yuan as decimal strings on the outside, integer fen inside. No floats."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from workflows.forms import format_decimal, parse_decimal

_YUAN_PATTERN = r"-?[0-9]{1,15}(\.[0-9]{1,2})?"  # ASCII digits only: Decimal() accepts others
MAX_FEN = 10**17  # far above any budget, far below what could slow arithmetic down


def parse_yuan(value: Any) -> Decimal:
    """A yuan amount as a decimal string with at most 2 places."""
    try:
        return parse_decimal(value)
    except ValueError:
        raise ValueError(
            '金额应为最多两位小数的数，如 "5000.00" amount must be a number like "5000.00"'
        ) from None


def yuan_to_fen(amount: Decimal) -> int:
    return int(amount * 100)


def fen_to_yuan(fen: int) -> str:
    return format_decimal(Decimal(fen) / 100)


def to_fen(yuan: str | int) -> int:
    """Yuan (an int, or a decimal string with at most 2 places) as integer fen; for the
    handoff's BPMN expressions (`amount_fen = to_fen(revise.amount)`)."""
    if isinstance(yuan, bool):
        raise ValueError("to_fen() needs a yuan amount, not a boolean")
    if isinstance(yuan, int):
        amount = Decimal(yuan)
    elif isinstance(yuan, Decimal):
        if not yuan.is_finite() or yuan.as_tuple().exponent < -2:
            raise ValueError(f"not a yuan amount with at most 2 decimal places: {yuan}")
        amount = yuan
    elif isinstance(yuan, str):
        text = yuan.strip()
        if not re.fullmatch(_YUAN_PATTERN, text):
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise ValueError(f"not a yuan amount with at most 2 decimal places: {shown!r}")
        amount = Decimal(text)
    else:
        raise ValueError(f"to_fen() needs a str or int, not {type(yuan).__name__}")
    fen = int(amount * 100)
    if abs(fen) > MAX_FEN:
        raise ValueError("amount too large")
    return fen
