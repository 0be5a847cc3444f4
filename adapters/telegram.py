"""Telegram chats as targets: the photo of a group, supergroup or channel the bot administers.

It speaks the Bot API with the bot's own token and API base URL (config.py copies them from
`telegram:`). Every method URL and every file URL carries the token, so neither is ever quoted:
a chat's photo is handed on as bytes (`PictureResult.image`), not as a link.

Telegram answers `{"ok": false, "error_code", "description", "parameters"}`; the description is
the only reason it gives ("Bad Request: not enough rights to change chat photo"), so it is
matched by its words. `deleteChatPhoto` on a chat without a photo answers CHAT_NOT_MODIFIED:
the photo is gone, which is what was asked.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import SecretStr, field_validator

from adapters.base import (
    Capability,
    FailureKind,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
)
from adapters.http import ProviderHttp, ProviderUnreachable, Reply, common_failure, returns_result

#: a group, supergroup or channel: a negative number (supergroups and channels -100…), ASCII
#: digits without a leading zero, within the 52 bits Telegram's ids fit in
_CHAT_ID = re.compile(r"-[1-9][0-9]{0,15}")
CHAT_ID_EXAMPLE = "a Telegram group's id is a negative number such as -1001234567890"
NO_PICTURE = "no photo set"
NO_LINK = "this Telegram chat has no public link: /grouppic sends its photo itself"
#: the member statuses that may change a chat's photo (an administrator needs can_change_info)
_OWNER = "creator"
_ADMIN = "administrator"
#: words of Telegram's descriptions: (failure kind, what it means); {chat} is the chat id
_MEANINGS: tuple[tuple[tuple[str, ...], FailureKind, str], ...] = (
    (
        ("not enough rights", "chat_admin_required", "need administrator rights"),
        FailureKind.NOT_ALLOWED,
        "the bot is not an administrator of Telegram chat {chat} with the right to change"
        " its info: make it an administrator with the right to change the group's info",
    ),
    (
        ("bot is not a member", "bot was kicked", "chat not found", "peer_id_invalid"),
        FailureKind.NOT_FOUND,
        "the bot is not a member of Telegram chat {chat}, or no such chat exists:"
        " add the bot to the chat as an administrator",
    ),
    (
        ("private chat",),
        FailureKind.BAD_REQUEST,
        "Telegram chat {chat} is a private chat, whose photo a bot cannot change",
    ),
    (
        ("photo_", "image_process_failed"),
        FailureKind.BAD_IMAGE,
        "Telegram refused the picture ({said})",
    ),
)
_QUOTE_LIMIT = 120


class TelegramTargetSettings(ProviderSettings):
    kind: Literal["telegram"]
    #: the bot's own token and Bot API server: config.py fills them from `telegram:`
    token: SecretStr
    api_base_url: str = "https://api.telegram.org"

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class TelegramProvider(Provider):
    """Set, remove and read the photo of Telegram chats the bot administers."""

    kind: ClassVar[str] = "telegram"
    label: ClassVar[str] = "Telegram"
    settings_model: ClassVar[type[ProviderSettings]] = TelegramTargetSettings
    capabilities: ClassVar[Capability] = (
        Capability.SET_GROUP | Capability.DELETE_GROUP | Capability.GET_GROUP
    )
    settings: TelegramTargetSettings

    def __init__(self, name: str, settings: TelegramTargetSettings) -> None:
        super().__init__(name, settings)
        self._token = settings.token.get_secret_value()
        self._bot_id = self._token.split(":", 1)[0]
        self._http = ProviderHttp(self.label, settings.api_base_url, settings.timeout_seconds)

    def check_group_id(self, chat_id: str) -> str | None:
        if _CHAT_ID.fullmatch(chat_id):
            return None
        if _CHAT_ID.fullmatch(f"-{chat_id}"):
            return f"that is a person's chat; {CHAT_ID_EXAMPLE}"
        if chat_id.startswith("@"):
            return f"use the chat's numeric id, not its username; {CHAT_ID_EXAMPLE}"
        return CHAT_ID_EXAMPLE

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        await self._call(
            "setChatPhoto",
            group_id,
            data={"chat_id": group_id},
            files={"photo": (picture.filename, picture.jpeg, picture.content_type)},
        )
        chat = await self._call("getChat", group_id, data={"chat_id": group_id})
        username = chat.get("username") if isinstance(chat, dict) else None
        if isinstance(username, str) and username:
            return PictureResult.success(f"https://t.me/{username}")
        return PictureResult.success(note=NO_LINK)

    @returns_result
    async def delete_group_picture(self, group_id: str) -> PictureResult:
        try:
            await self._call("deleteChatPhoto", group_id, data={"chat_id": group_id})
        except ProviderUnreachable as failed:
            if "CHAT_NOT_MODIFIED" not in (failed.result.reason or ""):
                raise
            return PictureResult.success(note="the chat had no photo")
        return PictureResult.success()

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        chat = await self._call("getChat", group_id, data={"chat_id": group_id})
        photo = chat.get("photo") if isinstance(chat, dict) else None
        file_id = photo.get("big_file_id") if isinstance(photo, dict) else None
        if not isinstance(file_id, str) or not file_id:
            return PictureResult.success(note=NO_PICTURE)
        return PictureResult.success(image=await self._download(group_id, file_id))

    @returns_result
    async def check_group(self, group_id: str) -> PictureResult:
        """getChatMember for the bot: the chat's creator, or an admin with can_change_info."""
        member = await self._call(
            "getChatMember", group_id, data={"chat_id": group_id, "user_id": self._bot_id}
        )
        status = member.get("status") if isinstance(member, dict) else None
        if status == _OWNER or (status == _ADMIN and member.get("can_change_info") is True):
            return PictureResult.success(note="the bot may change the photo of this Telegram chat")
        what = _MEANINGS[0][2]
        if status == _ADMIN:
            what = (
                "the bot is an administrator of Telegram chat {chat} without the right to"
                " change its info: give it that right"
            )
        return PictureResult.failure(FailureKind.NOT_ALLOWED, what.format(chat=group_id))

    @returns_result
    async def check(self) -> PictureResult:
        me = await self._call("getMe")
        username = me.get("username") if isinstance(me, dict) else None
        return PictureResult.success(note=f"Telegram accepts the bot's token (@{username})")

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(self, method: str, chat: str | None = None, **request: Any) -> Any:
        """One Bot API method; its `result`, or `ProviderUnreachable` with the failure."""
        reply = await self._http.request("POST", f"/bot{self._token}/{method}", **request)
        if reply.status == 200 and reply.get("ok") is True:
            return reply.get("result")
        raise ProviderUnreachable(self._failure(reply, chat))

    async def _download(self, chat: str, file_id: str) -> bytes:
        """The bytes of a file by its id: getFile, then the file URL (never shown)."""
        found = await self._call("getFile", chat, data={"file_id": file_id})
        path = found.get("file_path") if isinstance(found, dict) else None
        if not isinstance(path, str) or not path:
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.PROVIDER_ERROR, "Telegram did not say where the photo is"
                )
            )
        reply = await self._http.request("GET", f"/file/bot{self._token}/{path}")
        if reply.status != 200:
            raise ProviderUnreachable(self._failure(reply, chat))
        return reply.content

    def _failure(self, reply: Reply, chat: str | None) -> PictureResult:
        """Plain words for an answer that is not `ok`."""
        said = self._said(reply)
        lowered = said.lower()
        parameters = reply.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if isinstance(moved := parameters.get("migrate_to_chat_id"), int):
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"Telegram chat {chat} became a supergroup with id {moved}:"
                " change the group's chat id to it",
            )
        if reply.status == 429:
            wait = parameters.get("retry_after")
            wait = float(wait) if isinstance(wait, int | float) else reply.retry_after()
            return PictureResult.failure(
                FailureKind.RATE_LIMITED,
                "Telegram is limiting the bot's requests (flood control)"
                + (f"; try again in {wait:.0f} s" if wait else ""),
                wait,
            )
        if reply.status == 401:
            return PictureResult.failure(
                FailureKind.AUTH, "Telegram refused the bot's token (HTTP 401)"
            )
        if chat is not None and reply.status in (400, 403):
            for words, kind, meaning in _MEANINGS:
                if any(word in lowered for word in words):
                    return PictureResult.failure(kind, meaning.format(chat=chat, said=said))
        if reply.status in (400, 403) and said:
            kind = FailureKind.NOT_ALLOWED if reply.status == 403 else FailureKind.BAD_REQUEST
            return PictureResult.failure(kind, f"Telegram refused the request: {said}")
        return common_failure(self.label, reply)

    def _said(self, reply: Reply) -> str:
        """Telegram's description on one line, never with the token."""
        description = reply.get("description")
        text = " ".join(str(description or "").split()).replace(self._token, "***")
        return text[: _QUOTE_LIMIT - 1] + "…" if len(text) > _QUOTE_LIMIT else text
