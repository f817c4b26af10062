"""Days of the handoff (a deadline, an instalment's date) as the instants a BPMN timer waits for:
days are Asia/Shanghai's, timers take ISO 8601 UTC strings (what `now()` and
`add_working_days()` give the expressions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def start_of_day(day: str | date) -> str:
    """The first instant of `day` in Asia/Shanghai."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).isoformat()


def end_of_day(day: str | date) -> str:
    """The instant `day` ends in Asia/Shanghai (a deadline "by the 31st" runs through the 31st)."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return start_of_day(day + timedelta(days=1))
