"""workflows.workdays: working days by the Chinese statutory calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from workflows import workdays
from workflows.workdays import SHANGHAI, add_working_days, is_working_day

CST = timezone(timedelta(hours=8))


def end_of(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``day``, as UTC."""
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=CST).astimezone(UTC)


def test_zoneinfo_has_shanghai_data():
    assert datetime(2026, 1, 1, tzinfo=SHANGHAI).utcoffset() == timedelta(hours=8)


def test_national_day_2026_is_a_holiday():
    # 2026: National Day 10-01..10-07 off (Thu..Wed); 10-08/10-09 are normal working days.
    for day in range(1, 8):
        assert not is_working_day(date(2026, 10, day)), day
    assert is_working_day(date(2026, 10, 8))
    assert is_working_day(date(2026, 10, 9))
    # Mid-autumn festival 2026-09-25 (a Friday) is a holiday too.
    assert not is_working_day(date(2026, 9, 25))


def test_adjusted_working_weekend_days_2026():
    # Found via chinese_calendar: 2026-09-20 (Sun) and 2026-10-10 (Sat) are worked for National Day.
    assert date(2026, 9, 20).weekday() == 6
    assert date(2026, 10, 10).weekday() == 5
    assert is_working_day(date(2026, 9, 20))
    assert is_working_day(date(2026, 10, 10))
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # add_working_days lands on them: the next working day after Sat 09-19 is Sun 09-20 ...
    assert add_working_days(datetime(2026, 9, 19, 9, tzinfo=CST), 1) == end_of(date(2026, 9, 20))
    # ... and after Fri 10-09 it is Sat 10-10.
    assert add_working_days(datetime(2026, 10, 9, 9, tzinfo=CST), 1) == end_of(date(2026, 10, 10))


def test_fifteen_working_days_across_mid_autumn_and_national_day():
    # From Thu 2026-09-24, counted by hand:
    #  09-25..27 Mid-autumn (off)     09-28 Mon 1, 09-29 Tue 2, 09-30 Wed 3
    #  10-01..07 National Day (off)   10-08 Thu 4, 10-09 Fri 5, 10-10 Sat 6 (adjusted)
    #  10-12..16 Mon..Fri 7..11       10-17/18 weekend   10-19 Mon 12, 10-20 13, 10-21 14, 10-22 15
    start = datetime(2026, 9, 24, 10, 30, tzinfo=CST)
    due = add_working_days(start, 15)
    assert due == datetime(2026, 10, 22, 15, 59, 59, tzinfo=UTC)
    assert due.tzinfo is UTC
    assert due.astimezone(SHANGHAI).isoformat() == "2026-10-22T23:59:59+08:00"


def test_counting_uses_the_shanghai_date_of_start():
    # 2026-09-30 17:00 UTC is already 10-01 01:00 in Shanghai: counting starts on 10-02.
    start = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    assert add_working_days(start, 1) == end_of(date(2026, 10, 8))
    # 16:59 UTC is still 09-30 in Shanghai, but the next day is already a holiday.
    assert add_working_days(datetime(2026, 9, 30, 15, 59, tzinfo=UTC), 1) == end_of(
        date(2026, 10, 8)
    )
    # 09-28 23:30 Shanghai: the next working day is 09-29.
    assert add_working_days(datetime(2026, 9, 28, 15, 30, tzinfo=UTC), 1) == end_of(
        date(2026, 9, 29)
    )


def test_naive_start_is_shanghai_time():
    assert add_working_days(datetime(2026, 9, 28, 23, 30), 1) == end_of(date(2026, 9, 29))


def test_zero_days_is_end_of_start_date_even_on_a_holiday():
    assert add_working_days(datetime(2026, 10, 1, 8, tzinfo=CST), 0) == end_of(date(2026, 10, 1))
    assert add_working_days(datetime(2026, 9, 28, 8, tzinfo=CST), 0) == end_of(date(2026, 9, 28))


