"""Numbers and dates follow the report's language: one helper (report/i18n.py) for every format."""

from datetime import date, datetime, timezone

import pytest

from hardencheck.report import i18n


@pytest.mark.parametrize("x,digits,en,de", [
    (1234.5, None, "1,234.5", "1.234,5"),
    (1234567, None, "1,234,567", "1.234.567"),
    (0.0, 1, "0.0", "0,0"),
    (5, 1, "5.0", "5,0"),
    (99.95, 1, "100.0", "100,0"),
    (-1234.567, 2, "-1,234.57", "-1.234,57"),
    (12, None, "12", "12"),
])
def test_numbers(x, digits, en, de):
    assert i18n.num(x, "en", digits) == en
    assert i18n.num(x, "de", digits) == de


def test_percent_and_days_use_the_same_rule():
    assert i18n.pct(0.0, "de") == "0,0 %" and i18n.pct(0.0, "en") == "0.0 %"
    assert i18n.pct(None, "de") == "—"
    assert i18n.days(5, "de") == "5,0 Tage" and i18n.days(5, "en") == "5.0 days"
    assert i18n.days(1, "de") == "1,0 Tag" and i18n.days(1, "en") == "1.0 day"


@pytest.mark.parametrize("value,en,de", [
    ("2026-12-06", "2026-12-06", "06.12.2026"),
    ("2026-12-06T23:59:59.123Z", "2026-12-06", "06.12.2026"),
    (date(2026, 1, 2), "2026-01-02", "02.01.2026"),
    (datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "2026-01-02", "02.01.2026"),
    (None, "—", "—"),
    ("not a date", "not a date", "not a date"),
])
def test_dates(value, en, de):
    assert i18n.date(value, "en") == en and i18n.date(value, "de") == de


def test_timestamps_are_utc_in_both_languages():
    assert i18n.timestamp("2026-12-06T14:03:05.123Z", "en") == "2026-12-06 14:03:05 UTC"
    assert i18n.timestamp("2026-12-06T14:03:05.123Z", "de") == "06.12.2026 14:03:05 UTC"
    assert i18n.timestamp("2026-12-06T16:03:05+02:00", "de") == "06.12.2026 14:03:05 UTC"
    assert i18n.timestamp("2026-12-06T14:03:05Z", "de", seconds=False) == "06.12.2026 14:03 UTC"
    assert i18n.timestamp("garbage", "de") == "garbage"
