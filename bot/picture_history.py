"""Picture history: what a target had before each change the bot made, and what it set.

Before a change runs, the current picture is read where the provider can, and its bytes are
downloaded at once (WhatsApp picture URLs expire), prepared like any picture (<= 100 KB) and
kept with the change. A provider that cannot read pictures still has the pictures the bot set
itself; a failed or slow read never holds the change up: the earlier picture is then unknown.
When the change is made, the picture it set becomes the "after"; the target keeps its last
`keep` changes. bot/changes.py calls `before` and `settle`; undo and restore read `latest`.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from adapters import Capability, PictureResult, PreparedPicture
from adapters.http import tls_context
from bot.domain import Action, Before, Change, PictureRecord, target_key
from bot.images import MAX_DOWNLOAD_BYTES, ImageRefused, prepare_picture_async
from bot.store import Store

log = logging.getLogger(__name__)

#: what a reading found: the state, and the prepared picture when there is one
Reading = tuple[Before, PreparedPicture | None]


class PictureHistory:
    def __init__(self, store: Store, *, keep: int, timeout: float) -> None:
        self._store = store
        self.keep = keep
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=True, verify=tls_context())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def latest(self, change_target: Change | str, limit: int = 1) -> list[PictureRecord]:
        key = change_target if isinstance(change_target, str) else target_key(change_target.target)
        return await self._store.pictures.latest(key, limit)

    async def before(self, operation_id: int, change: Change) -> None:
        """Read and keep what the target has now, before `change` runs (once per change: a
        resumed change keeps its first reading)."""
        if await self._store.pictures.began(operation_id):
            return
        state, picture = await self._read(change)
        target = change.target
        await self._store.pictures.begin(
            operation_id=operation_id,
            target_key=target_key(target),
            target=target.audit_name,
            group_id=target.group.id if target.group else None,
            provider=target.provider.name,
            action=change.action.value,
            how=change.how,
            actor_id=change.actor.user_id,
            actor_name=change.actor.name,
            before_state=state,
            before_jpeg=picture.jpeg if picture else None,
            before_side=picture.side if picture else None,
        )

    async def settle(self, operation_id: int, change: Change, result: PictureResult) -> None:
        """The change ended with `result`; join the caller's transaction."""
        picture = None if change.action is Action.DELETE_GROUP_PICTURE else change.picture
        await self._store.pictures.settle(
            operation_id,
            made=result.ok,
            after_jpeg=picture.jpeg if picture else None,
            after_side=picture.side if picture else None,
            after_url=result.url,
            keep=self.keep,
        )

    async def _read(self, change: Change) -> Reading:
        last = await self.latest(change)
        known: Reading = (Before.UNKNOWN, None)
        if last:
            known = _after(last[0])
        target = change.target
        provider, group = target.provider, target.group
        if not provider.can(Capability.GET_GROUP if group else Capability.GET_OWN):
            return known
        try:
            async with asyncio.timeout(self._timeout):
                if group is not None:
                    result = await provider.get_group_picture(group.chat_id)
                else:
                    result = await provider.get_own_picture()
                if not result.ok:
                    return Before.UNKNOWN, None
                if result.image is not None:  # the provider handed the picture itself
                    return Before.PICTURE, await prepare_picture_async(result.image)
                if not result.url:
                    return Before.NONE, None
                if last and last[0].after_url == result.url:
                    return known  # the picture the bot set last: its bytes are kept already
                data = await self.download(result.url)
            return Before.PICTURE, await prepare_picture_async(data)
        except (TimeoutError, httpx.HTTPError, ImageRefused, ValueError) as error:
            log.info("the picture before a change of %s is unknown: %s", target.audit_name, error)
            return Before.UNKNOWN, None

    async def download(self, url: str) -> bytes:
        """A picture's bytes from its URL (at most MAX_DOWNLOAD_BYTES; ValueError beyond)."""
        async with self._http.stream("GET", url) as response:
            response.raise_for_status()
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_DOWNLOAD_BYTES:
                    raise ValueError("the earlier picture is too big")
            return bytes(data)


def _after(record: PictureRecord) -> Reading:
    if record.after_jpeg is None or record.after_side is None:
        return Before.NONE, None
    return Before.PICTURE, PreparedPicture(record.after_jpeg, record.after_side)


def before_picture(record: PictureRecord) -> PreparedPicture | None:
    if record.before_jpeg is None or record.before_side is None:
        return None
    return PreparedPicture(record.before_jpeg, record.before_side)


def after_picture(record: PictureRecord) -> PreparedPicture | None:
    return _after(record)[1]
