"""Lists that grow with the groups, people or entries (/groups, /admins, /history, /scheduled),
shown a page at a time with ◀ ▶ buttons.

A page holds at most PAGE_ITEMS entries, each cut to its share of PAGE_ITEMS * ITEM characters
(ITEM on a full page), so a page stays within
Telegram's 4,096 characters and its buttons within 100 whatever the list holds. The buttons
carry only the asker, the list, the page and the group asked about (`callbacks.Page`): a press
reads the list again with the asker's rights at that moment, so a page shows only what the
asker may still see, and a page past the end (the list shrank, or the data was forged) shows
the last one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot import fit, texts
from bot.app import UseCases
from bot.config import ALIAS_PATTERN
from bot.domain import Actor, Refusal
from bot.i18n import Text, joined
from bot.words import short
from handlers.callbacks import Callback, Page, encode
from handlers.common import Handler, asker_pressed, message_of, query_of, services_of, with_actor
from handlers.replies import sorry, tr

#: entries on one page, and the characters one entry may take: 20 * 180 leaves room for the
#: heading and the page line within Telegram's 4,096 (a page with fewer entries lets each
#: take its share of the same PAGE_ITEMS * ITEM)
PAGE_ITEMS = 20
ITEM = 180
#: the buttons of a page's entries, to a row
BUTTONS_PER_ROW = 5
PREVIOUS, NEXT = "◀", "▶"
T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """One entry of a list, and the button that acts on it (its label and value), if any,
    and a second one beside it (Skip next beside Stop)."""

    line: object
    button: tuple[object, Callback] | None = None
    also: tuple[object, Callback] | None = None


@dataclass(frozen=True)
class Listing:
    """One page of a list: its heading and entries; `pages` when the list's length is known
    (else `more` says whether a later page has entries)."""

    head: object
    items: Sequence[Item]
    page: int = 1
    pages: int | None = 1
    more: bool = False


def alias(name: str) -> str:
    """A group named in a command, as a page's buttons carry it; a name no group can have is
    refused as the group it cannot be."""
    lowered = name.lower()
    if not re.fullmatch(ALIAS_PATTERN, lowered):
        raise Refusal(texts.no_group_called(short(name)))
    return lowered


def page_of(
    head: object, entries: Sequence[T], page: int, item: Callable[[int, T], Item]
) -> Listing:
    """Page `page` (from 1) of a list read whole, its entries made `item(number, entry)` (the
    number from 1 over the whole list) for that page alone: thousands of groups cost the
    wording of twenty; a page past the end is the last one."""
    pages = count(len(entries))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE_ITEMS
    shown = entries[start : start + PAGE_ITEMS]
    return Listing(head, [item(start + n, entry) for n, entry in enumerate(shown, 1)], page, pages)


def count(total: int) -> int:
    """The pages of a list of `total` entries."""
    return max(1, -(-total // PAGE_ITEMS))


def window(page: int) -> tuple[int, int]:
    """The entries of page `page` of a list read a page at a time: how many come before it,
    and how many it holds."""
    return (max(page, 1) - 1) * PAGE_ITEMS, PAGE_ITEMS


def counted(head: object, items: Sequence[Item], page: int, total: int) -> Listing:
    """A page read alone (see `window`) of a list of `total` entries."""
    return Listing(head, items, min(max(page, 1), count(total)), count(total))


#: a list: the use cases, who asks, the view's code (callbacks.Page.view), the group asked
#: about, the page -> that page
View = Callable[[UseCases, Actor, str, str | None, int], Awaitable[Listing]]
_VIEWS: dict[str, View] = {}


def view(code: str) -> Callable[[View], View]:
    """Register a list under the first letter of its code (see callbacks._VIEW)."""

    def register(function: View) -> View:
        _VIEWS[code] = function
        return function

    return register


def shown(
    listing: Listing, asker: int, code: str, alias: str | None
) -> tuple[Text, InlineKeyboardMarkup | None]:
    """The text and keyboard of a page."""
    lines: list[object] = [listing.head]
    share = max(ITEM, PAGE_ITEMS * ITEM // max(len(listing.items), 1))
    lines += [fit.shorten(item.line, share) for item in listing.items]
    if listing.pages is None:
        if listing.page > 1 or listing.more:
            lines.append(texts.page_of_many(listing.page))
    elif listing.pages > 1:
        lines.append(texts.page_of(listing.page, listing.pages))
    entries = [
        InlineKeyboardButton(tr(label), callback_data=encode(value))
        for item in listing.items
        for label, value in [button for button in (item.button, item.also) if button]
    ]
    rows = [entries[i : i + BUTTONS_PER_ROW] for i in range(0, len(entries), BUTTONS_PER_ROW)]
    turns = []
    if listing.page > 1:
        back = Page(asker, code, listing.page - 1, alias)
        turns.append(InlineKeyboardButton(PREVIOUS, callback_data=encode(back)))
    last = listing.pages if listing.pages is not None else listing.page + int(listing.more)
    if listing.page < last:
        ahead = Page(asker, code, listing.page + 1, alias)
        turns.append(InlineKeyboardButton(NEXT, callback_data=encode(ahead)))
    if turns:
        rows.append(turns)
    return fit.message(joined("\n", lines)), InlineKeyboardMarkup(rows) if rows else None


async def first_page(
    message: Message, cases: UseCases, actor: Actor, code: str, alias: str | None
) -> None:
    """Reply with the first page of a list (a refusal: "Sorry, …")."""
    try:
        listing = await _VIEWS[code[0]](cases, actor, code, alias, 1)
    except Refusal as refusal:
        await message.reply_text(tr(sorry(refusal.reason)))
        return
    text, keyboard = shown(listing, actor.user_id, code, alias)
    await message.reply_text(tr(text), reply_markup=keyboard)


#: a command's arguments -> the view's code and the group asked about; Refusal for bad ones
Parse = Callable[[list[str]], tuple[str, str | None]]


def command(parse: Parse) -> Handler:
    """The handler of a command that shows a list with pages."""

    @with_actor
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
        message = message_of(update)
        try:
            code, alias = parse(list(context.args or []))
        except Refusal as refusal:
            await message.reply_text(tr(sorry(refusal.reason)))
            return
        await first_page(message, await services_of(context).use_cases(), actor, code, alias)

    return handler


async def turned(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: Message, value: Page
) -> None:
    """◀ / ▶: only the asker may turn the page; the list is read again with their rights."""
    actor = await asker_pressed(update, value.asker)
    if actor is None:
        return
    cases = await services_of(context).use_cases()
    try:
        listing = await _VIEWS[value.view[0]](cases, actor, value.view, value.alias, value.page)
    except Refusal as refusal:
        await query_of(update).edit_message_text(tr(sorry(refusal.reason)))
        return
    text, keyboard = shown(listing, actor.user_id, value.view, value.alias)
    if tr(text) == pressed.text and keyboard == pressed.reply_markup:
        return  # the same page (a page past the end, turned again): nothing to change
    await pressed.edit_text(tr(text), reply_markup=keyboard)
