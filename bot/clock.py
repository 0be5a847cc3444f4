"""The one clock: every part of the bot that reads the time (the store's timestamps, leases,
proposal expiry, the scheduler, photo waits, shared media links) asks the `Clock` the wiring
built, so that tests move one fake clock instead of waiting on the wall clock.

Intervals measured for pacing and retries (`time.monotonic`) are not times of day and stay on
the event loop's own clock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


def stamp(moment: datetime) -> str:
    """The store's timestamp format (ISO 8601 in UTC, whole seconds), which sorts as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Clock:
    """The wall clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def stamp(self) -> str:
        """Now, in the store's timestamp format."""
        return stamp(self.now())

    async def sleep_until(self, moment: datetime) -> None:
        """Wait until this clock reads `moment` (a deadline, not a duration: time that passes
        between computing it and starting to wait is not waited again)."""
        await asyncio.sleep(max((moment - self.now()).total_seconds(), 0.0))
