"""Expiry resolution: every relative form against the alert's New York date, never the clock."""

from __future__ import annotations

from datetime import date

import pytest

from autosig.parsing import _dates as dates


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2026-01-14T15:00:00Z", date(2026, 1, 14)),
        ("2026-01-15T03:00:00Z", date(2026, 1, 14)),  # 22:00 the evening before in New York
        ("2026-07-01T03:30:00Z", date(2026, 6, 30)),  # summer time: UTC-4
        (1768402800, date(2026, 1, 14)),
        (1768402800000, date(2026, 1, 14)),
        ("1768402800000", date(2026, 1, 14)),
        (None, None),
        ("not a date", None),
    ],
)
def test_alert_date_is_new_york_calendar_day(created_at, expected):
    assert dates.alert_date(created_at) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 12), date(2026, 1, 16)),  # Monday
        (date(2026, 1, 16), date(2026, 1, 16)),  # Friday: that day
        (date(2026, 1, 17), date(2026, 1, 23)),  # Saturday: the coming Friday
        (date(2026, 1, 18), date(2026, 1, 23)),  # Sunday
    ],
)
def test_this_friday(today, expected):
    assert dates.this_friday(today) == expected


def test_next_friday():
    assert dates.next_friday(date(2026, 1, 14)) == date(2026, 1, 23)
    assert dates.next_friday(date(2026, 1, 17)) == date(2026, 1, 23)  # the weekend already looks at next week


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 3, date(2026, 3, 20)),
        (2026, 1, date(2026, 1, 16)),
        (2027, 1, date(2027, 1, 15)),
        (2026, 5, date(2026, 5, 15)),
    ],
)
def test_third_friday(year, month, expected):
    assert dates.third_friday(year, month) == expected


def test_monthly_rolls_to_next_year_once_passed():
    assert dates.monthly(1, date(2026, 1, 14)) == date(2026, 1, 16)
    assert dates.monthly(1, date(2026, 1, 17)) == date(2027, 1, 15)
    assert dates.monthly(3, date(2026, 1, 14), year=27) == date(2027, 3, 19)


def test_year_inference_on_or_after():
    today = date(2026, 1, 14)
    assert dates.next_on_or_after(1, 14, today) == date(2026, 1, 14)
    assert dates.next_on_or_after(1, 13, today) == date(2027, 1, 13)
    assert dates.next_on_or_after(2, 29, today) == date(2028, 2, 29)
    assert dates.next_on_or_after(2, 30, today) is None
    assert dates.next_on_or_after(1, 1, None) is None


@pytest.mark.parametrize(
    ("today", "sessions", "expected"),
    [
        (date(2026, 1, 14), 0, date(2026, 1, 14)),  # 0dte: the day itself
        (date(2026, 1, 14), 1, date(2026, 1, 15)),
        (date(2026, 1, 14), 3, date(2026, 1, 19)),  # Wednesday + 3 skips the weekend
        (date(2026, 1, 16), 1, date(2026, 1, 19)),  # Friday
        (date(2026, 1, 17), 1, date(2026, 1, 19)),  # Saturday: Monday is the first session after
        (date(2026, 1, 18), 5, date(2026, 1, 23)),  # Sunday
        (date(2026, 1, 14), 10, date(2026, 1, 28)),
        (None, 1, None),
        (date(2026, 1, 14), dates.MAX_DTE + 1, None),  # absurd counts resolve to nothing, never overflow
    ],
)
def test_trading_days_after(today, sessions, expected):
    assert dates.trading_days_after(today, sessions) == expected
