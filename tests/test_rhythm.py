"""Reading `every …` and the runs of a rhythm, in the author's zone, over clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rhythm import Rhythm, parse, split
from bot.when import BadTime, Unreadable

BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
FIFTEEN_MINUTES = timedelta(minutes=15)


def rhythm(text: str) -> Rhythm:
    return parse(text.split(), FIFTEEN_MINUTES)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def runs(text: str, start: datetime, zone: ZoneInfo, count: int) -> list[str]:
    found, moment = [], start
    for _ in range(count):
        moment = rhythm(text).following(moment, zone)
        found.append(local(moment, zone))
    return found


def test_the_group_words_come_before_every():
    assert split(["family", "every", "day", "at", "09:00"]) == (
        ["family"],
        ["every", "day", "at", "09:00"],
    )
    assert split(["every", "every", "6h"]) == (["every"], ["every", "6h"])  # a group `every`
    assert split(["every"]) == (["every"], [])
    assert split(["family", "every"]) == (["family"], ["every"])  # answered as unreadable
    assert split(["family", "every", "fortnight"]) == (["family"], ["every", "fortnight"])
    assert split(["family", "at", "18:00"]) == (["family", "at", "18:00"], [])


def test_a_period_runs_now_then_each_period():
    every_6h = rhythm("every 6h")
    now = utc(2026, 3, 28, 23)
    assert every_6h.first(now, BERLIN) == now
    assert every_6h.following(now, BERLIN) == now + timedelta(hours=6)
    assert rhythm("every 1h30m").period == timedelta(minutes=90)
    assert rhythm("every 2d").period == timedelta(days=2)


def test_a_period_shorter_than_allowed_is_refused_saying_the_shortest():
    with pytest.raises(BadTime) as refused:
        rhythm("every 5m")
    assert "15 minutes" in refused.value.reason
    assert parse(["every", "12s"], timedelta(seconds=10)).period == timedelta(seconds=12)


@pytest.mark.parametrize(
    "words",
    [
        "every",
        "every fortnight",
        "every day at 25:00",
        "every funday at 09:00",
        "every 0m",
        "every day at 09:00 until",
        "every day at 09:00 until someday at 8:00",
        "every 6h until 9:00",
        "every day at 09:00 extra",
    ],
)
def test_words_that_are_no_rhythm_are_unreadable(words):
    with pytest.raises(Unreadable):
        rhythm(words)


def test_a_day_rhythm_says_its_time():
    with pytest.raises(BadTime) as refused:
        rhythm("every weekday")
    assert not isinstance(refused.value, Unreadable)
    assert "at what time" in refused.value.reason


def test_a_day_rhythm_first_runs_at_the_next_such_moment():
    monday_8 = rhythm("every monday at 08:00")
    # Wednesday 2026-12-09 10:00 Berlin: the next Monday is the 14th
    assert local(monday_8.first(utc(2026, 12, 9, 9), BERLIN), BERLIN) == "Mon 2026-12-14 08:00 CET"
    # Monday itself, before 08:00: today
    assert local(monday_8.first(utc(2026, 12, 14, 6), BERLIN), BERLIN) == "Mon 2026-12-14 08:00 CET"


def test_weekdays_and_weekend_days():
    friday = utc(2026, 12, 11, 12)  # Friday 13:00 Berlin
    assert runs("every weekday at 08:00", friday, BERLIN, 3) == [
        "Mon 2026-12-14 08:00 CET",
        "Tue 2026-12-15 08:00 CET",
        "Wed 2026-12-16 08:00 CET",
    ]
    assert runs("every weekend day at 10:00", friday, BERLIN, 3) == [
        "Sat 2026-12-12 10:00 CET",
        "Sun 2026-12-13 10:00 CET",
        "Sat 2026-12-19 10:00 CET",
    ]


def test_nine_stays_nine_in_berlin_across_both_clock_changes():
    assert runs("every day at 09:00", utc(2026, 3, 28, 9), BERLIN, 2) == [
        "Sun 2026-03-29 09:00 CEST",  # clocks went forward at 02:00 that night
        "Mon 2026-03-30 09:00 CEST",
    ]
    assert runs("every day at 09:00", utc(2026, 10, 24, 8), BERLIN, 2) == [
        "Sun 2026-10-25 09:00 CET",  # and back at 03:00
        "Mon 2026-10-26 09:00 CET",
    ]


def test_a_run_in_the_spring_gap_moves_forward_by_the_gap_and_comes_back_the_next_day():
    daily = runs("every day at 02:30", utc(2026, 3, 28, 2), BERLIN, 3)
    assert daily == [
        "Sun 2026-03-29 03:30 CEST",  # 02:30 does not exist that day
        "Mon 2026-03-30 02:30 CEST",
        "Tue 2026-03-31 02:30 CEST",
    ]


def test_a_run_in_the_repeated_autumn_hour_happens_once():
    assert runs("every day at 02:30", utc(2026, 10, 24, 1), BERLIN, 2) == [
        "Sun 2026-10-25 02:30 CEST",  # the first 02:30 (before the clocks go back), once
        "Mon 2026-10-26 02:30 CET",
    ]


def test_sao_paulo_keeps_its_time_on_a_date_brazil_once_changed_clocks():
    # Brazil has had no daylight saving time since 2019: its runs stay at 09:00 -03 on the
    # first Sunday of November, when its clocks used to go forward
    assert runs("every sunday at 09:00", utc(2026, 10, 26, 12), SAO_PAULO, 2) == [
        "Sun 2026-11-01 09:00 -03",
        "Sun 2026-11-08 09:00 -03",
    ]


def test_sao_paulo_across_its_last_real_clock_change():
    # 2018-11-04: clocks went from 00:00 to 01:00 (-02); 00:30 did not exist that day
    assert runs("every day at 00:30", utc(2018, 11, 3, 12), SAO_PAULO, 2) == [
        "Sun 2018-11-04 01:30 -02",
        "Mon 2018-11-05 00:30 -02",
    ]
    # 2019-02-17: clocks went back from 00:00 to 23:00 (-03): 09:00 stays 09:00
    assert runs("every day at 09:00", utc(2019, 2, 16, 12), SAO_PAULO, 2) == [
        "Sun 2019-02-17 09:00 -03",
        "Mon 2019-02-18 09:00 -03",
    ]


def test_a_weekly_window_over_the_spring_change_in_berlin():
    window = rhythm("every friday at 18:00 until monday at 08:00")
    assert window.window
    start = window.first(utc(2026, 3, 25, 12), BERLIN)
    assert local(start, BERLIN) == "Fri 2026-03-27 18:00 CET"
    assert local(window.end_after(start, BERLIN), BERLIN) == "Mon 2026-03-30 08:00 CEST"
    assert local(window.following(start, BERLIN), BERLIN) == "Fri 2026-04-03 18:00 CEST"
    # 61 hours, not 62: that weekend had an hour less
    assert window.end_after(start, BERLIN) - start == timedelta(hours=61)


def test_a_weekly_window_over_the_autumn_change_in_berlin():
    window = rhythm("every friday at 18:00 until monday at 08:00")
    start = window.first(utc(2026, 10, 21, 12), BERLIN)
    assert local(window.end_after(start, BERLIN), BERLIN) == "Mon 2026-10-26 08:00 CET"
    assert window.end_after(start, BERLIN) - start == timedelta(hours=63)


def test_a_daily_window_ends_the_same_day():
    window = rhythm("every weekday at 09:00 until 17:00")
    start = window.first(utc(2026, 12, 11, 12), BERLIN)
    assert local(window.end_after(start, BERLIN), BERLIN) == "Mon 2026-12-14 17:00 CET"


def test_a_window_that_runs_into_the_next_start_is_refused():
    with pytest.raises(BadTime) as refused:
        rhythm("every day at 09:00 until friday at 08:00")
    assert "before the next run" in refused.value.reason


def test_after_a_long_outage_only_the_latest_run_is_left():
    daily = rhythm("every day at 09:00")
    due = utc(2026, 1, 5, 8)  # Mon 09:00 Berlin
    now = utc(2026, 6, 10, 7, 30)  # months later, 09:30 Berlin (CEST)
    assert local(daily.latest(due, now, BERLIN), BERLIN) == "Wed 2026-06-10 09:00 CEST"
    assert daily.latest(due, due, BERLIN) == due
    every_6h = rhythm("every 6h")
    assert every_6h.latest(due, due + timedelta(hours=13), BERLIN) == due + timedelta(hours=12)
