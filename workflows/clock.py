"""The engine's clock: real UTC time by default, controllable in tests and demos.

``now()`` is what the engine uses for "the current time" (timers, due dates, audit stamps). Tests
move it with ``freeze(dt)`` / ``advance(delta)`` and restore it with ``reset()``; the demo history
(``handoff.demo_history``) plays months of work with ``travel(dt)``, a clock that runs from a
moment in the past, moved forward with ``advance`` between steps. The override is process-wide
(module state behind a lock), not per thread or per request, so only a process of its own (a
test, a CLI command) moves it, never a serving one.

Importing this module also makes SpiffWorkflow's timer events use this clock (see
``_patch_spiff_timers`` below), so a boundary timer due in 15 working days can be made to fire by
``advance(timedelta(days=30))`` followed by ``workflow.refresh_timers()``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["advance", "freeze", "now", "reset", "travel"]

_lock = threading.Lock()
_frozen: datetime | None = None  # when set, time stands still at this instant (plus _offset)
_offset = timedelta(0)  # added to the real (or frozen) time


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time as a timezone-aware UTC datetime (real time unless frozen/advanced)."""
    with _lock:
        frozen, offset = _frozen, _offset
    base = frozen if frozen is not None else _real_now()
    return base + offset


class _Frozen:
    """Returned by :func:`freeze` and :func:`travel`; as a context manager it restores the
    previous clock on exit."""

    def __init__(self, previous: tuple[datetime | None, timedelta]):
        self._previous = previous

    def __enter__(self) -> datetime:
        return now()

    def __exit__(self, *exc_info: object) -> None:
        global _frozen, _offset
        with _lock:
            _frozen, _offset = self._previous


def freeze(dt: datetime) -> _Frozen:
    """Stop the clock at ``dt`` (must be timezone-aware).

    Takes effect immediately, so it works as a plain call; used as ``with freeze(dt):`` the
    previous clock state is restored when the block ends.
    """
    global _frozen, _offset
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("freeze() needs a timezone-aware datetime")
    with _lock:
        previous = (_frozen, _offset)
        _frozen, _offset = dt.astimezone(UTC), timedelta(0)
    return _Frozen(previous)


def travel(dt: datetime) -> _Frozen:
    """Set the clock to ``dt`` (timezone-aware) and let it run from there, second by second.

    Unlike :func:`freeze`, time goes on: two steps a few milliseconds apart read two instants,
    as they would in production. Like it, it works as a plain call, and used as
    ``with travel(dt):`` the previous clock state is restored when the block ends.
    """
    global _frozen, _offset
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("travel() needs a timezone-aware datetime")
    with _lock:
        previous = (_frozen, _offset)
        _frozen, _offset = None, dt.astimezone(UTC) - _real_now()
    return _Frozen(previous)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward by ``delta`` (frozen or not); returns the new ``now()``."""
    global _frozen, _offset
    if not isinstance(delta, timedelta):
        raise TypeError("advance() needs a timedelta")
    with _lock:
        if _frozen is not None:
            _frozen += delta
        else:
            _offset += delta
    return now()


def reset() -> None:
    """Back to real time: undo every freeze() and advance()."""
    global _frozen, _offset
    with _lock:
        _frozen, _offset = None, timedelta(0)


class ClockDatetime(datetime):
    """``datetime`` whose ``now()`` reads :func:`now`; everything else is plain ``datetime``."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> ClockDatetime:
        current = now()
        if tz is None:
            # Same contract as datetime.now(): naive local time.
            current = current.astimezone().replace(tzinfo=None)
        else:
            current = current.astimezone(tz)
        # Keep the subclass so isinstance(x, <patched datetime>) in the timer module still holds.
        return cls.combine(current.date(), current.timetz())


def _patch_spiff_timers() -> None:
    """Make SpiffWorkflow's timer events read our clock.

    Why: ``SpiffWorkflow.bpmn.specs.event_definitions.timer`` (3.x) decides whether a timer has
    fired with ``datetime.now(UTC)``; there is no hook to inject a clock, and we need
    tests (and the demo) to move time to see due dates and overdue escalation happen. We replace
    only that module's global name ``datetime`` with :class:`ClockDatetime` — the real ``datetime``
    class and every other module are untouched. pyproject pins SpiffWorkflow's minor version
    because of this; ``tests/test_clock.py`` fails if a new release stops honouring the patch.
    """
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

    if spiff_timer.datetime is not ClockDatetime:
        spiff_timer.datetime = ClockDatetime


_patch_spiff_timers()


def _offset_from_environment() -> None:
    """CLOCK_OFFSET_SECONDS shifts this process's clock (demos and multi-process tests:
    a timer worker run "40 days later"). Production mode refuses it (server.security)."""
    import os

    value = os.environ.get("CLOCK_OFFSET_SECONDS")
    if value:
        advance(timedelta(seconds=float(value)))


_offset_from_environment()
