"""A fake Telegram Bot API: one protocol core, served over HTTP (`app`) or in-process (`request()`).

Tests play Telegram users (`fake.user(...)`), push their messages as updates, and assert on what
the bot sent (`wait_for_bot_message`, `bot_messages`, `calls`). Answers are real Bot API JSON built
with PTB's own classes, so a real PTB `Bot` parses them.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import io
import itertools
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    AcceptedGiftTypes,
    CallbackQuery,
    Chat,
    ChatFullInfo,
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatPhoto,
    Document,
    File,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    PhotoSize,
    Update,
    User,
    WebhookInfo,
)
from telegram.error import TelegramError
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files on the public Bot API
PHOTO_SIDES = (90, 320, 800, 1280)  # longest side of the PhotoSize variants Telegram makes
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100  # buttons of one inline keyboard, over all its rows
MAX_ALERT_LENGTH = 200  # the text of answerCallbackQuery

MemberStatus = Literal["creator", "administrator", "member", "left", "kicked"]
JSON = dict[str, Any]

# Parameters whose value is free text: never JSON-decode them ("123" stays a string).
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "url",
        "secret_token",
        "callback_query_id",
        "file_id",
        "photo",
        "parse_mode",
        "language_code",
        "inline_message_id",
        "ip_address",
    }
)
_HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"tg-spoiler", "tg-emoji", "span", "blockquote"}
)
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z-]+)(?:\s[^<>]*)?>|<")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_FILE_URL_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_METHOD_URL_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>\w+)$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are"
    " exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status, `description` and `parameters` (e.g. retry_after)."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class FloodLimit:
    """Telegram's flood control, scaled down for tests: a chat takes at most `messages` bot
    messages per `seconds`; past that, 429 with the whole seconds to wait in `retry_after`."""

    messages: int
    seconds: float
    sent: defaultdict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: how many requests were answered 429
    refused: int = 0

    def admit(self, chat_id: int) -> None:
        now = time.monotonic()
        recent = [t for t in self.sent[chat_id] if now - t < self.seconds]
        if len(recent) >= self.messages:
            self.refused += 1
            wait = max(1, math.ceil(self.seconds - (now - recent[0])))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        self.sent[chat_id] = [*recent, now]


class Upload(bytes):
    """The bytes of an uploaded file, with the file name the multipart part gave."""

    filename: str | None = None

    @classmethod
    def named(cls, data: bytes, filename: str | None) -> Upload:
        upload = cls(data)
        upload.filename = filename
        return upload


@dataclass(frozen=True)
class Call:
    """One Bot API call as the bot made it; `params` are decoded (ints, dicts, lists)."""

    method: str
    params: JSON
    files: dict[str, bytes]


@dataclass(frozen=True)
class Reply:
    """An HTTP answer of the fake, whichever front carries it."""

    status: int
    body: bytes
    media_type: str = "application/json"


@dataclass(frozen=True)
class StoredFile:
    """A file Telegram holds; `file_size` may exceed `len(data)` to fake a huge file."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_size: int
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Revision:
    """A bot message's content before one of its edits."""

    text: str | None
    reply_markup: JSON | None


@dataclass
class BotMessage:
    """A message the bot sent, kept up to date with its edits (older states in `history`)."""

    chat_id: int
    message_id: int
    date: int
    text: str | None = None
    caption: str | None = None
    photo: bytes | str | None = None  # the uploaded or file_id's bytes, or a URL (not fetched)
    photo_sizes: tuple[PhotoSize, ...] = ()
    reply_markup: JSON | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    history: list[Revision] = field(default_factory=list)
    #: the album it belongs to (sendMediaGroup)
    media_group_id: str | None = None
    #: a document the bot sent (sendDocument): its file name and bytes
    document_name: str | None = None
    document: bytes | None = None

    @property
    def content(self) -> str:
        """The current text, or the caption of a photo."""
        return self.text or self.caption or ""

    def buttons(self) -> list[JSON]:
        """The inline keyboard's buttons, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def callback_data(self, label: str) -> str:
        """The callback_data of the inline button whose text is `label`."""
        for button in self.buttons():
            if button.get("text") == label and "callback_data" in button:
                return str(button["callback_data"])
        labels = [button.get("text") for button in self.buttons()]
        raise AssertionError(f"no button {label!r} on message {self.message_id}: {labels}")


@dataclass(frozen=True)
class FakeChat:
    """A chat known to the fake: a supergroup, or the private chat of a user (id = user id)."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    username: str | None = None

    def to_chat(self) -> Chat:
        """The PTB `Chat`."""
        return Chat(
            self.id, self.type, title=self.title, first_name=self.first_name, username=self.username
        )


