"""Working-day arithmetic in a recipient's own time zone (plain functions, shared by every reminder job).

Conventions:
- `now` is an aware datetime (UTC from the clock); `tz` is an IANA name from users.info (`None` or an unknown
  name falls back to UTC, so a missing profile never stops a reminder).
- Weekdays are ISO-style numbers with Monday = 0, as `Settings.work_days` holds them.
- `working_days_between(a, b)` counts the working days d with a < d <= b: "how many working days have passed
  since a". `add_working_days(a, n)` is its inverse: the n-th working day after a (before a when n < 0).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class WorkHours(Protocol):
    """The part of `bot.settings.Settings` these functions read (read-only: Settings is a frozen dataclass)."""

    @property
    def work_start(self) -> tuple[int, int]: ...
    @property
    def work_end(self) -> tuple[int, int]: ...
    @property
    def work_days(self) -> frozenset[int]: ...


@lru_cache(maxsize=512)
def zone(tz: str | None) -> ZoneInfo:
    """The ZoneInfo for an IANA name; UTC when the name is missing or unknown."""
    if not tz:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_now(now: datetime, tz: str | None) -> datetime:
    """`now` (aware; a naive value is taken as UTC) seen on the recipient's wall clock."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(zone(tz))


def local_date(moment: datetime, tz: str | None) -> date:
    """The recipient's calendar date at `moment` (what "today" means for them)."""
    return local_now(moment, tz).date()


def _as_time(hhmm: tuple[int, int]) -> time | None:
    """(24, 0) means end of day; represented as None (no upper bound)."""
    hours, minutes = hhmm
    if hours >= 24:
        return None
    return time(hours, minutes)


def is_working_day(day: date, work_days: Collection[int]) -> bool:
    return day.weekday() in work_days


def is_working_time(local_dt: datetime, settings: WorkHours) -> bool:
    """True on a working day between WORK_HOURS_START (inclusive) and WORK_HOURS_END (exclusive)."""
    if not is_working_day(local_dt.date(), settings.work_days):
        return False
    clock = local_dt.time().replace(tzinfo=None)
    start = _as_time(settings.work_start) or time(0, 0)
    end = _as_time(settings.work_end)
    if clock < start:
        return False
    return end is None or clock < end


def _check(work_days: Collection[int]) -> None:
    if not work_days:
        raise ValueError("work_days is empty: no day would ever count as a working day")


def working_days_between(start_date: date, end_date: date, work_days: Collection[int]) -> int:
    """Working days d with start_date < d <= end_date. When end_date is before start_date: minus the working
    days d with end_date <= d < start_date (so `add_working_days` is its exact inverse both ways)."""
    _check(work_days)
    if end_date < start_date:
        one = timedelta(days=1)
        return -working_days_between(end_date - one, start_date - one, work_days)
    span = (end_date - start_date).days
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * len(set(work_days) & set(range(7)))
    day = start_date + timedelta(days=full_weeks * 7)
    for _ in range(rest):
        day += timedelta(days=1)
        if day.weekday() in work_days:
            count += 1
    return count


def add_working_days(start_date: date, days: int, work_days: Collection[int]) -> date:
    """The `days`-th working day after start_date (before it when negative; start_date itself for 0)."""
    _check(work_days)
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    day = start_date
    while remaining:
        day += timedelta(days=step)
        if day.weekday() in work_days:
            remaining -= 1
    return day


def next_working_day(day: date, work_days: Collection[int]) -> date:
    """`day` itself when it is a working day, else the next one."""
    _check(work_days)
    while day.weekday() not in work_days:
        day += timedelta(days=1)
    return day
