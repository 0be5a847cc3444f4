"""Which language the bot speaks with whom, and a `Messenger` that speaks it.

A person's language is their `/language` choice, else the one their Telegram app shows
(`language_code` of their latest update, kept in the store so that notices find it too),
else `default_language` from the config. A group chat hears the default language, except in
direct answers, which are in the language of the person answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import chosen_language, language_of, say
from bot.messenger import Button, Messenger
from bot.store import Store


class Languages:
    def __init__(self, store: Store, default: str) -> None:
        self._store = store
        self.default = chosen_language(default) or default
        #: (chosen, seen) per user, as in the store; not kept when several instances share the
        #: store, where a choice made through another instance must count at once
        self._known: dict[int, tuple[str | None, str | None]] = {}

    async def _of(self, user_id: int) -> tuple[str | None, str | None]:
        if user_id in self._known and not self._store.shared:
            return self._known[user_id]
        self._known[user_id] = await self._store.languages.of(user_id)
        return self._known[user_id]

    async def of_sender(self, user_id: int, code: str | None) -> str:
        """The language to answer a person in, whose Telegram app shows `code`; keeps `code`
        as the last one seen."""
        chosen, seen = await self._of(user_id)
        now = language_of(code) if code else None
        if now is not None and now != seen:
            await self._store.languages.saw(user_id, now)
            self._known[user_id] = (chosen, now)
        return chosen or now or seen or self.default

    async def of_chat(self, chat_id: int) -> str:
        """The language of a notice to a chat: a person's private chat (its id is theirs), or
        a group (the default language)."""
        if chat_id <= 0:
            return self.default
        chosen, seen = await self._of(chat_id)
        return chosen or seen or self.default

    async def chosen(self, user_id: int) -> str | None:
        return (await self._of(user_id))[0]

    async def choose(self, user_id: int, language: str | None) -> None:
        """Keep the person's choice (None: follow their Telegram app again)."""
        await self._store.languages.choose(user_id, language)
        self._known[user_id] = (language, (await self._of(user_id))[1])


class Speaking:
    """A `Messenger` that says every text and button label in the language of the chat it
    goes to."""

    def __init__(self, messenger: Messenger, languages: Languages) -> None:
        self._messenger = messenger
        self._languages = languages

    async def _said(
        self, chat_id: int, text: str, buttons: Sequence[Button]
    ) -> tuple[str, list[Button]]:
        language = await self._languages.of_chat(chat_id)
        return say(language, text), [(say(language, label), data) for label, data in buttons]

    async def send(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        said, labels = await self._said(chat_id, text, buttons)
        return await self._messenger.send(chat_id, said, labels)

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: str, buttons: Sequence[Button] = ()
    ) -> int:
        said, labels = await self._said(chat_id, caption, buttons)
        return await self._messenger.send_photo(chat_id, jpeg, said, labels)

    async def set_buttons(self, chat_id: int, message_id: int, buttons: Sequence[Button]) -> None:
        _, labels = await self._said(chat_id, "", buttons)
        await self._messenger.set_buttons(chat_id, message_id, labels)

    async def report(
        self, chat_id: int, message_id: int | None, text: str, quote: int | None = None
    ) -> None:
        said, _ = await self._said(chat_id, text, ())
        await self._messenger.report(chat_id, message_id, said, quote)

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: str) -> int:
        said, _ = await self._said(chat_id, caption, ())
        return await self._messenger.send_document(chat_id, name, data, said)

    async def download(self, file_id: str) -> bytes:
        return await self._messenger.download(file_id)