@dataclass(frozen=True, eq=False)
class FakeUser:
    """A Telegram user the test plays."""

    fake: FakeTelegram = field(repr=False)
    id: int
    first_name: str
    username: str | None = None
    #: the IETF tag of the language of the user's Telegram app ("ru", "pt-br"); None: unknown
    language_code: str | None = None

    def to_user(self) -> User:
        """The PTB `User`."""
        return User(
            self.id,
            self.first_name,
            is_bot=False,
            username=self.username,
            language_code=self.language_code,
        )

    async def send(
        self,
        text: str,
        *,
        chat: ChatRef | None = None,
        reply_to: Mapping[str, Any] | BotMessage | None = None,
        anonymously: bool = False,
    ) -> JSON:
        """Send a text message (private chat when `chat` is None); return the Message dict.

        `anonymously`: as an anonymous group admin (Telegram shows the group as the sender)."""
        return self.fake._post(
            self, chat, reply_to, anonymously, text=text, entities=_command_entities(text)
        )

    async def forward(
        self,
        text: str,
        origin: MessageOrigin,
        *,
        chat: ChatRef | None = None,
    ) -> JSON:
        """Forward a text message into `chat`: Telegram shows the forwarder as the sender and
        `origin` as the author, as far as the author lets it tell (`forward_origin`). Make the
        origin with `FakeTelegram.origin(...)`."""
        return self.fake._post(self, chat, None, False, text=text, forward_origin=origin)

    async def send_photo(
        self,
        image: bytes,
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
        reply_to: Mapping[str, Any] | BotMessage | None = None,
        anonymously: bool = False,
    ) -> JSON:
        """Send a compressed photo: Telegram stores several JPEG variants, listed unsorted."""
        return self.fake._post(
            self,
            chat,
            reply_to,
            anonymously,
            photo=self.fake._store_photo(image),
            caption=caption,
            caption_entities=_command_entities(caption),
        )

    async def send_album(
        self, images: list[bytes], *, caption: str, caption_on: int = 0
    ) -> list[JSON]:
        """Send 2-10 photos as an album: one message each, sharing a media_group_id, the
        caption on photo number `caption_on` (0: the first) only."""
        assert 2 <= len(images) <= 10, "Telegram sends albums of 2-10 photos"
        album = str(next(self.fake._serial))
        return [
            self.fake._post(
                self,
                None,
                None,
                False,
                photo=self.fake._store_photo(image),
                media_group_id=album,
                caption=caption if number == caption_on else None,
                caption_entities=_command_entities(caption) if number == caption_on else None,
            )
            for number, image in enumerate(images)
        ]

    async def send_document(
        self,
        data: bytes,
        *,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        file_size: int | None = None,
        chat: ChatRef | None = None,
        reply_to: Mapping[str, Any] | BotMessage | None = None,
    ) -> JSON:
        """Send a file as a document; `file_size` overrides the reported size."""
        suffix = PurePosixPath(file_name).suffix
        stored = self.fake._store_file(data, "documents", suffix, file_size=file_size)
        document = Document(
            stored.file_id,
            stored.file_unique_id,
            file_name=file_name,
            mime_type=mime_type,
            file_size=stored.file_size,
        )
        return self.fake._post(
            self,
            chat,
            reply_to,
            False,
            document=document,
            caption=caption,
            caption_entities=_command_entities(caption),
        )

    async def change_chat_photo(self, chat: ChatRef, image: bytes | None) -> JSON:
        """Change (`image`) or remove (None) a chat's photo in Telegram itself, as its
        administrator: the photo changes and Telegram posts its service message."""
        return self.fake.chat_photos.changed_by(self.to_user(), chat, image)

    async def press(
        self, message: BotMessage | Mapping[str, Any], callback_data: str, *, forged: bool = False
    ) -> JSON:
        """Press the inline button with `callback_data` on a bot message; return the query.

        `forged`: send `callback_data` whether or not the message has such a button, as a
        modified client can (Telegram does not check it)."""
        return self.fake._press(self, message, callback_data, forged=forged)


#: the user Telegram shows as the sender of an anonymous group admin's messages
ANONYMOUS_ADMIN = User(1087968824, "Group", is_bot=True, username="GroupAnonymousBot")
#: the sender of a channel post that Telegram forwards into the channel's discussion group
TELEGRAM_SERVICE = User(777000, "Telegram", is_bot=False)
ChatRef = FakeChat | FakeUser | int  # a chat, a user standing for its private chat, or an id
Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class _HeldCall:
    """A call of one method for one chat that hangs until released, then is lost
    (`FakeTelegram.lose_call`)."""

    method: str
    chat_id: int
    when: Callable[[JSON], bool]
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    taken: bool = False

    def holds(self, call: Call) -> bool:
        return (
            not self.taken
            and call.method == self.method
            and str(call.params.get("chat_id")) == str(self.chat_id)
            and self.when(call.params)
        )