def test_bad_arguments():
    start = datetime(2026, 9, 28, tzinfo=CST)
    with pytest.raises(ValueError):
        add_working_days(start, -1)
    with pytest.raises(TypeError):
        add_working_days(start, True)
    with pytest.raises(TypeError):
        add_working_days(start, 1.0)
    with pytest.raises(TypeError):
        add_working_days(date(2026, 9, 28), 1)


# A calendar that knows 2026 (from the package) and nothing after it, whatever the installed
# chinesecalendar version knows.
KNOWS_2026 = workdays.Calendar(
    years=frozenset({2026}),
    holidays=frozenset(d for d in workdays.library_calendar().holidays if d.year == 2026),
    workdays=frozenset(d for d in workdays.library_calendar().workdays if d.year == 2026),
)


def test_unknown_year_is_monday_to_friday_and_provisional():
    assert KNOWS_2026.is_working_day(date(2027, 1, 1))  # Friday (really New Year's Day)
    assert not KNOWS_2026.is_working_day(date(2027, 1, 2))  # Saturday
    assert KNOWS_2026.is_working_day(date(2027, 1, 4))  # Monday

    # Thu 2026-12-31 + 2: Fri 2027-01-01, (weekend), Mon 2027-01-04, counted provisionally.
    due = workdays.count(datetime(2026, 12, 31, 10, tzinfo=CST), 2, KNOWS_2026)
    assert due == workdays.Due(end_of(date(2027, 1, 4)), provisional=True)
    # Ten weeks into 2027: 50 working days from Sun 2027-01-03 is Fri 2027-03-12.
    due = workdays.count(datetime(2027, 1, 3, 10, tzinfo=CST), 50, KNOWS_2026)
    assert due.at == end_of(date(2027, 3, 12)) and due.provisional
    # Within the known year: not provisional, and the holidays count.
    due = workdays.count(datetime(2026, 9, 24, 10, 30, tzinfo=CST), 15, KNOWS_2026)
    assert due == workdays.Due(end_of(date(2026, 10, 22)), provisional=False)
    # The end of the start's own day (n = 0) is never provisional.
    assert not workdays.count(datetime(2027, 5, 1, tzinfo=CST), 0, KNOWS_2026).provisional


def test_entered_year_counts_its_holidays():
    # 2027 as a notice would give it: 元旦 01-01..01-03 off, 春节 02-06..02-12 off and a worked
    # Sunday 02-14 (illustrative; the test does not depend on the real notice).
    y2027 = workdays.Calendar(
        years=KNOWS_2026.years | {2027},
        holidays=KNOWS_2026.holidays
        | {date(2027, 1, d) for d in (1, 2, 3)}
        | {date(2027, 2, d) for d in range(6, 13)},
        workdays=KNOWS_2026.workdays | {date(2027, 2, 14)},
    )
    # Thu 2026-12-31 + 2: 01-01 is a holiday now; Mon 01-04 is 1, Tue 01-05 is 2.
    due = workdays.count(datetime(2026, 12, 31, 10, tzinfo=CST), 2, y2027)
    assert due == workdays.Due(end_of(date(2027, 1, 5)), provisional=False)
    # Fri 02-05 + 1: the festival week is off, Sun 02-14 is worked.
    assert workdays.count(datetime(2027, 2, 5, tzinfo=CST), 1, y2027).at == end_of(
        date(2027, 2, 14)
    )


def test_library_days_have_chinese_names():
    days = {d.day: d for d in workdays.library_days()}
    assert days[date(2026, 10, 1)].kind == "holiday"
    assert days[date(2026, 10, 1)].name == "国庆节"
    assert days[date(2026, 10, 10)] == workdays.SpecialDay(date(2026, 10, 10), "workday", "国庆节")
    assert {d.name for d in days.values()} <= set(workdays.HOLIDAY_NAMES.values())
    assert set(range(2004, 2027)) <= workdays.library_years()


def test_is_working_day_accepts_datetime_as_shanghai_date():
    # 2026-09-30 16:30 UTC is 10-01 00:30 in Shanghai: a holiday.
    assert not is_working_day(datetime(2026, 9, 30, 16, 30, tzinfo=UTC))
    assert is_working_day(datetime(2026, 9, 30, 15, 30, tzinfo=UTC))
