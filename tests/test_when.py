"""Reading `at` / `until` / `in` times in a person's zone, against an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.when import BadTime, When, parse, split, zone_named

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")
#: Saturday 2026-12-19 12:00 UTC (15:00 in Moscow)
NOW = datetime(2026, 12, 19, 12, 0, tzinfo=UTC)


def at(text: str, now: datetime = NOW, zone: ZoneInfo = MOSCOW) -> When:
    found = parse(text.split(), now, zone)
    assert found is not None
    return found


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_group_words_come_before_the_time_words():
    assert split(["family", "at", "18:00", "until", "tomorrow", "9:00"]) == (
        ["family"],
        ["at", "18:00", "until", "tomorrow", "9:00"],
    )
    assert split(["family,", "work"]) == (["family,", "work"], [])
    assert parse([], NOW, MOSCOW) is None


def test_spans_count_from_now():
    assert at("in 2h") == When(NOW + timedelta(hours=2))
    assert at("in 30m") == When(NOW + timedelta(minutes=30))
    assert at("in 45s") == When(NOW + timedelta(seconds=45))
    assert at("in 1h30m") == When(NOW + timedelta(hours=1, minutes=30))
    assert at("at in 1d") == When(NOW + timedelta(days=1))


def test_a_clock_time_is_the_next_one_in_the_readers_zone():
    assert at("at 18:00") == When(utc(2026, 12, 19, 15, 0))  # 18:00 Moscow is still ahead
    assert at("at 9:00") == When(utc(2026, 12, 20, 6, 0))  # 9:00 Moscow has passed today
    assert at("at 18:00", zone=ZoneInfo("UTC")) == When(utc(2026, 12, 19, 18, 0))


def test_today_tomorrow_and_a_date():
    assert at("at tomorrow 9:00") == When(utc(2026, 12, 20, 6, 0))
    assert at("at today 23:30") == When(utc(2026, 12, 19, 20, 30))
    assert at("at 2026-12-24 18:00 until 2026-12-27 09:00") == When(
        utc(2026, 12, 24, 15, 0), utc(2026, 12, 27, 6, 0)
    )


def test_until_alone_means_now_and_back_then():
    assert at("until in 2h") == When(None, NOW + timedelta(hours=2))
    assert at("until tomorrow 9:00") == When(None, utc(2026, 12, 20, 6, 0))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("at 2026-12-18 18:00", "has passed already"),
        ("at today 10:00", "has passed already"),
        ("until 2026-12-01 10:00", "has passed already"),
        ("at 2026-12-24 18:00 until 2026-12-24 17:00", "before the change itself"),
        ("at in 2h until in 1h", "before the change itself"),
        ("at 25:00", "can't read the time"),
        ("at someday", "can't read the time"),
        ("in 2 hours", "can't read the time"),
        ("in 0s", "can't read the time"),
        ("at 2026-02-30 10:00", "can't read the time"),
        ("at 18:00 at 19:00", "can't read the time"),
        ("at", "can't read the time"),
        ("in 400d", "at most 366 days ahead"),
    ],
)
def test_times_the_bot_cannot_use_are_refused_plainly(text: str, words: str):
    with pytest.raises(BadTime) as refused:
        parse(text.split(), NOW, MOSCOW)
    assert words in refused.value.reason


def test_zones_are_iana_names():
    assert zone_named("America/Sao_Paulo").key == "America/Sao_Paulo"
    for name in ("Mars/Olympus", "../../etc/passwd", "", "Europe/"):
        with pytest.raises(BadTime, match="no time zone called"):
            zone_named(name)


def test_a_time_the_spring_clock_change_skips_moves_forward_by_the_gap():
    # Europe/Berlin, Sunday 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist
    before = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
    skipped = at("at 2026-03-29 02:30", before, BERLIN).at
    assert skipped == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert skipped is not None and skipped.astimezone(BERLIN).hour == 3
    assert at("at 2026-03-29 01:30", before, BERLIN).at == utc(2026, 3, 29, 0, 30)  # CET
    assert at("at 2026-03-29 03:30", before, BERLIN).at == utc(2026, 3, 29, 1, 30)  # CEST
    # the day has 23 hours: "tomorrow 9:00" is 07:00 UTC, not 08:00
    assert at("at tomorrow 9:00", before, BERLIN).at == utc(2026, 3, 29, 7, 0)


def test_a_time_the_autumn_clock_change_repeats_is_the_first_one():
    # Europe/Berlin, Sunday 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    before = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    assert at("at 2026-10-25 02:30", before, BERLIN).at == utc(2026, 10, 25, 0, 30)  # CEST
    assert at("at 2026-10-25 03:30", before, BERLIN).at == utc(2026, 10, 25, 2, 30)  # CET
    # after the first 02:30 the next "2:30" is tomorrow's: the repeated one is never chosen
    between = utc(2026, 10, 25, 0, 45)
    assert at("at 2:30", between, BERLIN).at == utc(2026, 10, 26, 1, 30)


def test_a_group_called_at_in_or_until_is_named_before_its_time_or_alone():
    assert split(["at"]) == (["at"], [])
    assert split(["in", "in", "2h"]) == (["in"], ["in", "2h"])
    assert split(["until", "at", "18:00"]) == (["until"], ["at", "18:00"])
    assert split(["family", "until", "in", "3h"]) == (["family"], ["until", "in", "3h"])
    assert split(["in", "2h"]) == ([], ["in", "2h"])  # no group named: the linked chat's
    # no rest reads as a time: the time starts at the first keyword, and is answered as such
    assert split(["family", "at", "25:00"]) == (["family"], ["at", "25:00"])
    assert split(["family", "at"]) == (["family"], ["at"])


@pytest.mark.parametrize(
    "words", ["in 999999999d", "in 99999999999999999999h", "at 9999-12-31 23:59"]
)
def test_times_beyond_the_year_9999_are_too_far_ahead(words: str):
    with pytest.raises(BadTime, match="at most 366 days ahead"):
        parse(words.split(), NOW, ZoneInfo("America/New_York"))
