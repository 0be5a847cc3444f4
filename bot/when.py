"""Reading `at <when>` / `until <when>` / `in 2h` in a person's time zone (pure: the caller
gives the time now).

    at 18:00              the next 18:00 (today's, or tomorrow's once it has passed)
    at tomorrow 9:00      tomorrow at 9:00 (also: today 9:00)
    at 2026-12-24 18:00   that day and time
    in 2h | in 30m | in 45s | in 1d | in 1h30m    from now (`at in 2h` is the same)
    until <any of these>  when the earlier picture comes back

The time is the first `at`, `in` or `until` from which the rest of the command reads as a time;
the words before it name the group. So a group called `at`, `in` or `until` is named as usual
before its time (`in in 2h`, `until at 18:00`) or alone (`at`).

Local times on a clock change day: a time that does not exist (the hour skipped in spring,
Europe/Berlin 2026-03-29 02:30) moves forward by the gap (03:30 CEST); a time that exists twice
(the hour repeated in autumn, 2026-10-25 02:30) is the first one (CEST, before the clocks go
back). Both are what Python's zoneinfo gives with `fold=0`, and the unit tests pin them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import texts
from bot.clock import stamp

#: the words that start the time part of a command
KEYWORDS = ("at", "in", "until")
_CLOCK = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SPAN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
#: the furthest ahead a change may be scheduled
HORIZON = timedelta(days=366)


class BadTime(Exception):
    """A time the bot cannot use; `reason` is a plain sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreadable(BadTime):
    """Words the bot does not read as a time at all (not a time it read and cannot use)."""


#: any moment and zone: whether words read as a time does not depend on them
_ANY_NOW = datetime(2000, 1, 1, tzinfo=UTC)
_ANY_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class When:
    """When a change runs (None: now) and when its earlier picture comes back (None: never);
    both in UTC."""

    at: datetime | None = None
    until: datetime | None = None

    def stored(self) -> tuple[str | None, str | None]:
        """(at, until) as the store keeps them: ISO in UTC."""
        return _iso(self.at), _iso(self.until)

    @classmethod
    def from_stored(cls, at: str | None, until: str | None) -> When:
        return cls(
            datetime.fromisoformat(at) if at else None,
            datetime.fromisoformat(until) if until else None,
        )


def _iso(moment: datetime | None) -> str | None:
    return stamp(moment) if moment else None


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called `name`; BadTime for an unknown one."""
    if not name or name.startswith(("/", ".")) or ".." in name or len(name) > 64:
        raise BadTime(texts.unknown_zone(name[:64]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadTime(texts.unknown_zone(name)) from None


def split(args: list[str]) -> tuple[list[str], list[str]]:
    """The words that name the group (or provider, or list), and the time words: from the
    first keyword whose rest reads as a time. When no rest reads, from the first keyword (its
    time is then answered as unreadable), unless that keyword is the only word: a name."""
    starts = [index for index, word in enumerate(args) if word.lower() in KEYWORDS]
    for start in starts:
        if _readable(args[start:]):
            return args[:start], args[start:]
    if starts and len(args) > 1:
        return args[: starts[0]], args[starts[0] :]
    return args, []


def _readable(words: list[str]) -> bool:
    try:
        parse(words, _ANY_NOW, _ANY_ZONE)
    except Unreadable:
        return False
    except BadTime:  # read, but past or too far: still a time
        return True
    return True


def parse(words: list[str], now: datetime, zone: ZoneInfo) -> When | None:
    """The `When` the time words say (None when there are none); BadTime when they say
    nothing the bot can use: words it does not read, a time past, `until` not after `at`."""
    if not words:
        return None
    now = now.astimezone(UTC)
    found: dict[str, datetime] = {}
    rest = [word.lower() for word in words]
    while rest:
        keyword = rest.pop(0)
        if keyword == "in":  # `in 2h` is `at in 2h`
            rest.insert(0, "in")
            keyword = "at"
        if keyword not in ("at", "until") or keyword in found:
            raise Unreadable(texts.unreadable_time(" ".join(words)))
        taken = _taken(rest)
        try:
            found[keyword] = _moment(rest[:taken], now, zone, " ".join(words))
        except OverflowError:  # beyond the year 9999: a span of 999999999 days, a far date
            raise BadTime(texts.too_far(HORIZON.days)) from None
        del rest[:taken]
    at, until = found.get("at"), found.get("until")
    for moment in (at, until):
        if moment is not None and moment <= now:
            raise BadTime(texts.time_past(texts.local_time(moment, zone)))
        if moment is not None and moment - now > HORIZON:
            raise BadTime(texts.too_far(HORIZON.days))
    if at is not None and until is not None and until <= at:
        raise BadTime(texts.until_before_at(texts.local_time(until, zone)))
    return When(at, until)


def local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """`day` at `clock` in `zone`, in UTC: a time skipped by the clocks going forward moves
    forward by the gap; a time that exists twice is the first (zoneinfo's fold=0)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _taken(rest: list[str]) -> int:
    """How many words the next time takes: up to the next keyword, at most two."""
    count = 0
    while count < len(rest) and count < 2 and (count == 0 or rest[count] not in KEYWORDS):
        count += 1
    return count


def _moment(words: list[str], now: datetime, zone: ZoneInfo, said: str) -> datetime:
    unreadable = Unreadable(texts.unreadable_time(said))
    if not words:
        raise unreadable
    if words[0] == "in":
        if len(words) != 2:
            raise unreadable
        return now + span_of(words[1], unreadable)
    today = now.astimezone(zone).date()
    if len(words) == 1:
        clock = clock_of(words[0], unreadable)
        moment = local(today, clock, zone)
        return moment if moment > now else local(today + timedelta(days=1), clock, zone)
    day_word, clock_word = words
    if day_word == "today":
        day = today
    elif day_word == "tomorrow":
        day = today + timedelta(days=1)
    elif match := _DATE.match(day_word):
        try:
            day = date(*(int(part) for part in match.groups()))
        except ValueError:
            raise unreadable from None
    else:
        raise unreadable
    return local(day, clock_of(clock_word, unreadable), zone)


def clock_of(word: str, unreadable: Unreadable) -> time:
    match = _CLOCK.match(word)
    if match is None:
        raise unreadable
    hour, minute = (int(part) for part in match.groups())
    if hour > 23 or minute > 59:
        raise unreadable
    return time(hour, minute)


def span_of(word: str, unreadable: Unreadable) -> timedelta:
    match = _SPAN.match(word)
    if match is None or not any(match.groups()):
        raise unreadable
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not span:
        raise unreadable
    return span
