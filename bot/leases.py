"""Which instance of the bot runs which open change, when several share one store.

Each instance has a name. The instance that writes a change down claims it for a lease (a
time in the store), renews the leases it holds while it lives, and, now and then, takes over
the open changes whose lease ran out: their instance died (or stopped) before finishing them.
One instance alone on its store (SQLite) takes up every open change at start-up instead.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

from bot.clock import Clock, stamp
from bot.store.operations import Claim

#: the default lease: an instance that stops renewing loses its changes this long after
DEFAULT_LEASE = timedelta(seconds=10)
#: the longest between two looks for changes to take over (expired, or handed back at a stop)
LOOK_EVERY_SECONDS = 2.0
#: the most open changes one look for expired leases takes over
TAKE_OVER_AT_ONCE = 20


def instance_name() -> str:
    """This process's name in `operations.claimed_by`: host, pid, and a random part (a pid is
    reused after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Leases:
    def __init__(
        self,
        lease: timedelta = DEFAULT_LEASE,
        *,
        owner: str | None = None,
        clock: Clock,
    ) -> None:
        self.lease = lease
        self.owner = owner or instance_name()
        self._clock = clock

    def claim(self) -> Claim:
        """A claim by this instance for one lease from now."""
        return Claim(self.owner, self.until())

    def until(self) -> str:
        """One lease from now, in the store's format."""
        return stamp(self._clock.now() + self.lease)

    def now(self) -> str:
        return self._clock.stamp()

    @property
    def renew_every(self) -> float:
        """How often to renew: well within one lease."""
        return self.lease.total_seconds() / 3

    @property
    def look_every(self) -> float:
        """How often to look for changes to take over."""
        return min(LOOK_EVERY_SECONDS, self.renew_every)
