"""Schedules: when a deployment's runs start, as Prefect's cron, interval and rrule schedules.

`Cron`, `Interval` and `RRule` are values (frozen, checked when made); `slots`
gives the times a schedule is due after an instant, so everything here is pure
and the scheduler (`tarry.scheduler`) only decides what to do with them.

Cron expressions are read by `cronsim`, which follows Debian's and cronie's cron
on daylight-saving days: on a spring-forward day a job whose time does not exist
(02:30 in New York on 2026-03-08) runs once, right after the jump (03:00); on a
fall-back day a job at a fixed time that happens twice (01:30 on 2026-11-01) runs
once, at the first 01:30; jobs with a wildcard or step in the hour field (every
15 minutes) run by the clock on the wall, so the repeated hour runs twice.
`RRule` texts are read by `python-dateutil`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import zoneinfo
from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

import cronsim
from dateutil import rrule as dateutil_rrule

from tarry import errors

__all__ = [
    "MISSED_POLICIES",
    "Cron",
    "CronSchedule",
    "Interval",
    "IntervalSchedule",
    "MissedPolicy",
    "RRule",
    "RRuleSchedule",
    "Schedule",
    "ScheduleOptions",
    "collect",
    "describe",
    "from_json",
    "slots",
    "to_json",
]

MissedPolicy: TypeAlias = Literal["latest", "all", "skip"]
"""What happens to slots that passed while no scheduler ran (see docs/schedules.md)."""
MISSED_POLICIES: tuple[MissedPolicy, ...] = ("latest", "all", "skip")

# Prefect's default anchor for an interval (and ours for an rrule without DTSTART):
# fixed, so every process computes the same slots.
_DEFAULT_ANCHOR = dt.datetime(2020, 1, 1)
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DAY = dt.timedelta(days=1)
# How far before an instant an rrule is searched from, so a slot an hour away
# across a daylight-saving change is not missed; later slots are filtered by instant.
_RRULE_MARGIN = dt.timedelta(hours=3)


def _zone(name: str | None) -> dt.tzinfo:
    if name is None:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise errors.ScheduleInvalid(f"unknown time zone {name!r}") from None


def _check_missed(policy: str) -> None:
    if policy not in MISSED_POLICIES:
        raise errors.ScheduleInvalid(
            f"missed={policy!r} is not a policy: use one of {', '.join(MISSED_POLICIES)}"
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ScheduleOptions:
    """What every schedule takes besides its timing, by keyword (as Prefect's schedules).

    Args:
        active: Whether it makes runs (`False`: stored paused).
        parameters: Parameters over the deployment's defaults, for its runs.
        slug: Its name within the deployment (`schedule-1`, ... by position when omitted).
        missed: What becomes of slots that passed while no scheduler ran:
            `"latest"` (the default) runs the latest of them once, `"all"` runs
            each, `"skip"` runs none.
    """

    active: bool = True
    parameters: dict[str, Any] | None = None
    slug: str | None = None
    missed: MissedPolicy = "latest"


@dataclasses.dataclass(frozen=True)
class Cron(ScheduleOptions):
    """Due at the times a five-field cron expression names, in a time zone.

    Args:
        cron: `minute hour day-of-month month day-of-week`, e.g. `"0 9 * * 1-5"`,
            or a macro such as `@daily` or `@hourly`.
        timezone: An IANA zone such as `"America/New_York"`; UTC when omitted.
        active, parameters, slug, missed: Keywords every schedule takes (see
            `ScheduleOptions`).

    Raises:
        errors.ScheduleInvalid: The expression or the zone cannot be read.
    """

    cron: str
    timezone: str | None = None

    def __post_init__(self) -> None:
        _check_missed(self.missed)
        expr = _expression(self.cron)
        try:
            next(cronsim.CronSim(expr, dt.datetime(2020, 1, 1, tzinfo=_zone(self.timezone))))
        except cronsim.CronSimError as exc:
            raise errors.ScheduleInvalid(f"cron {self.cron!r} cannot be read: {exc}") from None


def _expression(cron: str) -> str:
    expr = _MACROS.get(cron.strip().lower(), cron.strip())
    if len(expr.split()) != 5:
        raise errors.ScheduleInvalid(
            f"cron {cron!r} needs five fields: minute hour day-of-month month day-of-week"
        )
    return expr


@dataclasses.dataclass(frozen=True)
class Interval(ScheduleOptions):
    """Due every `interval`, counted from `anchor_date`.

    An interval of whole days keeps the anchor's time on the wall clock of
    `timezone` across daylight-saving changes (a daily 09:00 stays 09:00); any
    other interval counts elapsed seconds.

    Args:
        interval: A `timedelta` or seconds (at least one second).
        anchor_date: A slot time the others are counted from; naive times are
            read in `timezone`. 2020-01-01 00:00 when omitted (as Prefect).
        timezone: An IANA zone; UTC (or the anchor's own zone) when omitted.
        active, parameters, slug, missed: Keywords every schedule takes (see
            `ScheduleOptions`).

    Raises:
        errors.ScheduleInvalid: The interval is shorter than a second, or the zone is unknown.
    """

    interval: dt.timedelta
    anchor_date: dt.datetime | None = None
    timezone: str | None = None

    def __init__(
        self,
        interval: dt.timedelta | float,
        anchor_date: dt.datetime | None = None,
        timezone: str | None = None,
        *,
        active: bool = True,
        parameters: dict[str, Any] | None = None,
        slug: str | None = None,
        missed: MissedPolicy = "latest",
    ) -> None:
        span = interval if isinstance(interval, dt.timedelta) else dt.timedelta(seconds=interval)
        if span < dt.timedelta(seconds=1):
            raise errors.ScheduleInvalid(f"an interval must be at least 1 second, not {span}")
        values: dict[str, Any] = {
            "interval": span,
            "anchor_date": anchor_date,
            "timezone": timezone,
        }
        values.update(active=active, parameters=parameters, slug=slug, missed=missed)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        _zone(timezone)
        _check_missed(missed)

    def anchor(self) -> dt.datetime:
        """The anchor as an aware time in the schedule's zone."""
        anchor = self.anchor_date or _DEFAULT_ANCHOR
        zone = _zone(self.timezone) if self.timezone or anchor.tzinfo is None else anchor.tzinfo
        return anchor.replace(tzinfo=zone) if anchor.tzinfo is None else anchor.astimezone(zone)


@dataclasses.dataclass(frozen=True)
class RRule(ScheduleOptions):
    """Due at the times an iCalendar recurrence rule names (RFC 5545, `python-dateutil`).

    Args:
        rrule: e.g. `"FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0"`, optionally with
            `DTSTART` (2020-01-01 00:00 in `timezone` when it has none).
        timezone: The IANA zone its times are read in; UTC when omitted.
        active, parameters, slug, missed: Keywords every schedule takes (see
            `ScheduleOptions`).

    Raises:
        errors.ScheduleInvalid: The rule or the zone cannot be read.
    """

    rrule: str
    timezone: str | None = None

    def __post_init__(self) -> None:
        _check_missed(self.missed)
        _zone(self.timezone)
        self.rules()

    def rules(self) -> dateutil_rrule.rruleset:
        """The parsed rule set (naive times are in the schedule's zone)."""
        try:
            found = dateutil_rrule.rrulestr(self.rrule, dtstart=_DEFAULT_ANCHOR, forceset=True)
        except (ValueError, TypeError) as exc:
            raise errors.ScheduleInvalid(f"rrule {self.rrule!r} cannot be read: {exc}") from None
        assert isinstance(found, dateutil_rrule.rruleset)  # forceset=True  # noqa: S101
        return found


Schedule: TypeAlias = Cron | Interval | RRule
"""Any schedule."""

# Prefect's names (`prefect.client.schemas.schedules`) for the same values.
CronSchedule = Cron
IntervalSchedule = Interval
RRuleSchedule = RRule


def slots(schedule: Schedule, after: float, until: float, limit: int = 1000) -> list[float]:
    """The times (Unix seconds) `schedule` is due, strictly after `after` and up to `until`.

    Args:
        schedule: The schedule.
        after: Slots at or before this instant are left out.
        until: Slots after this instant are left out.
        limit: At most this many, the earliest.
    """
    found: list[float] = []
    for slot in _iterate(schedule, after):
        if slot > until or len(found) >= limit:
            break
        found.append(slot)
    return found


def _iterate(schedule: Schedule, after: float) -> Any:
    if isinstance(schedule, Cron):
        return _cron_slots(schedule, after)
    if isinstance(schedule, Interval):
        return _interval_slots(schedule, after)
    return _rrule_slots(schedule, after)


def _cron_slots(schedule: Cron, after: float) -> Any:
    start = dt.datetime.fromtimestamp(after, _zone(schedule.timezone))
    for slot in cronsim.CronSim(_expression(schedule.cron), start):
        if slot.timestamp() > after:  # cronsim starts at the minute of `after`
            yield slot.timestamp()


def _interval_slots(schedule: Interval, after: float) -> Any:
    anchor = schedule.anchor()
    step = schedule.interval
    if step % _DAY:
        seconds = step.total_seconds()
        count = max(0, int((after - anchor.timestamp()) // seconds))
        while True:
            slot = anchor.timestamp() + count * seconds
            if slot > after:
                yield slot
            count += 1
    # Whole days: add them on the wall clock, then find the instant it names there.
    days = step // _DAY
    local = anchor.replace(tzinfo=None)
    count = max(0, int((after - anchor.timestamp()) // step.total_seconds()) - 1)
    while True:
        slot = (local + count * days * _DAY).replace(tzinfo=anchor.tzinfo).timestamp()
        if slot > after:
            yield slot
        count += 1


def _rrule_slots(schedule: RRule, after: float) -> Any:
    zone = _zone(schedule.timezone)
    rules = schedule.rules()
    cursor = dt.datetime.fromtimestamp(after, zone) - _RRULE_MARGIN
    while True:
        found = rules.after(_like(cursor, rules), inc=False)
        if found is None:
            return
        cursor = found
        slot = (found if found.tzinfo else found.replace(tzinfo=zone)).timestamp()
        if slot > after:
            yield slot


def _like(moment: dt.datetime, rules: dateutil_rrule.rruleset) -> dt.datetime:
    # dateutil compares naive with naive and aware with aware: match the rule's DTSTART.
    first = next(iter(rules), None)
    if first is None or first.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=None)


def collect(
    *,
    cron: str | Iterable[str] | None = None,
    interval: dt.timedelta | float | Iterable[dt.timedelta | float] | None = None,
    rrule: str | Iterable[str] | None = None,
    schedules: Iterable[Schedule] | None = None,
    missed: MissedPolicy = "latest",
) -> list[Schedule] | None:
    """The schedules that `flow.serve`'s options name, in order; `None` when none is given.

    Each option takes one value or several, as Prefect's do: `cron="0 9 * * *"` or
    `cron=["0 9 * * *", "0 17 * * *"]`; numbers are seconds. `missed` is the policy
    of those (a schedule of `schedules` has its own).

    Raises:
        errors.ScheduleInvalid: One of them cannot be read.
    """
    if cron is None and interval is None and rrule is None and schedules is None:
        return None
    found: list[Schedule] = [Cron(expr, missed=missed) for expr in _each(cron)]
    found += [Interval(span, missed=missed) for span in _each(interval)]
    found += [RRule(text, missed=missed) for text in _each(rrule)]
    for schedule in schedules or ():
        if not isinstance(schedule, (Cron, Interval, RRule)):
            raise errors.ScheduleInvalid(
                f"not a schedule: {schedule!r}; use tarry.schedules.Cron, Interval or RRule"
            )
        found.append(schedule)
    return found


def _each(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, dt.timedelta, int, float)):
        return [value]
    return list(value)


def to_json(schedule: Schedule) -> str:
    """When the schedule is due, as stored: JSON of its kind and timing fields.

    `active`, `parameters`, `slug` and `missed` are stored beside it, not in it.
    """
    if isinstance(schedule, Cron):
        body: dict[str, Any] = {"cron": schedule.cron}
    elif isinstance(schedule, Interval):
        anchor = schedule.anchor_date
        body = {
            "interval": schedule.interval.total_seconds(),
            "anchor_date": None if anchor is None else anchor.isoformat(),
        }
    else:
        body = {"rrule": schedule.rrule}
    return json.dumps({**body, "timezone": schedule.timezone}, sort_keys=True)


def from_json(text: str) -> Schedule:
    """The schedule `to_json` stored.

    Raises:
        errors.ScheduleInvalid: The text is no stored schedule.
    """
    body = json.loads(text)
    zone = body.get("timezone")
    if "cron" in body:
        return Cron(body["cron"], timezone=zone)
    if "rrule" in body:
        return RRule(body["rrule"], timezone=zone)
    if "interval" in body:
        anchor = body.get("anchor_date")
        when = None if anchor is None else dt.datetime.fromisoformat(anchor)
        return Interval(float(body["interval"]), anchor_date=when, timezone=zone)
    raise errors.ScheduleInvalid(f"not a stored schedule: {text!r}")


def describe(schedule: Schedule) -> str:
    """One line for people: `cron 0 9 * * 1-5 (America/New_York)`."""
    if isinstance(schedule, Cron):
        what = f"cron {schedule.cron}"
    elif isinstance(schedule, Interval):
        what = f"every {schedule.interval}"
    else:
        what = f"rrule {schedule.rrule}"
    return f"{what} ({schedule.timezone or 'UTC'})"
