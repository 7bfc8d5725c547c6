"""Schedules: the slots cron, interval and rrule schedules give, daylight-saving days included."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tarry import errors, schedules
from tarry.schedules import Cron, Interval, RRule

NEW_YORK = ZoneInfo("America/New_York")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).timestamp()


def wall(slots: list[float]) -> list[str]:
    """Slots as New York wall-clock times with their UTC offset."""
    return [dt.datetime.fromtimestamp(s, NEW_YORK).strftime("%m-%d %H:%M%z") for s in slots]


def test_a_daily_0230_job_runs_once_at_0300_on_the_spring_forward_day() -> None:
    daily = Cron("30 2 * * *", timezone="America/New_York")

    found = schedules.slots(daily, local(2026, 3, 7), local(2026, 3, 10))

    assert wall(found) == [
        "03-07 02:30-0500",
        "03-08 03:00-0400",  # 02:30 does not exist that day: once, right after the jump
        "03-09 02:30-0400",
    ]


def test_a_daily_0130_job_runs_once_on_the_fall_back_day() -> None:
    daily = Cron("30 1 * * *", timezone="America/New_York")

    found = schedules.slots(daily, local(2026, 10, 31), local(2026, 11, 3))

    assert wall(found) == ["10-31 01:30-0400", "11-01 01:30-0400", "11-02 01:30-0500"]


def test_a_half_hourly_job_runs_by_the_wall_clock_through_the_repeated_hour() -> None:
    half_hourly = Cron("*/30 * * * *", timezone="America/New_York")

    found = schedules.slots(half_hourly, local(2026, 11, 1, 0, 50), local(2026, 11, 1, 2, 0))

    assert wall(found) == [
        "11-01 01:00-0400",
        "11-01 01:30-0400",
        "11-01 01:00-0500",
        "11-01 01:30-0500",
        "11-01 02:00-0500",
    ]


def test_every_minute_gives_each_minute_after_the_instant_once() -> None:
    start = dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.UTC).timestamp()

    found = schedules.slots(Cron("* * * * *"), start, start + 180)

    assert found == [start + 30, start + 90, start + 150]
    assert schedules.slots(Cron("* * * * *"), start + 30, start + 90) == [start + 90]


def test_a_daily_interval_keeps_its_wall_clock_time_across_the_change() -> None:
    daily = Interval(
        dt.timedelta(days=1), anchor_date=dt.datetime(2026, 1, 1, 9), timezone="America/New_York"
    )

    found = schedules.slots(daily, local(2026, 3, 7), local(2026, 3, 9, 12))

    assert wall(found) == ["03-07 09:00-0500", "03-08 09:00-0400", "03-09 09:00-0400"]


def test_a_sub_day_interval_counts_elapsed_time_from_its_anchor() -> None:
    anchor = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    every_90 = Interval(90, anchor_date=anchor)

    found = schedules.slots(every_90, anchor.timestamp() + 100, anchor.timestamp() + 300)

    assert found == [anchor.timestamp() + 180, anchor.timestamp() + 270]


def test_an_rrule_names_its_times_in_its_zone() -> None:
    weekdays = RRule("FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=0", timezone="America/New_York")

    found = schedules.slots(weekdays, local(2026, 3, 5), local(2026, 3, 10))

    assert wall(found) == ["03-06 09:00-0500", "03-09 09:00-0400"]


@pytest.mark.parametrize(
    "schedule",
    [
        Cron("0 9 * * 1-5", timezone="Europe/Paris"),
        Cron("@daily"),
        Interval(dt.timedelta(hours=6), anchor_date=dt.datetime(2026, 1, 1, 3)),
        RRule("FREQ=HOURLY;INTERVAL=2", timezone="Asia/Tokyo"),
    ],
)
def test_a_stored_schedule_reads_back_equal(schedule: schedules.Schedule) -> None:
    assert schedules.from_json(schedules.to_json(schedule)) == schedule


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Cron("61 * * * *"), "cannot be read"),
        (lambda: Cron("* * * *"), "five fields"),
        (lambda: Cron("* * * * *", timezone="Mars/Olympus"), "unknown time zone"),
        (lambda: Interval(0.5), "at least 1 second"),
        (lambda: RRule("FREQ=SOMETIMES"), "cannot be read"),
    ],
)
def test_a_schedule_that_cannot_be_read_is_refused_when_made(make: object, message: str) -> None:
    with pytest.raises(errors.ScheduleInvalid, match=message):
        make()  # type: ignore[operator]


def test_prefect_names_are_the_same_classes() -> None:
    assert schedules.CronSchedule is Cron
    assert schedules.IntervalSchedule is Interval
    assert schedules.RRuleSchedule is RRule
    assert schedules.describe(Cron("0 9 * * *", timezone="UTC")) == "cron 0 9 * * * (UTC)"
