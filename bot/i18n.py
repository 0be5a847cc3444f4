"""Saying a sentence in the reader's language.

Every sentence the bot sends is written in bot/texts.py with `_()` (or `ngettext()` when it
counts something). Each call makes a `Text`: a `str` whose value is the English sentence (so
the store, the logs and code that only needs a string keep working unchanged) and that can be
said again in another language with `say(language, text)`. Placeholders are `{name}`; a value
that is itself a `Text` is said in the same language; anything else (a group's title, a
provider's own words) is inserted as it is.

The translations are gettext catalogs, bot/locale/<language>/LC_MESSAGES/avatarops.po,
compiled in memory with Babel the first time a language is used (no .mo file can be stale).
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "avatarops"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH = "en"
#: the languages the bot speaks (gettext names); English is the source language
LANGUAGES = (ENGLISH, "ru", "pt_BR")
#: what `/language` takes and what setMyCommands' language_code gets, per language
CODES = {ENGLISH: "en", "ru": "ru", "pt_BR": "pt"}

#: the language of the person whose update is being handled (set by handlers/ per update)
_reader: ContextVar[str] = ContextVar("avatarops_reader", default=ENGLISH)


def language_of(code: str | None, default: str = ENGLISH) -> str:
    """The language to speak for a Telegram `language_code` (IETF tag such as "pt-br"):
    Russian for ru*, Brazilian Portuguese for pt*, English for anything else; `default` when
    Telegram tells none."""
    if not code:
        return default
    base = code.replace("_", "-").split("-")[0].lower()
    return {"ru": "ru", "pt": "pt_BR"}.get(base, ENGLISH)


def chosen_language(word: str) -> str | None:
    """The language a person names in `/language en|ru|pt`; None for any other word."""
    word = word.replace("_", "-").lower()
    return {"en": ENGLISH, "ru": "ru", "pt": "pt_BR", "pt-br": "pt_BR"}.get(word)


@functools.cache
def catalog(language: str) -> gettext.NullTranslations:
    """The translations of `language`, compiled from its .po file (English: none needed)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == ENGLISH or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        messages = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, messages)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Text(str):
    """A sentence: its `str` value is English; `say(language, text)` says it in another."""

    _render: Callable[[str], str]

    def __new__(cls, render: Callable[[str], str]) -> Text:
        text = super().__new__(cls, render(ENGLISH))
        text._render = render
        return text

    def in_language(self, language: str) -> str:
        return self._render(language)


def say(language: str, text: object) -> str:
    """`text` in `language`: a `Text` is translated, anything else is shown as it is."""
    return text.in_language(language) if isinstance(text, Text) else str(text)


def renderings(text: Text) -> dict[str, str]:
    """`text` said in every language the bot speaks: how a sentence is kept in the store, so
    that whichever instance reads it later (after a restart, or taking over) says it in its
    reader's language."""
    return {language: text.in_language(language) for language in LANGUAGES}


def from_renderings(said: dict[str, str]) -> Text:
    """A sentence kept with `renderings` (English for a language it was not kept in)."""
    return Text(lambda language: said.get(language, said[ENGLISH]))


def _fill(language: str, template: str, params: dict[str, object]) -> str:
    return template.format(**{name: say(language, value) for name, value in params.items()})


def _(message: str, **params: object) -> Text:
    """A sentence to translate; `{name}` placeholders are filled from `params`."""
    return Text(lambda language: _fill(language, catalog(language).gettext(message), params))


def ngettext(singular: str, plural: str, count: int, **params: object) -> Text:
    """A sentence that counts `count` (the placeholder `{n}`, unless `params` gives `n` another
    way to write it), in each language's plural forms."""
    values = {"n": count, **params}
    return Text(
        lambda language: _fill(
            language, catalog(language).ngettext(singular, plural, count), values
        )
    )


def sentence(text: object) -> Text:
    """`text` with a capital first letter and a full stop (unless it ends with one)."""

    def render(language: str) -> str:
        said = say(language, text).strip()
        said = said[:1].upper() + said[1:]
        return said if said.endswith((".", "?", "!")) else said + "."

    return Text(render)


def joined(separator: str, parts: Iterable[object]) -> Text:
    """`parts` said in the same language, joined by `separator`."""
    items = list(parts)
    return Text(lambda language: separator.join(say(language, part) for part in items))


def cut(text: object, limit: int) -> Text:
    """`text` cut to `limit` characters in whichever language it is said (Telegram's limits
    for alerts and such)."""

    def render(language: str) -> str:
        said = say(language, text)
        return said if len(said) <= limit else said[: limit - 1] + "…"

    return Text(render)


def moment(when: datetime | str) -> Text:
    """A date and time (UTC) as the reader's locale writes it; English keeps the sortable
    2026-12-06 14:05 UTC."""
    value = datetime.fromisoformat(when) if isinstance(when, str) else when
    value = value.astimezone(UTC)

    def render(language: str) -> str:
        if language == ENGLISH:
            return value.strftime("%Y-%m-%d %H:%M UTC")
        return format_datetime(value, "short", tzinfo=UTC, locale=language) + " UTC"

    return Text(render)


def local_moment(when: datetime, zone: str) -> Text:
    """A moment in the reader's time zone `zone`, with the zone named, as the reader's locale
    writes a weekday, day, month and time: `Tue 24 Dec 18:00 (Europe/Moscow)`."""
    tzinfo = ZoneInfo(zone)
    value = when.astimezone(tzinfo)

    def render(language: str) -> str:
        locale = "en_GB" if language == ENGLISH else language
        said = format_datetime(value, "EEE d MMM HH:mm", tzinfo=tzinfo, locale=locale)
        return f"{said} ({zone})"

    return Text(render)


def from_now(span: timedelta) -> Text:
    """How far ahead a moment is, as the reader's locale says it: `in 3 days`, `через 3 дня`."""
    span = max(span, timedelta(seconds=1))
    return Text(
        lambda language: format_timedelta(
            span, add_direction=True, locale="en" if language == ENGLISH else language
        )
    )


# the reader of the update being handled ---------------------------------------------------------


def reading(language: str) -> None:
    """Say the replies to the update being handled in `language` (handlers/ call this once per
    update; each update is handled in its own task, so readers do not mix)."""
    _reader.set(language)


def reader() -> str:
    return _reader.get()


def tr(text: object) -> str:
    """`text` in the language of the person whose update is being handled."""
    return say(_reader.get(), text)
