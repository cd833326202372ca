"""Working-day arithmetic shared by the reminder jobs: counted in the recipient's time zone and work days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.workdays import add_working_days, is_working_time, local_now, working_days_between
from bot.settings import Settings

MON_FRI = frozenset(range(5))
SUN_THU = frozenset({6, 0, 1, 2, 3})


def test_working_days_skip_the_weekend_and_add_is_the_inverse_of_between() -> None:
    friday = date(2026, 2, 27)
    assert working_days_between(friday, date(2026, 3, 2), MON_FRI) == 1  # Sat, Sun do not count
    assert working_days_between(friday, date(2026, 3, 4), MON_FRI) == 3
    assert working_days_between(friday, friday, MON_FRI) == 0
    assert working_days_between(date(2026, 3, 4), friday, MON_FRI) == -3
    assert add_working_days(friday, 1, MON_FRI) == date(2026, 3, 2)
    assert add_working_days(friday, 1, SUN_THU) == date(2026, 3, 1)  # a Sunday-to-Thursday week
    for n in range(-15, 16):
        assert working_days_between(friday, add_working_days(friday, n, SUN_THU), SUN_THU) == n


def test_working_time_is_judged_on_the_recipients_own_clock() -> None:
    settings = Settings()  # 09:00-17:00, Monday to Friday
    now = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # Friday
    assert is_working_time(local_now(now, "America/New_York"), settings)  # 10:00
    assert not is_working_time(local_now(now, "Asia/Tokyo"), settings)  # Saturday 00:00
    assert is_working_time(local_now(now, "Europe/Berlin"), settings)  # 16:00
    assert not is_working_time(local_now(now, "Asia/Kolkata"), settings)  # 20:30
    assert local_now(now, "Not/AZone").utcoffset().total_seconds() == 0  # unknown zone: UTC, never a crash
