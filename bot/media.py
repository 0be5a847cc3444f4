"""Short-lived signed links to prepared pictures, for providers that download them (Wasend).

A token is `<id>.<expiry>.<signature>`: a random id, the expiry in milliseconds of the store's
clock, and an HMAC-SHA256 over both. Pictures live in memory only as long as their link.
The clock is monotonic by default: links are only valid inside this process anyway (memory),
and a monotonic clock cannot be moved back by a wall-clock change.

Several instances behind one balancer (a PostgreSQL store) use `SharedMediaStore`: the pictures
are in the store, the secret comes from the config (`server.media_secret`) and the clock is the
wall clock, so any instance serves a link another one made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.media import MediaTable


@dataclass(frozen=True)
class Published:
    """A picture found by its token, and how many seconds its link still lives."""

    jpeg: bytes
    seconds_left: float


class MediaStore:
    """Keep pictures for `ttl_seconds` behind unguessable, signed, expiring links."""

    def __init__(
        self,
        secret: bytes | None,
        public_url: str,
        ttl_seconds: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`secret` None means a random one for this process; `public_url` is the bot's base."""
        if not public_url.startswith(("https://", "http://")):
            raise ValueError(f"public_url must be an http(s) URL, not {public_url!r}")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._secret = secret or secrets.token_bytes(32)
        self._base = public_url.rstrip("/")
        self._ttl = ttl_seconds
        self._clock = clock
        self._pictures: dict[str, tuple[float, bytes]] = {}  # id -> (expiry, jpeg)

    def publish(self, jpeg: bytes) -> str:
        """Keep `jpeg` and return its public link."""
        self.purge()
        picture_id, expiry, link = self._new_link()
        self._pictures[picture_id] = (expiry, jpeg)
        return link

    def lookup(self, token: str) -> Published | None:
        """The picture behind a valid token; None when expired, forged or unknown."""
        verified = self._verified(token)
        entry = self._pictures.get(verified[0]) if verified else None
        if verified is None or entry is None:
            self.purge()
            return None
        return Published(entry[1], verified[1])

    async def publish_async(self, jpeg: bytes) -> str:
        """`publish`, for callers that serve both kinds of store."""
        return self.publish(jpeg)

    async def lookup_async(self, token: str) -> Published | None:
        """`lookup`, for callers that serve both kinds of store."""
        return self.lookup(token)

    def _new_link(self) -> tuple[str, float, str]:
        """A new picture id, its expiry (the clock's seconds) and its signed link."""
        picture_id = secrets.token_urlsafe(16)
        expiry_ms = int((self._clock() + self._ttl) * 1000)
        signed = f"{picture_id}.{expiry_ms}"
        return picture_id, expiry_ms / 1000, f"{self._base}/media/{signed}.{self._sign(signed)}"

    def _verified(self, token: str) -> tuple[str, float] | None:
        """The picture id of a token signed here and not expired, with its seconds left."""
        signed, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(signed).encode()):
            return None
        picture_id, _, expiry_ms = signed.partition(".")
        left = int(expiry_ms) / 1000 - self._clock()
        return (picture_id, left) if left > 0 else None

    def get(self, token: str) -> bytes | None:
        """The JPEG behind a valid token; None when expired, forged or unknown."""
        published = self.lookup(token)
        return published.jpeg if published else None

    def purge(self) -> None:
        """Forget every picture whose link has expired."""
        now = self._clock()
        for picture_id in [key for key, (expiry, _) in self._pictures.items() if expiry <= now]:
            del self._pictures[picture_id]

    def __len__(self) -> int:
        """How many pictures are kept (expired ones until the next purge)."""
        return len(self._pictures)

    def _sign(self, signed: str) -> str:
        digest = hmac.new(self._secret, signed.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SharedMediaStore(MediaStore):
    """Pictures in the store (`media` table), so that every instance serves every link: the
    secret must be the same on all of them (from the config), and the clock is the wall clock.
    Only the async methods keep pictures in the store."""

    def __init__(
        self,
        secret: bytes,
        public_url: str,
        table: Callable[[], Awaitable[MediaTable]],
        ttl_seconds: float = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`table` gives the store's media table once the store is open."""
        super().__init__(secret, public_url, ttl_seconds, clock)
        self._table = table

    async def publish_async(self, jpeg: bytes) -> str:
        table = await self._table()
        await table.purge(self._clock())
        picture_id, expiry, link = self._new_link()
        await table.put(picture_id, jpeg, expiry)
        return link

    async def lookup_async(self, token: str) -> Published | None:
        verified = self._verified(token)
        if verified is None:
            return None
        jpeg = await (await self._table()).get(verified[0], self._clock())
        return Published(jpeg, verified[1]) if jpeg is not None else None
