"""Which language the bot speaks with whom, and a `Messenger` that speaks it.

A person's language is their `/language` choice, else the one their Telegram app shows
(`language_code` of their latest update, kept in the store so that notices find it too),
else `default_language` from the config. A group chat hears the default language, except in
direct answers, which are in the language of the person answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Text, chosen_language, language_of, say
from bot.messenger import Button, Outbox, SaidButton
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
    """The `Messenger` bot/ is given: says every text and button label in the language of the
    chat it goes to, and hands them to the Telegram side."""

    def __init__(self, messenger: Outbox, languages: Languages) -> None:
        self._messenger = messenger
        self._languages = languages

    async def send(self, chat_id: int, text: Text, buttons: Sequence[Button] = ()) -> int:
        language = await self._languages.of_chat(chat_id)
        return await self._messenger.send(
            chat_id, say(language, text), _labelled(language, buttons)
        )

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: Text, buttons: Sequence[Button] = ()
    ) -> int:
        language = await self._languages.of_chat(chat_id)
        return await self._messenger.send_photo(
            chat_id, jpeg, say(language, caption), _labelled(language, buttons)
        )

    async def set_buttons(self, chat_id: int, message_id: int, buttons: Sequence[Button]) -> None:
        language = await self._languages.of_chat(chat_id)
        await self._messenger.set_buttons(chat_id, message_id, _labelled(language, buttons))

    async def report(
        self, chat_id: int, message_id: int | None, text: Text, quote: int | None = None
    ) -> None:
        language = await self._languages.of_chat(chat_id)
        await self._messenger.report(chat_id, message_id, say(language, text), quote)

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: Text) -> int:
        language = await self._languages.of_chat(chat_id)
        return await self._messenger.send_document(chat_id, name, data, say(language, caption))

    async def download(self, file_id: str) -> bytes:
        return await self._messenger.download(file_id)


def _labelled(language: str, buttons: Sequence[Button]) -> list[SaidButton]:
    return [(say(language, label), press) for label, press in buttons]
