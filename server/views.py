"""Read models for the schemas: an object seen with a few attributes added."""

from __future__ import annotations

from typing import Any


class With:
    """`obj` with `extra` attributes on top (e.g. a task row with its handoff request id)."""

    def __init__(self, obj: Any, **extra: Any):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)