class FakeTelegram:
    """The fake Bot API: serve `app`, or give PTB `request()`; drive it through `user(...)`."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "avatarops_bot",
        bot_name: str = "AvatarOps",
    ) -> None:
        self.token = token
        self.me = User(
            int(token.split(":", 1)[0]),
            bot_name,
            is_bot=True,
            username=bot_username,
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
        )
        self.downloads: list[str] = []  # file_ids, in download order
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self._calls: list[Call] = []
        #: every call answered with an error, and its description
        self.errors: list[tuple[Call, str]] = []
        self._chats: dict[int, FakeChat] = {}
        self._users: dict[int, FakeUser] = {}
        self._member_status: dict[tuple[int, int], MemberStatus] = {}
        self._blocked: set[int] = set()
        self.flood_limit: FloodLimit | None = None
        #: chats whose sendMessage waits (see `hold`), and whether file downloads wait
        self._held: dict[int, asyncio.Event] = {}
        self._held_calls: list[_HeldCall] = []
        self._downloads_open = asyncio.Event()
        self._downloads_open.set()
        self._files: dict[str, StoredFile] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._bot_messages: defaultdict[int, list[BotMessage]] = defaultdict(list)
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._updates: list[JSON] = []
        self._last_update_id = 0
        self._allowed_updates: list[str] = []
        self._open_queries: set[str] = set()
        self._commands: dict[str, list[JSON]] = {}
        self._serial = itertools.count(1)
        self._changed = asyncio.Event()
        self._closed = False
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendMediaGroup": self._send_media_group,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "getChatMember": self._get_chat_member,
                "getChat": self._get_chat,
            }.items()
        }
        #: chat photos, for chats the bot manages as a `kind: telegram` target
        self.chat_photos = ChatPhotos(self)
        self._methods.update(self.chat_photos.methods())
        self.app = Starlette(
            routes=[Route("/{path:path}", self._http_endpoint, methods=["GET", "POST"])]
        )

    # ----- test-facing API -------------------------------------------------------------------

    def request(self) -> FakeRequest:
        """A new PTB request backend bound to this fake (no sockets)."""
        return FakeRequest(self)

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """A Telegram user, with its private chat; `language_code` as their app sends it."""
        user = FakeUser(self, user_id, first_name, username, language_code)
        self._users[user_id] = user
        self._chats[user_id] = FakeChat(
            user_id, Chat.PRIVATE, first_name=first_name, username=username
        )
        return user

    def group_chat(self, chat_id: int, title: str, *, username: str | None = None) -> FakeChat:
        """A supergroup (public when it has a `username`)."""
        chat = FakeChat(chat_id, Chat.SUPERGROUP, title=title, username=username)
        self._chats[chat_id] = chat
        return chat

    def channel(self, chat_id: int, title: str) -> FakeChat:
        """A channel."""
        chat = FakeChat(chat_id, Chat.CHANNEL, title=title)
        self._chats[chat_id] = chat
        return chat

    def origin(self, author: FakeUser | FakeChat | str, *, message_id: int = 1) -> MessageOrigin:
        """The `forward_origin` of a message by `author`: a user who allows links to their
        account, a user who hides it (only a name: pass a str), a group or a channel."""
        date = _datetime(_now())
        if isinstance(author, str):
            return MessageOriginHiddenUser(date, sender_user_name=author)
        if isinstance(author, FakeUser):
            return MessageOriginUser(date, sender_user=author.to_user())
        if author.type == Chat.CHANNEL:
            return MessageOriginChannel(date, chat=author.to_chat(), message_id=message_id)
        return MessageOriginChat(date, sender_chat=author.to_chat())

    def automatic_forward(self, channel: FakeChat, group: FakeChat, text: str) -> JSON:
        """A channel post as Telegram copies it into the channel's discussion group: sent by
        user 777000 on behalf of the channel."""
        message = Message(
            self._next_message_id(group.id),
            _datetime(_now()),
            group.to_chat(),
            from_user=TELEGRAM_SERVICE,
            sender_chat=channel.to_chat(),
            is_automatic_forward=True,
            forward_origin=self.origin(channel),
            text=text,
        ).to_dict()
        self._user_messages[(group.id, message["message_id"])] = message
        self._push("message", message)
        return message

    def set_member_status(self, chat: ChatRef, user: FakeUser | int, status: MemberStatus) -> None:
        """What getChatMember answers for `user` in `chat` (default "member")."""
        if status not in _MEMBER_FACTORIES:
            raise ValueError(f"unsupported member status {status!r}")
        self._member_status[(_id(chat), _id(user))] = status

    def block(self, chat: ChatRef) -> None:
        """From now on, sendMessage/sendPhoto to `chat` answer 403."""
        self._blocked.add(_id(chat))

    def hold(self, chat: ChatRef) -> Callable[[], None]:
        """From now on, sendMessage to `chat` waits until the returned release is called."""
        gate = self._held.setdefault(_id(chat), asyncio.Event())
        return gate.set

    def sent_before(
        self, chat: ChatRef, text: str, buttons: Sequence[tuple[str, str]] = ()
    ) -> BotMessage:
        """A message the bot sent before this test started it (an older version's): `text`
        with one row of (label, callback data) buttons."""
        markup = {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in buttons]]}
        self._add_bot_message(self._chat(chat), text=text, reply_markup=markup if buttons else None)
        return self._bot_messages[_id(chat)][-1]

    def lose_call(
        self, method: str, chat: ChatRef, when: Callable[[JSON], bool] = lambda _: True
    ) -> Callable[[], None]:
        """The next call of `method` for `chat` whose parameters satisfy `when` hangs (it is
        seen, not carried out) until the returned release, and is then lost (answered with an
        error, nothing done): a crash test kills the bot while it hangs, as if the request had
        never reached Telegram."""
        held = _HeldCall(method, _id(chat), when)
        self._held_calls.append(held)
        return held.gate.set

    def hold_downloads(self) -> Callable[[], None]:
        """File downloads wait (as a slow network would) until the returned release is called."""
        self._downloads_open.clear()
        return self._downloads_open.set

    def calls(self, method: str | None = None) -> list[Call]:
        """Every Bot API call recorded (optionally only `method`, e.g. "sendMessage")."""
        return [call for call in self._calls if method is None or call.method == method]

    def file(self, file_id: str) -> StoredFile:
        """A stored file (a photo variant has `width` and `height`)."""
        return self._files[file_id]

    def bot_messages(self, chat: ChatRef) -> list[BotMessage]:
        """The bot's messages in `chat`, oldest first."""
        return list(self._bot_messages[_id(chat)])

    async def wait_for_bot_message(
        self,
        chat: ChatRef,
        *,
        contains: str | None = None,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 10.0,
    ) -> BotMessage:
        """The first bot message in `chat` that matches now (after edits), waiting for one."""
        chat_id = _id(chat)

        def find() -> BotMessage | None:
            return next(
                (
                    message
                    for message in self._bot_messages[chat_id]
                    if (contains is None or contains in message.content)
                    and (predicate is None or predicate(message))
                ),
                None,
            )

        await self._wait(lambda: find() is not None, timeout)
        if (found := find()) is None:
            raise AssertionError(
                f"no bot message matching contains={contains!r} predicate={predicate!r} in chat"
                f" {chat_id} after {timeout}s; transcript:\n{self.transcript(chat_id)}"
            )
        return found

    def transcript(self, chat: ChatRef) -> str:
        """The chat as text, one line per message, for failure messages."""
        chat_id = _id(chat)
        lines = {
            message_id: f"#{message_id} {message['from']['first_name']}: "
            + (message.get("text") or message.get("caption") or "<media>")
            for (cid, message_id), message in self._user_messages.items()
            if cid == chat_id
        }
        for bot_message in self._bot_messages[chat_id]:
            labels = " | ".join(str(button.get("text")) for button in bot_message.buttons())
            lines[bot_message.message_id] = (
                f"#{bot_message.message_id} bot: {bot_message.content or '<photo>'}"
                + (f" [{labels}]" if labels else "")
                + (f" (edited {len(bot_message.history)}x)" if bot_message.history else "")
            )
        return "\n".join(line for _, line in sorted(lines.items())) or "(empty)"

    async def feed(
        self, application: Application[Any, Any, Any, Any, Any, Any], *, at_once: bool = False
    ) -> list[JSON]:
        """Hand every pending update to `application.process_update`, one after the other (or
        all at the same time, as PTB's concurrent updates may); return them."""
        updates, self._updates = self._updates, []
        processing = [
            application.process_update(Update.de_json(update, application.bot))
            for update in updates
        ]
        if at_once:
            await asyncio.gather(*processing)
        else:
            for each in processing:
                await each
        return updates

    async def deliver_to_webhook(self, secret: str | None = None) -> list[int]:
        """POST every pending update to the webhook, as Telegram does; the HTTP statuses.

        `secret` overrides the secret header sent (default: the one set with setWebhook)."""
        assert self.webhook_url, "no webhook is set"
        token = self.webhook_secret if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        updates, self._updates = self._updates, []
        async with httpx.AsyncClient() as client:
            return [
                (await client.post(self.webhook_url, json=update, headers=headers)).status_code
                for update in updates
            ]

    def close(self) -> None:
        """Make pending and future getUpdates long polls answer at once (lets servers stop)."""
        self._closed = True
        self._touch()

    # ----- the protocol core, shared by both fronts -----------------------------------------

    async def handle(
        self, path: str, fields: Mapping[str, str], files: Mapping[str, bytes]
    ) -> Reply:
        """Answer a request for URL `path` with form-style `fields` (JSON-encoded non-strings)."""
        if match := _FILE_URL_PATH.search(path):
            await self._downloads_open.wait()
            return self._download(match["token"], match["path"])
        if match := _METHOD_URL_PATH.search(path):
            return await self._call(match["token"], match["method"], fields, files)
        return _error_reply(404, "Not Found")

    async def _call(
        self, token: str, method: str, fields: Mapping[str, str], files: Mapping[str, bytes]
    ) -> Reply:
        if token != self.token:
            return _error_reply(401, "Unauthorized")
        name, handler = self._methods.get(method.lower(), (method, None))
        call = Call(name, _decode_params(fields), dict(files))
        self._calls.append(call)
        if handler is None:
            return _error_reply(404, "Not Found: method not found")
        for held in self._held_calls:
            if held.holds(call):
                held.taken = True
                await held.gate.wait()
                return _error_reply(500, "Internal Server Error: the request was lost")
        try:
            result = await handler(call)
        except ApiError as error:
            self.errors.append((call, error.description))
            return _error_reply(error.status, error.description, error.parameters)
        return Reply(200, json.dumps({"ok": True, "result": result}).encode())

    def _download(self, token: str, path: str) -> Reply:
        if token != self.token:
            return _error_reply(401, "Unauthorized")
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if stored is None:
            return _error_reply(404, "Not Found")
        self.downloads.append(stored.file_id)
        return Reply(200, stored.data, "application/octet-stream")

    async def _http_endpoint(self, request: Request) -> Response:
        fields, files = await _read_http_request(request)
        reply = await self.handle(request.scope["path"], fields, files)
        return Response(reply.body, reply.status, media_type=reply.media_type)

    # ----- Bot API methods ---------------------------------------------------------------------

    async def _get_me(self, call: Call) -> JSON:
        return self.me.to_dict()

    async def _set_webhook(self, call: Call) -> bool:
        self.webhook_url = _required(call.params, "url")
        self.webhook_secret = call.params.get("secret_token")
        self._drop_pending_if_asked(call.params)
        return True

    async def _delete_webhook(self, call: Call) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        self._drop_pending_if_asked(call.params)
        return True

    async def _get_webhook_info(self, call: Call) -> JSON:
        return WebhookInfo(
            self.webhook_url,
            has_custom_certificate=False,
            pending_update_count=len(self._updates),
            allowed_updates=self._allowed_updates or None,
        ).to_dict()

    async def _set_my_commands(self, call: Call) -> bool:
        self._commands[_commands_key(call.params)] = _required(call.params, "commands")
        return True

    async def _get_my_commands(self, call: Call) -> list[JSON]:
        return self._commands.get(_commands_key(call.params), [])

    async def _get_updates(self, call: Call) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        params = call.params
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"])
        self._confirm(params.get("offset"))
        await self._wait(
            lambda: self._closed or bool(self._deliverable()), params.get("timeout", 0)
        )
        return self._deliverable()[: params.get("limit", 100)]

    async def _send_message(self, call: Call) -> JSON:
        chat = self._target_chat(call.params)
        if gate := self._held.get(chat.id):
            await gate.wait()
        return self._add_bot_message(
            chat,
            text=_formatted(call.params, "text", MAX_TEXT_LENGTH, required=True),
            reply_markup=_markup(call.params),
            reply_to_message_id=self._reply_target(chat.id, call.params),
        )

    async def _send_photo(self, call: Call) -> JSON:
        chat = self._target_chat(call.params)
        photo, sizes = self._photo_from(call)
        return self._add_bot_message(
            chat,
            caption=_formatted(call.params, "caption", MAX_CAPTION_LENGTH, required=False),
            photo=photo,
            photo_sizes=sizes,
            reply_markup=_markup(call.params),
            reply_to_message_id=self._reply_target(chat.id, call.params),
        )

    async def _send_media_group(self, call: Call) -> list[JSON]:
        """An album of 2-10 photos (this fake takes photos only), each a message of its own
        sharing one media_group_id and replying to what `reply_parameters` names."""
        chat = self._target_chat(call.params)
        media = _required(call.params, "media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media specified (2-10)")
        reply_to = self._reply_target(chat.id, call.params)
        album = str(next(self._serial))
        sent = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise ApiError(400, "Bad Request: this fake takes albums of photos only")
            photo, sizes = self._media_photo(call, str(item.get("media", "")))
            caption = _formatted(item, "caption", MAX_CAPTION_LENGTH, required=False)
            sent.append(
                self._add_bot_message(
                    chat,
                    caption=caption,
                    photo=photo,
                    photo_sizes=sizes,
                    reply_to_message_id=reply_to,
                    media_group_id=album,
                )
            )
        return sent

    async def _send_document(self, call: Call) -> JSON:
        """A document the bot uploads (this fake takes uploads only), with an optional
        caption."""
        chat = self._target_chat(call.params)
        data = call.files.get("document")
        if data is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        return self._add_bot_message(
            chat,
            caption=_formatted(call.params, "caption", MAX_CAPTION_LENGTH, required=False),
            document=data,
            document_name=getattr(data, "filename", None),
            reply_markup=_markup(call.params),
            reply_to_message_id=self._reply_target(chat.id, call.params),
        )

    def _media_photo(self, call: Call, media: str) -> tuple[bytes | str, tuple[PhotoSize, ...]]:
        """The photo an album item names: `attach://<part>`, a file_id or a URL."""
        if media.startswith("attach://"):
            data = call.files.get(media.removeprefix("attach://"))
            if data is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            return data, self._store_photo(data)
        return self._photo_from(Call(call.method, {"photo": media}, {}))

    async def _edit_message_text(self, call: Call) -> JSON:
        message = self._editable(call.params)
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = _formatted(call.params, "text", MAX_TEXT_LENGTH, required=True)
        return self._edit(message, text, _markup(call.params))

    async def _edit_message_reply_markup(self, call: Call) -> JSON:
        message = self._editable(call.params)
        return self._edit(message, message.text, _markup(call.params))

    async def _answer_callback_query(self, call: Call) -> bool:
        query_id = _required(call.params, "callback_query_id")
        if len(str(call.params.get("text") or "")) > MAX_ALERT_LENGTH:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if query_id not in self._open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.remove(query_id)
        return True

    async def _get_file(self, call: Call) -> JSON:
        stored = self._files.get(_required(call.params, "file_id"))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return File(
            stored.file_id, stored.file_unique_id, stored.file_size, stored.file_path
        ).to_dict()

    async def _get_chat_member(self, call: Call) -> JSON:
        chat = self._known_chat(call.params)
        user_id = _required(call.params, "user_id")
        if user_id == self.me.id:
            user = self.me
        elif user_id in self._users:
            user = self._users[user_id].to_user()
        else:
            raise ApiError(400, "Bad Request: user not found")
        status = self._member_status.get((chat.id, user_id), "member")
        if user_id == self.me.id and status == "administrator":
            return self.chat_photos.bot_admin(chat.id).to_dict()
        return _MEMBER_FACTORIES[status](user).to_dict()

    async def _get_chat(self, call: Call) -> JSON:
        chat = self._known_chat(call.params)
        return ChatFullInfo(
            chat.id,
            chat.type,
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types=AcceptedGiftTypes(False, False, False, False, False),
            title=chat.title,
            first_name=chat.first_name,
            username=chat.username,
            photo=self.chat_photos.photo_of(chat.id),
        ).to_dict()

    # ----- state ------------------------------------------------------------------------------

    def _touch(self) -> None:
        """Wake every waiter (long polls, wait_for_bot_message) to re-check its condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until `condition()` holds, re-checking on every change; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    await self._changed.wait()
        except TimeoutError:
            return condition()
        return True

    def push_update(self, kind: str, payload: JSON) -> None:
        """Push any update as it is, e.g. an "edited_message" or a "channel_post"."""
        self._push(kind, payload)

    def _push(self, kind: str, payload: JSON) -> None:
        self._last_update_id += 1
        self._updates.append({"update_id": self._last_update_id, kind: payload})
        self._touch()

    def _confirm(self, offset: int | None) -> None:
        """Forget updates before `offset`; a negative offset keeps the last -offset ones."""
        if offset is None:
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self) -> list[JSON]:
        allowed = self._allowed_updates
        return [u for u in self._updates if not allowed or any(kind in u for kind in allowed)]

    def _drop_pending_if_asked(self, params: JSON) -> None:
        if params.get("drop_pending_updates"):
            self._updates = []

    def _next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_file(
        self,
        data: bytes,
        folder: str,
        suffix: str,
        *,
        file_size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        serial = next(self._serial)
        stored = StoredFile(
            file_id=f"{folder}-{serial}",
            file_unique_id=f"unique-{serial}",
            file_path=f"{folder}/file_{serial}{suffix}",
            data=data,
            file_size=len(data) if file_size is None else file_size,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        return stored

    def _store_photo(self, image: bytes) -> tuple[PhotoSize, ...]:
        """Store JPEG variants of `image`; list them in an order that is not sorted by size."""
        sizes = []
        for jpeg, (width, height) in _photo_variants(image):
            stored = self._store_file(jpeg, "photos", ".jpg", width=width, height=height)
            sizes.append(
                PhotoSize(stored.file_id, stored.file_unique_id, width, height, stored.file_size)
            )
        return tuple(sizes[1::2] + sizes[0::2])

    def _chat(self, chat: ChatRef) -> FakeChat:
        try:
            return self._chats[_id(chat)]
        except KeyError:
            raise ValueError(
                f"unknown chat {chat!r}: create it with user() or group_chat()"
            ) from None

    def _post(
        self,
        user: FakeUser,
        chat: ChatRef | None,
        reply_to: Mapping[str, Any] | BotMessage | None,
        anonymously: bool,
        **content: Any,
    ) -> JSON:
        """Record a user's message in `chat` (default: the private chat) and push it."""
        target = self._chat(user.id if chat is None else chat)
        message = Message(
            self._next_message_id(target.id),
            _datetime(_now()),
            target.to_chat(),
            from_user=ANONYMOUS_ADMIN if anonymously else user.to_user(),
            sender_chat=target.to_chat() if anonymously else None,
            **content,
        ).to_dict()
        if reply_to is not None:
            message["reply_to_message"] = self._reply_dict(reply_to)
        self._user_messages[(target.id, message["message_id"])] = message
        self._push("message", message)
        return message

    def _service_message(self, chat: FakeChat, author: User | None, **content: Any) -> JSON:
        """A service message in `chat`, pushed as Telegram sends it: a `channel_post` from the
        channel itself, else a `message` from `author` (None: an anonymous admin)."""
        channel = chat.type == Chat.CHANNEL
        message = Message(
            self._next_message_id(chat.id),
            _datetime(_now()),
            chat.to_chat(),
            from_user=None if channel else author or ANONYMOUS_ADMIN,
            sender_chat=chat.to_chat() if channel or author is None else None,
            **content,
        ).to_dict()
        self._push("channel_post" if channel else "message", message)
        return message

    def _press(
        self,
        user: FakeUser,
        message: BotMessage | Mapping[str, Any],
        callback_data: str,
        *,
        forged: bool,
    ) -> JSON:
        chat_id, message_id = _message_key(message)
        bot_message = self._bot_message(chat_id, message_id)
        if bot_message is None:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        offered = [button.get("callback_data") for button in bot_message.buttons()]
        if callback_data not in offered and not forged:
            raise AssertionError(f"no button with {callback_data!r} on the message: {offered}")
        query = CallbackQuery(
            str(next(self._serial)),
            user.to_user(),
            chat_instance=str(chat_id),
            data=callback_data,
        ).to_dict()
        query["message"] = self._bot_message_dict(bot_message)
        self._open_queries.add(query["id"])
        self._push("callback_query", query)
        return query

    def _bot_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        return next((m for m in self._bot_messages[chat_id] if m.message_id == message_id), None)

    def _bot_message_dict(self, message: BotMessage) -> JSON:
        """The Message the bot sees for one of its messages, as it last set it."""
        result = Message(
            message.message_id,
            _datetime(message.date),
            self._chats[message.chat_id].to_chat(),
            from_user=self.me,
            text=message.text,
            caption=message.caption,
            photo=message.photo_sizes,
            edit_date=_datetime(message.edit_date) if message.edit_date else None,
            media_group_id=message.media_group_id,
        ).to_dict()
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            result["reply_markup"] = message.reply_markup
        if message.reply_to_message_id is not None:
            replied = self._message_dict(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                result["reply_to_message"] = _without_reply(replied)
        return result

    def _message_dict(self, chat_id: int, message_id: int) -> JSON | None:
        if bot_message := self._bot_message(chat_id, message_id):
            return self._bot_message_dict(bot_message)
        return self._user_messages.get((chat_id, message_id))

    def _reply_dict(self, reply_to: Mapping[str, Any] | BotMessage) -> JSON:
        if isinstance(reply_to, BotMessage):
            return _without_reply(self._bot_message_dict(reply_to))
        return _without_reply(dict(reply_to))

    def _known_chat(self, params: JSON) -> FakeChat:
        chat = self._chats.get(_required(params, "chat_id"))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _target_chat(self, params: JSON) -> FakeChat:
        """The chat a message goes to: known, not blocked, and within the flood limit."""
        chat = self._known_chat(params)
        if chat.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.flood_limit is not None:
            self.flood_limit.admit(chat.id)
        return chat

    def _reply_target(self, chat_id: int, params: JSON) -> int | None:
        replying = params.get("reply_parameters") or {}
        message_id = replying.get("message_id") or params.get("reply_to_message_id")
        if message_id is not None and self._message_dict(chat_id, message_id) is None:
            if replying.get("allow_sending_without_reply"):  # sent as a message of its own
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return message_id

    def _photo_from(self, call: Call) -> tuple[bytes | str, tuple[PhotoSize, ...]]:
        """The photo of a sendPhoto (upload, file_id or URL) and its stored variants."""
        if "photo" in call.files:
            data = call.files["photo"]
            return data, self._store_photo(data)
        photo = _required(call.params, "photo")
        if photo.startswith(("http://", "https://")):
            return photo, ()
        stored = self._files.get(photo)
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return stored.data, self._store_photo(stored.data)

    def _add_bot_message(self, chat: FakeChat, **content: Any) -> JSON:
        message = BotMessage(chat.id, self._next_message_id(chat.id), _now(), **content)
        self._bot_messages[chat.id].append(message)
        self._touch()
        return self._bot_message_dict(message)

    def _editable(self, params: JSON) -> BotMessage:
        message = self._bot_message(_required(params, "chat_id"), _required(params, "message_id"))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _edit(self, message: BotMessage, text: str | None, reply_markup: JSON | None) -> JSON:
        if (text, reply_markup) == (message.text, message.reply_markup):
            raise ApiError(400, _NOT_MODIFIED)
        message.history.append(Revision(message.text, message.reply_markup))
        message.text, message.reply_markup, message.edit_date = text, reply_markup, _now()
        self._touch()
        return self._bot_message_dict(message)


class FakeRequest(BaseRequest):
    """A PTB request backend handing calls to a FakeTelegram as HTTPXRequest would send them."""

    def __init__(self, fake: FakeTelegram) -> None:
        self._fake = fake

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer like the HTTP front: form fields are `json_parameters`, files the multipart."""
        fields = request_data.json_parameters if request_data else {}
        files = {
            name: Upload.named(content if isinstance(content, bytes) else content.read(), filename)
            for name, (filename, content, *_) in (
                request_data.multipart_data if request_data else {}
            ).items()
        }
        reply = await self._fake.handle(unquote(urlsplit(url).path), fields, files)
        return reply.status, reply.body


class ChatPhotos:
    """setChatPhoto, deleteChatPhoto and the `photo` of getChat, as Telegram answers them.

    The bot may change a chat's photo when it is the chat's creator, or an administrator with
    `can_change_info` (`admit_bot`); otherwise "not enough rights". Private chats have no photo
    to change. A photo is kept as its 160 px and 640 px JPEGs, like Telegram's ChatPhoto.
    """

    SIDES = (160, 640)
    MIN_SIDE = 160  # smaller: PHOTO_CROP_SIZE_SMALL

    def __init__(self, fake: FakeTelegram) -> None:
        self._fake = fake
        #: chat id -> (small, big) stored files of its current photo
        self._photos: dict[int, tuple[StoredFile, StoredFile]] = {}
        #: chat id -> whether the bot, an administrator there, has can_change_info
        self._change_info: dict[int, bool] = {}
        #: every JPEG set, per chat, oldest first
        self.uploads: defaultdict[int, list[bytes]] = defaultdict(list)

    def methods(self) -> dict[str, tuple[str, Handler]]:
        return {
            name.lower(): (name, handler)
            for name, handler in {
                "setChatPhoto": self._set_chat_photo,
                "deleteChatPhoto": self._delete_chat_photo,
            }.items()
        }

    def admit_bot(self, chat: ChatRef, *, can_change_info: bool = True) -> None:
        """Make the bot an administrator of `chat`, with or without the right to change info."""
        self._fake.set_member_status(chat, self._fake.me.id, "administrator")
        self._change_info[_id(chat)] = can_change_info

    def set_photo(self, chat: ChatRef, image: bytes) -> None:
        """A photo someone else set (any image Pillow reads)."""
        self._store(_id(chat), image)

    def current(self, chat: ChatRef) -> bytes | None:
        """The big (640 px) JPEG of the chat's photo, or None."""
        photo = self._photos.get(_id(chat))
        return photo[1].data if photo else None

    def photo_of(self, chat_id: int) -> ChatPhoto | None:
        photo = self._photos.get(chat_id)
        if photo is None:
            return None
        small, big = photo
        return ChatPhoto(small.file_id, small.file_unique_id, big.file_id, big.file_unique_id)

    def bot_admin(self, chat_id: int) -> ChatMember:
        return ChatMemberAdministrator(
            self._fake.me,
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=self._change_info.get(chat_id, True),
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )

    def changed_by(self, author: User | None, chat: ChatRef, image: bytes | None) -> JSON:
        """Someone changed (`image`) or removed (None) the chat's photo: Telegram posts a
        `new_chat_photo` / `delete_chat_photo` service message, from `author` in a group (None:
        an anonymous admin, shown as the group) and as a post of the channel in a channel."""
        target = self._fake._chat(chat)
        if image is None:
            self._photos.pop(target.id, None)
            return self._fake._service_message(target, author, delete_chat_photo=True)
        small, big = self._store(target.id, image)
        sizes = tuple(
            PhotoSize(file.file_id, file.file_unique_id, side, side, file.file_size)
            for file, side in zip((small, big), self.SIDES, strict=True)
        )
        return self._fake._service_message(target, author, new_chat_photo=sizes)

    async def _set_chat_photo(self, call: Call) -> bool:
        chat = self._changeable(call.params)
        photo = call.files.get("photo")
        if photo is None:
            if call.params.get("photo"):
                raise ApiError(400, "Bad Request: photo must be uploaded as an InputFile")
            raise ApiError(400, "Bad Request: there is no photo in the request")
        self.changed_by(self._fake.me, chat, photo)
        self.uploads[chat.id].append(photo)
        return True

    async def _delete_chat_photo(self, call: Call) -> bool:
        chat = self._changeable(call.params)
        if chat.id not in self._photos:
            raise ApiError(400, "Bad Request: CHAT_NOT_MODIFIED")
        self.changed_by(self._fake.me, chat, None)
        return True

    def _changeable(self, params: JSON) -> FakeChat:
        chat = self._fake._known_chat(params)
        if chat.type == Chat.PRIVATE:
            raise ApiError(400, "Bad Request: can't change private chat photo")
        status = self._fake._member_status.get((chat.id, self._fake.me.id), "member")
        if status in ("left", "kicked"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        allowed = status == "creator" or (
            status == "administrator" and self._change_info.get(chat.id, True)
        )
        if not allowed:
            raise ApiError(400, "Bad Request: not enough rights to change chat photo")
        return chat

    def _store(self, chat_id: int, image: bytes) -> tuple[StoredFile, StoredFile]:
        try:
            with Image.open(io.BytesIO(image)) as opened:
                picture = opened.convert("RGB")
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from error
        if min(picture.size) < self.MIN_SIDE:
            raise ApiError(400, "Bad Request: PHOTO_CROP_SIZE_SMALL")
        side = min(picture.size)
        square = ImageOps.fit(picture, (side, side))
        small, big = (
            self._fake._store_file(
                _jpeg(square.resize((size, size))),
                "profile_photos",
                ".jpg",
                width=size,
                height=size,
            )
            for size in self.SIDES
        )
        self._photos[chat_id] = (small, big)
        return small, big


_MEMBER_FACTORIES: dict[str, Callable[[User], ChatMember]] = {
    "creator": lambda user: ChatMemberOwner(user, is_anonymous=False),
    "administrator": lambda user: ChatMemberAdministrator(
        user,
        can_be_edited=False,
        is_anonymous=False,
        can_manage_chat=True,
        can_delete_messages=True,
        can_manage_video_chats=True,
        can_restrict_members=True,
        can_promote_members=False,
        can_change_info=True,
        can_invite_users=True,
        can_post_stories=False,
        can_edit_stories=False,
        can_delete_stories=False,
    ),
    "member": ChatMemberMember,
    "left": ChatMemberLeft,
    "kicked": lambda user: ChatMemberBanned(user, until_date=_datetime(0)),
}


async def _read_http_request(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Query, then a JSON, form-urlencoded or multipart body, as form fields and files."""
    fields: dict[str, str] = dict(request.query_params)
    files: dict[str, bytes] = {}
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        fields |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        return fields, files
    async with request.form() as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[name] = Upload.named(await value.read(), value.filename)
            else:
                fields[name] = value
    return fields, files


def _decode_params(fields: Mapping[str, str]) -> JSON:
    """Decode form fields as Telegram does: JSON values, except free-text parameters."""
    return {
        name: value if name in _TEXT_PARAMS else _json_or_text(value)
        for name, value in fields.items()
    }


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id "@channelname"


def _required(params: JSON, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise ApiError(400, f"Bad Request: {name} is empty")
    return params[name]


def _formatted(params: JSON, name: str, limit: int, *, required: bool) -> str | None:
    """A text or caption parameter as the chat shows it (HTML parse_mode applied)."""
    raw = _required(params, name) if required else params.get(name)
    if raw is None:
        return None
    text = _strip_html(raw) if str(params.get("parse_mode", "")).lower() == "html" else raw
    if required and not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > limit:
        # Telegram's own words: "message is too long" for a text, "message caption ..." else
        raise ApiError(400, f"Bad Request: message {'' if required else 'caption '}is too long")
    return text


def _strip_html(text: str) -> str:
    """Telegram's HTML parse mode: allowed, balanced tags are removed; a stray `<` is an error."""
    parts: list[str] = []
    open_tags: list[str] = []
    position = 0
    for match in _HTML_TAG.finditer(text):
        parts.append(text[position : match.start()])
        position = match.end()
        offset = len(text[: match.start()].encode())
        tag = (match[2] or "").lower()
        if tag not in _HTML_TAGS:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
                f" at byte offset {offset}",
            )
        if not match[1]:
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: Unmatched end tag at byte offset {offset}",
            )
    if open_tags:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag"
            f' "{open_tags[-1]}"',
        )
    parts.append(text[position:])
    return html.unescape("".join(parts))


def _markup(params: JSON) -> JSON | None:
    """The reply_markup of a call; an inline keyboard is checked like Telegram does."""
    markup: JSON | None = params.get("reply_markup")
    if not markup or "inline_keyboard" not in markup:
        return markup
    try:
        InlineKeyboardMarkup.de_json(markup, None)
    except (TelegramError, TypeError, KeyError) as error:
        raise ApiError(400, f"Bad Request: can't parse inline keyboard: {error}") from error
    if sum(len(row) for row in markup["inline_keyboard"]) > MAX_INLINE_BUTTONS:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for row in markup["inline_keyboard"]:
        for button in row:
            if len(str(button.get("callback_data", "")).encode()) > MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _commands_key(params: JSON) -> str:
    return json.dumps([params.get("scope"), params.get("language_code", "")], sort_keys=True)


def _photo_variants(image: bytes) -> list[tuple[bytes, tuple[int, int]]]:
    """JPEG re-encodings with longest side PHOTO_SIDES, capped at the original; smallest first."""
    try:
        with Image.open(io.BytesIO(image)) as opened:
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from error
    longest = max(picture.size)
    sizes = sorted({_scaled(picture.size, min(side, longest)) for side in PHOTO_SIDES})
    variants = []
    for size in reversed(sizes):  # each from the next larger one, not from the original
        picture = picture.resize(size, Image.Resampling.BOX)
        variants.append((_jpeg(picture), size))
    return variants[::-1]


def _scaled(size: tuple[int, int], longest_side: int) -> tuple[int, int]:
    factor = longest_side / max(size)
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def _jpeg(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


def _command_entities(text: str | None) -> tuple[MessageEntity, ...]:
    """bot_command entities, as Telegram adds them (offsets in UTF-16 code units)."""
    text = text or ""
    return tuple(
        MessageEntity(MessageEntity.BOT_COMMAND, _utf16_len(text[: m.start()]), _utf16_len(m[0]))
        for m in _COMMAND.finditer(text)
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _message_key(message: BotMessage | Mapping[str, Any]) -> tuple[int, int]:
    if isinstance(message, BotMessage):
        return message.chat_id, message.message_id
    return message["chat"]["id"], message["message_id"]


def _without_reply(message: JSON) -> JSON:
    """A message as it appears in reply_to_message (Telegram does not nest replies)."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _id(entity: ChatRef) -> int:
    return entity if isinstance(entity, int) else entity.id


def _error_reply(status: int, description: str, parameters: JSON | None = None) -> Reply:
    body: JSON = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, json.dumps(body).encode())


def _now() -> int:
    return int(dtm.datetime.now(dtm.UTC).timestamp())


def _datetime(timestamp: int) -> dtm.datetime:
    return dtm.datetime.fromtimestamp(timestamp, dtm.UTC)
