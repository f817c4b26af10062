"""How big process data may get: the values expressions make, an instance's stored state, the
instances of a multi-instance activity, and how long one engine step may run.

Sizes of values are bounded *before* an operation makes them, because a single operation of the
evaluator is one call into C (``==``, ``hash()``, ``*`` on a list) that no time check between
syntax nodes can interrupt, and not even a signal: Python runs signal handlers between bytecodes
only. ``[[1] * 100000] * 100000 == [[1] * 100000] * 100000`` holds two short lists of pointers
and still compares ten billion elements. So sizes are counted in *units*: one per element or
character, nested values counted every time they appear (as ``==``, ``hash()``, ``str()`` and
JSON visit them). Every value an expression makes stays within `MAX_VALUE_UNITS`, so no single
comparison, hash or copy of such values costs more than about a million steps (milliseconds).

The limits an operator may want to change come from the environment (`Settings`), read once at
import; a bad value stops the service at start with the variable named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_RUN_UNITS",
    "MAX_VALUE_UNITS",
    "SETTINGS",
    "Settings",
    "state_bytes",
    "units",
]

MAX_VALUE_UNITS = 1_000_000  # one value made by an expression or assigned by a script
# All the values one evaluation or script run makes together (elements and characters it
# allocates): a script of 2,000 syntax nodes must not fill memory with values it discards.
MAX_RUN_UNITS = 5_000_000

_FLAT = (int, float, bool, type(None))


def units(value: Any, limit: int = MAX_VALUE_UNITS) -> int:
    """The size of ``value`` in units: 1 per scalar and per container, plus 1 per character of a
    string, nested values counted each time they appear.

    Counting stops at the first container that takes the count past ``limit`` (the result is
    then some number above it), so measuring costs at most about ``limit`` steps whatever the
    value: callers compare the result with the limit."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 1
        elif isinstance(item, list | tuple | set | frozenset | dict):
            total += 1
            elements = (
                (x for pair in item.items() for x in pair) if isinstance(item, dict) else item
            )
            for element in elements:
                if isinstance(element, _FLAT):
                    total += 1
                elif isinstance(element, str):
                    total += len(element) + 1
                else:
                    stack.append(element)
        else:
            total += 1
        if total > limit:
            return total
    return total


def state_bytes(state: Mapping[str, Any]) -> int:
    """Length of an instance's stored state: the JSON SQLAlchemy's JSON type writes (the
    standard library's `json.dumps` with its defaults, so non-ASCII text counts as ``\\uXXXX``)."""
    return len(json.dumps(state))


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The limits an operator may change, from the environment variable named on each."""

    multi_instance: int = 500  # MAX_MULTI_INSTANCE: instances of one multi-instance activity
    state_bytes: int = 1_000_000  # MAX_INSTANCE_STATE_BYTES: one instance's stored state
    step_seconds: float = 5.0  # MAX_STEP_SECONDS: wall-clock time of one engine step

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            multi_instance=int(_positive(env, "MAX_MULTI_INSTANCE", default.multi_instance)),
            state_bytes=int(_positive(env, "MAX_INSTANCE_STATE_BYTES", default.state_bytes)),
            step_seconds=_positive(env, "MAX_STEP_SECONDS", default.step_seconds, number=float),
        )


def _positive(env: Mapping[str, str], name: str, default: float, number: type = int) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = number(raw.strip())
    except ValueError:
        value = 0
    if not value > 0 or value != value or value == float("inf"):
        kind = "a positive integer" if number is int else "a positive number of seconds"
        raise ValueError(f"{name} must be {kind}, not {raw!r}")
    return value


SETTINGS = Settings.from_env()
