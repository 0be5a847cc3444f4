"""Reading `every …` (a recurring change's rhythm) and working out its runs (pure: the caller
gives the moments, the zone and the shortest period allowed).

    every 6h | every 30m | every 2d | every 1h30m   from now, then each period after
    every day at 09:00                              each day at 09:00
    every monday at 08:00                           each Monday (any day of the week)
    every weekday at 08:00                          Monday to Friday
    every weekend day at 10:00                      Saturday and Sunday
    every friday at 18:00 until monday at 08:00     a window: the picture goes up at each start,
                                                    the earlier one comes back at the next end

Times of day are read in the author's zone and stay in it across clock changes: 09:00 is 09:00
local time before and after the switch. A time the clocks skip moves forward by the gap, a time
that exists twice is the first (bot/when.py `local`), so a day's run never happens twice.

The words are kept as written (`said`, lower case) and read again when the store is read, so
the store holds nothing but the words and the zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import texts
from bot.when import BadTime, Unreadable, clock_of, local, span_of

KEYWORD = "every"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALL_DAYS = frozenset(range(7))
#: the furthest apart two runs of a day rhythm can be, plus a day of slack for clock changes
_WEEK = timedelta(days=8)


@dataclass(frozen=True)
class Rhythm:
    """Either a period (`every 6h`) or days of the week at a time of day, with an optional
    end of a window (`until monday at 08:00`)."""

    said: str
    period: timedelta | None = None
    days: frozenset[int] = _ALL_DAYS
    clock: time | None = None
    until_days: frozenset[int] = _ALL_DAYS
    until_clock: time | None = None

    @property
    def window(self) -> bool:
        """Whether the earlier picture comes back after each run."""
        return self.until_clock is not None

    def first(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first run: now for a period, else the next such moment."""
        return now if self.period is not None else self.following(now, zone)

    def following(self, after: datetime, zone: ZoneInfo) -> datetime:
        """The first run strictly after `after` (a run's moment, or now)."""
        if self.period is not None:
            return after + self.period
        assert self.clock is not None
        return _next_local(self.days, self.clock, after, zone)

    def end_after(self, start: datetime, zone: ZoneInfo) -> datetime:
        """When the earlier picture comes back after the run at `start` (a window's)."""
        assert self.until_clock is not None
        return _next_local(self.until_days, self.until_clock, start, zone)

    def latest(self, due: datetime, now: datetime, zone: ZoneInfo) -> datetime:
        """The last run due at or before `now`, counting from the run `due` (not after `now`):
        after a long outage, the one run that may still be made; those before it are skipped,
        never made up one after another."""
        if self.period is not None:
            return due + self.period * ((now - due) // self.period)
        cursor = due
        if now - due > _WEEK:  # no need to walk through a year of days
            cursor = self.following(now - _WEEK, zone)
        while (after := self.following(cursor, zone)) <= now:
            cursor = after
        return cursor


def split(args: list[str]) -> tuple[list[str], list[str]]:
    """The words before `every` (the group), and the rhythm's words: from the first `every`
    whose rest reads as a rhythm, else from the first `every` (then answered as unreadable),
    unless that `every` is the only word: a name (as bot/when.py `split`)."""
    starts = [index for index, word in enumerate(args) if word.lower() == KEYWORD]
    for start in starts:
        try:
            parse(args[start:], timedelta(0))
        except Unreadable:
            continue
        except BadTime:
            pass
        return args[:start], args[start:]
    if starts and len(args) > 1:
        return args[: starts[0]], args[starts[0] :]
    return args, []


def parse(words: list[str], shortest: timedelta) -> Rhythm:
    """The rhythm `every …` says; Unreadable for words that are not one, BadTime for a period
    shorter than `shortest` or a window that does not end before the next run."""
    said = " ".join(word.lower() for word in words)
    unreadable = Unreadable(texts.unreadable_rhythm(said))
    rest = said.split()
    if len(rest) < 2 or rest[0] != KEYWORD:
        raise unreadable
    rest.pop(0)
    if len(rest) == 1 and rest[0][:1].isdigit():
        period = span_of(rest[0], unreadable)
        if period < shortest:
            raise BadTime(texts.every_too_often(_minutes(shortest)))
        return Rhythm(said, period=period)
    days = _days(rest, unreadable)
    clock = _at(rest, unreadable)
    if not rest:
        return Rhythm(said, days=days, clock=clock)
    if rest.pop(0) != "until" or not rest:
        raise unreadable
    until_days = _days(rest, unreadable) if rest[0] != "at" and len(rest) > 1 else _ALL_DAYS
    until_clock = _at(rest, unreadable) if rest[0] == "at" else clock_of(rest.pop(0), unreadable)
    if rest:
        raise unreadable
    rhythm = Rhythm(said, days=days, clock=clock, until_days=until_days, until_clock=until_clock)
    _check_window(rhythm)
    return rhythm


def _days(rest: list[str], unreadable: Unreadable) -> frozenset[int]:
    """The days named at the start of `rest` (taken from it)."""
    word = rest.pop(0) if rest else ""
    if word == "day":
        return _ALL_DAYS
    if word == "weekday":
        return frozenset(range(5))
    if word == "weekend" and rest[:1] == ["day"]:
        rest.pop(0)
        return frozenset({5, 6})
    if word in WEEKDAYS:
        return frozenset({WEEKDAYS.index(word)})
    raise unreadable


def _at(rest: list[str], unreadable: Unreadable) -> time:
    """`at HH:MM` at the start of `rest` (taken from it): a day rhythm says its time."""
    if len(rest) < 2 or rest[0] != "at":
        raise BadTime(texts.SAY_WHAT_TIME) if not rest else unreadable
    rest.pop(0)
    return clock_of(rest.pop(0), unreadable)


def _check_window(rhythm: Rhythm) -> None:
    """A window ends before the next run starts (else the restore undoes the next picture)."""
    zone = ZoneInfo("UTC")
    start = rhythm.following(datetime(2000, 1, 3, tzinfo=UTC), zone)  # any week will do
    if rhythm.end_after(start, zone) >= rhythm.following(start, zone):
        raise BadTime(texts.WINDOW_OVERLAPS)


def _next_local(days: frozenset[int], clock: time, after: datetime, zone: ZoneInfo) -> datetime:
    today = after.astimezone(zone).date()
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if day.weekday() in days:
            moment = local(day, clock, zone)
            if moment > after:
                return moment
    raise AssertionError("every week has each weekday")  # pragma: no cover


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g}"


__all__ = ["KEYWORD", "Rhythm", "parse", "split"]
