"""The Telegram side of bot/'s `Messenger`: python-telegram-bot calls, plain text only, each
button's data written by the codec."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters

from bot import fit
from bot.messenger import SaidButton
from handlers.callbacks import encode


def keyboard(buttons: Sequence[SaidButton]) -> InlineKeyboardMarkup | None:
    """One row of callback buttons; None for none."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=encode(press)) for label, press in buttons]]
    )


def in_rows(buttons: Sequence[InlineKeyboardButton], per_row: int) -> InlineKeyboardMarkup:
    """Buttons laid out `per_row` to a row (Telegram fits only a few side by side)."""
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


class TelegramMessenger:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(self, chat_id: int, text: str, buttons: Sequence[SaidButton] = ()) -> int:
        message = await self._bot.send_message(
            chat_id, fit.message(text), reply_markup=keyboard(buttons)
        )
        return message.message_id

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: str, buttons: Sequence[SaidButton] = ()
    ) -> int:
        message = await self._bot.send_photo(
            chat_id,
            jpeg,
            caption=fit.shorten(caption, fit.MAX_CAPTION),
            reply_markup=keyboard(buttons),
        )
        return message.message_id

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: Sequence[SaidButton]
    ) -> None:
        await self._bot.edit_message_reply_markup(
            chat_id, message_id, reply_markup=keyboard(buttons)
        )

    async def report(
        self, chat_id: int, message_id: int | None, text: str, quote: int | None = None
    ) -> None:
        if message_id is None:
            replying = (
                None if quote is None else ReplyParameters(quote, allow_sending_without_reply=True)
            )
            await self._bot.send_message(chat_id, fit.message(text), reply_parameters=replying)
        else:
            await self._bot.edit_message_text(fit.message(text), chat_id, message_id)

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: str) -> int:
        message = await self._bot.send_document(
            chat_id, data, filename=name, caption=fit.shorten(caption, fit.MAX_CAPTION)
        )
        return message.message_id

    async def download(self, file_id: str) -> bytes:
        file = await self._bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())
