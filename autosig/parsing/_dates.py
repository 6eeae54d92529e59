"""Expiry dates, resolved against the alert's own date in New York (never the clock). Expiries are taken
literally: no holiday or weekend adjustment, because an alert naming a holiday is the analyst's mistake to see.
"N DTE" counts weekdays only: there is no holiday calendar here, so a holiday in between is counted as a session.

Shared by the parser versions (v1, v2): any change here changes what a frozen version reads, which
tests/parsing/test_golden.py catches."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from autosig.times import to_utc

NEW_YORK = ZoneInfo("America/New_York")
FRIDAY = 4

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip


def alert_date(created_at: Any) -> date | None:
    """The calendar day the alert was written, in New York; None when created_at is missing or unreadable."""
    moment = to_utc(created_at)
    return moment.astimezone(NEW_YORK).date() if moment else None


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def full_year(year: int) -> int:
    return 2000 + year if year < 100 else year


def next_on_or_after(month: int, day: int, today: date | None) -> date | None:
    """A month/day without a year: the first such date on or after the alert's day (Feb 29 may skip years)."""
    if today is None:
        return None
    for year in range(today.year, today.year + 5):
        found = make_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(FRIDAY - first.weekday()) % 7 + 14)


def monthly(month: int, today: date | None, year: int | None = None) -> date | None:
    """'March': the standard monthly expiry (third Friday), the next one on or after the alert's day."""
    if year is not None:
        return third_friday(full_year(year), month)
    if today is None:
        return None
    for candidate_year in (today.year, today.year + 1):
        found = third_friday(candidate_year, month)
        if found >= today:
            return found
    return None  # unreachable: next year's is always later


def this_friday(today: date | None) -> date | None:
    """'weekly': Friday of the alert's week; on a weekend, the coming Friday."""
    if today is None:
        return None
    return today + timedelta(days=(FRIDAY - today.weekday()) % 7)


def next_friday(today: date | None) -> date | None:
    """'next week': Friday of the calendar week (Monday to Sunday) after the alert's; on a weekend, the coming one."""
    if today is None:
        return None
    return today + timedelta(days=FRIDAY - today.weekday() + 7)


# Beyond this many sessions (~4 years) "N dte" is not an expiry anyone trades; also keeps date arithmetic in range.
MAX_DTE = 1000


def trading_days_after(today: date | None, sessions: int) -> date | None:
    """'2dte': the weekday `sessions` trading days after the alert's day (0 is the day itself, as '0dte' is).
    From a weekend the count starts at the Friday before, so '1dte' on a Saturday is Monday."""
    if today is None or not 0 <= sessions <= MAX_DTE:
        return None
    if sessions == 0:
        return today
    start = today - timedelta(days=max(0, today.weekday() - FRIDAY))
    weeks, rest = divmod(sessions, 5)
    day = start + timedelta(weeks=weeks)
    while rest:
        day += timedelta(days=1)
        if day.weekday() <= FRIDAY:
            rest -= 1
    return day


def iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
