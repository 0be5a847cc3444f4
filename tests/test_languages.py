"""The bot speaks each person's language: English, Russian or Brazilian Portuguese.

A Russian-, a Portuguese- and an English-speaking person each set a picture, are refused,
confirm (or not) a removal, propose a picture and see it approved, and hear only their own
language; notices go out in each recipient's language; /language overrides the app's language
and is kept; the command menu is registered per language. The catalogs themselves are checked
too: complete, nothing fuzzy, the same placeholders in every language, and up to date with the
code.
"""

from __future__ import annotations

import ast
import re
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot import texts
from bot.domain import Role
from bot.i18n import ENGLISH, LOCALE_DIR, say
from bot.languages import Languages
from bot.store import Store
from tests.conftest import (
    ADMIN,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    WORK,
    WORK_ADMIN,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.telegram import FakeUser
from tests.pictures import photo_bytes
from tests.test_approvals import gowa, team_bot  # noqa: F401 (fixtures)

ROOT = Path(__file__).parent.parent
SPEAKER = 500
CYRILLIC = re.compile("[а-яА-ЯёЁ]")
#: words that give an English sentence away (names, aliases and URLs have none of them)
ENGLISH_WORDS = re.compile(
    r"\b(the|your|you|picture|Done|Sorry|Approve|Reject|Keep|Remove|Working|proposal)\b"
)
PORTUGUESE_WORDS = re.compile(r"\b(foto|você|Pronto|Desculpe|Aprovar|Recusar|Manter|proposta)\b")

#: what each speaker reads at each step (Work's admin speaks the same language)
SAYS: dict[str, dict[str, str]] = {
    "en": {
        "done": "Done: Family has a new picture.\n",
        "refused": "Sorry, there is no group called 'nowhere'. You may use: family, team, work.",
        "question": "Remove the picture of Team? /undogrouppic puts it back.",
        "buttons": "Remove it|Keep it",
        "kept": "Kept: nothing was changed.",
        "proposed": "You may not make this change yourself, so I sent your picture for Work",
        "invitation": f"Uma ({SPEAKER}) proposes this picture for Work (work, via green).",
        "decide": "Approve|Reject",
        "approved now": "Approved: making the change now.",
        "approver done": "Done: Work has a new picture.\n",
        "requester hears": (
            f"Your proposal to change the picture of Work was approved by Walt ({WORK_ADMIN})."
            " Done.\nNew picture: "
        ),
        "decided": "✅ Approved by Walt",
    },
    "ru": {
        "done": "Готово: у Family новое фото.\n",
        "refused": "Извините, группы 'nowhere' нет. Вам доступны: family, team, work.",
        "question": "Удалить фото Team? Вернуть его можно командой /undogrouppic.",
        "buttons": "Удалить|Оставить",
        "kept": "Оставлено: ничего не изменилось.",
        "proposed": "Сами вы это изменить не можете, поэтому я отправил ваше фото для Work",
        "invitation": f"Uma ({SPEAKER}) предлагает это фото для Work (work, через green).",
        "decide": "Одобрить|Отклонить",
        "approved now": "Одобрено: меняю прямо сейчас.",
        "approver done": "Готово: у Work новое фото.\n",
        "requester hears": (
            f"Ваше предложение (сменить фото Work) одобрил(а) Walt ({WORK_ADMIN}). Готово.\n"
            "Новое фото: "
        ),
        "decided": "✅ Одобрил(а) Walt",
    },
    "pt-br": {
        "done": "Pronto: Family tem foto nova.\n",
        "refused": "Desculpe, não há grupo chamado 'nowhere'. Você pode usar: family, team, work.",
        "question": "Remover a foto de Team? Dá para desfazer com /undogrouppic.",
        "buttons": "Remover|Manter",
        "kept": "Mantida: nada mudou.",
        "proposed": (
            "Você não pode fazer essa mudança por conta própria, então mandei sua foto para Work"
        ),
        "invitation": f"Uma ({SPEAKER}) propõe esta foto para Work (work, via green).",
        "decide": "Aprovar|Recusar",
        "approved now": "Aprovada: fazendo a mudança agora.",
        "approver done": "Pronto: Work tem foto nova.\n",
        "requester hears": (
            f"Sua proposta de trocar a foto de Work foi aprovada por Walt ({WORK_ADMIN}). "
            "Pronto.\nFoto nova: "
        ),
        "decided": "✅ Aprovada por Walt",
    },
}


def assert_only(language: str, said: list[str]) -> None:
    """Every text in `said` is in `language` (by the words that give the others away)."""
    for text in said:
        if language == "ru":
            assert CYRILLIC.search(text) and not ENGLISH_WORDS.search(text), text
        elif language == "pt-br":
            assert not CYRILLIC.search(text) and not ENGLISH_WORDS.search(text), text
        else:
            assert not CYRILLIC.search(text) and not PORTUGUESE_WORDS.search(text), text


def everything_said_to(bot: Bot, user: FakeUser) -> list[str]:
    """Every message, caption and button label the bot showed `user`, and every answer to a
    press of theirs."""
    said = []
    for message in bot.telegram.bot_messages(user):
        said.append(message.content)
        said += [button["text"] for button in message.buttons()]
    return said


def button_labels(message: Any) -> str:
    return "|".join(button["text"] for button in message.buttons())


@pytest.fixture
async def bot_for_speakers(team_bot: Bot) -> Bot:  # noqa: F811 (the fixture)
    """The speaker is an admin of family (Green API) and of team (GOWA, which can remove
    pictures), and may propose pictures for work."""
    for alias, role in (("family", Role.ADMIN), ("team", Role.ADMIN), ("work", Role.REQUESTER)):
        await team_bot.store.grants.add(SPEAKER, alias, role, granted_by=OWNER)
    return team_bot


@pytest.mark.parametrize("language", ["en", "ru", "pt-br"])
async def test_each_speaker_sees_only_their_language(bot_for_speakers: Bot, language: str):
    bot, says = bot_for_speakers, SAYS[language]
    speaker = bot.user(SPEAKER, "Uma", language_code=language)
    approver = bot.user(WORK_ADMIN, "Walt", language_code=language)

    # set
    await speaker.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    assert (await bot.answer(speaker)).startswith(says["done"])
    # refusal
    assert await bot.say(speaker, "/setgrouppic nowhere") == says["refused"]
    # removal confirmation, and keeping the picture
    assert await bot.say(speaker, "/delgrouppic team") == says["question"]
    question = bot.telegram.bot_messages(speaker)[-1]
    assert button_labels(question) == says["buttons"]
    await speaker.press(question, f"keep:{SPEAKER}")
    assert await bot.answer(speaker) == says["kept"]
    # a proposal, to Work's admin, who speaks the same language
    await approver.send("/help")  # the bot learns the approver's language
    await speaker.send_photo(photo_bytes(800, 800), caption="/setgrouppic work")
    assert (await bot.answer(speaker)).startswith(says["proposed"])
    invitation = bot.telegram.bot_messages(approver)[-1]
    assert invitation.content.startswith(says["invitation"])
    assert button_labels(invitation) == says["decide"]
    # its approval
    await approver.press(invitation, "ap:1")
    await bot.deliver()
    presses = [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")]
    assert says["approved now"] in presses
    url = bot.green.avatar_of(WORK)
    assert bot.telegram.bot_messages(approver)[-1].content == says["approver done"] + str(url)
    assert bot.telegram.bot_messages(speaker)[-1].content == says["requester hears"] + str(url)
    assert button_labels(invitation) == says["decided"]

    for person in (speaker, approver):
        assert_only(language, everything_said_to(bot, person))
    assert_only(language, [text for text in presses if text])


async def test_notices_go_out_in_each_recipients_language(bot: Bot):
    """A Russian requester, a Portuguese admin who approves, an owner whose app is Portuguese
    and one the bot never heard from (the default language, English)."""
    requester = bot.user(REQUESTER, "Rita", language_code="ru")
    admin = bot.user(ADMIN, "Ada", language_code="pt-br")
    bot.user(OWNER, "Olga")  # never spoke to the bot
    await bot.say(bot.user(OTHER_OWNER, "Otto", language_code="pt"), "/groups")

    await requester.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    assert (await bot.answer(requester)).startswith("Сами вы это изменить не можете")
    invitation = bot.telegram.bot_messages(ADMIN)[-1]  # the admin has not spoken yet: default
    assert invitation.content.startswith(f"Rita ({REQUESTER}) proposes this picture for Family")
    await bot.say(admin, "/groups")  # now the bot knows the admin's language
    await admin.press(invitation, "ap:1")
    await bot.deliver()

    assert bot.telegram.bot_messages(ADMIN)[-1].content.startswith("Pronto: Family tem foto nova.")
    assert bot.telegram.bot_messages(REQUESTER)[-1].content.startswith(
        f"Ваше предложение (сменить фото Family) одобрил(а) Ada ({ADMIN}). Готово."
    )
    assert bot.telegram.bot_messages(OTHER_OWNER)[-1].content.startswith(
        f"Ada ({ADMIN}) trocou a foto de Family via green (proposto por Rita ({REQUESTER}))."
    )
    assert bot.telegram.bot_messages(OWNER)[-1].content.startswith(
        f"Ada ({ADMIN}) changed the picture of Family via green (proposed by Rita ({REQUESTER}))."
    )


async def test_a_chosen_language_is_kept_and_wins_over_the_app(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url)
    bot, application = await start_bot(raw, fake)
    admin = bot.user(ADMIN, "Ada", language_code="en")
    assert await bot.say(admin, "/language") == (
        "I speak English with you, as your Telegram app does. /language en, /language ru or "
        "/language pt changes it."
    )
    assert await bot.say(admin, "/language pt") == (
        "Pronto: vou falar Português (Brasil) com você."
    )
    assert await bot.say(admin, "/cancel") == "Não havia nada para cancelar."
    assert await bot.say(admin, "/language xx") == (
        "Desculpe, não é assim. Uso: /language en, /language ru ou /language pt."
    )
    await shut_down(application)

    bot, application = await start_bot(raw, fake, grants=False)  # the choice is in the store
    admin = bot.user(ADMIN, "Ada", language_code="en")
    assert await bot.say(admin, "/cancel") == "Não havia nada para cancelar."
    assert await bot.say(admin, "/language auto") == (
        "Done: I will speak the language of your Telegram app."
    )
    assert await bot.say(admin, "/cancel") == "There was nothing to cancel."
    await shut_down(application)


async def test_group_chats_hear_the_default_language(tmp_path, green):
    fake, url = green
    notify_chat = -100777
    raw = raw_config(tmp_path, url, notify_chat_id=notify_chat, default_language="ru")
    bot, application = await start_bot(raw, fake)
    bot.telegram.group_chat(notify_chat, "Объявления")
    admin = bot.user(ADMIN, "Ada", language_code="en")
    await admin.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    assert (await bot.answer(admin)).startswith("Done: Family has a new picture.")
    assert bot.telegram.bot_messages(notify_chat)[-1].content.startswith(
        f"Ada ({ADMIN}): фото Family изменено через green."
    )
    await shut_down(application)


async def test_the_command_menu_is_registered_in_every_language(bot: Bot):
    assert bot.menu()["setgrouppic"].startswith("set a group's picture")
    assert bot.menu("ru")["setgrouppic"].startswith("поставить фото группы")
    assert bot.menu("pt")["setgrouppic"].startswith("trocar a foto de um grupo")
    assert set(bot.menu()) == set(bot.menu("ru")) == set(bot.menu("pt"))
    assert "language" in bot.menu()


async def test_help_and_dates_are_in_the_readers_language(bot: Bot):
    admin = bot.user(ADMIN, "Ada", language_code="ru")
    assert (await bot.say(admin, "/help")).startswith("Что вам можно:\n\n/setgrouppic <группа>")
    requester = bot.user(REQUESTER, "Rita", language_code="pt-br")
    await requester.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    answer = await bot.answer(requester)
    # "aberta até 06/12/2026 14:05 UTC": the Brazilian way of writing the date
    assert re.search(r"aberta até \d\d/\d\d/\d{4} \d\d:\d\d UTC\)", answer), answer
    history = await bot.say(admin, "/history family")
    assert re.match(r"История family, сначала новое:\n\d\d\.\d\d\.\d{4}, \d\d:\d\d UTC ", history)


# the catalogs ----------------------------------------------------------------------------------


def catalogs() -> dict[str, Any]:
    found = {}
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/avatarops.po")):
        with po.open("rb") as source:
            found[po.parent.parent.name] = read_po(source, locale=po.parent.parent.name)
    return found


def test_russian_counts_in_its_three_plural_forms():
    for count, words in ((1, "1 группа"), (2, "2 группы"), (5, "5 групп"), (21, "21 группа")):
        assert say("ru", texts.your_groups(count)).startswith(f"У вас {words}:")
    assert say("ru", texts.queued(3)) == "В очереди: впереди 3 запроса…"
    assert say("pt_BR", texts.queued(3)) == "Na fila (3 na frente)…"


def test_every_catalog_entry_is_translated_and_none_is_fuzzy():
    assert set(catalogs()) == {"ru", "pt_BR"}
    for language, catalog in catalogs().items():
        assert not catalog.fuzzy, f"{language}: the catalog's header is fuzzy"
        for message in catalog:
            if not message.id:
                continue
            assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert strings and all(strings), f"{language}: untranslated {message.id!r}"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_placeholders_are_the_same_in_every_language():
    for language, catalog in catalogs().items():
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set().union(*map(_fields, ids))
            counted = {"n"} if isinstance(message.id, tuple) else set()  # ngettext's count
            for translation in strings:
                assert _fields(translation) - counted == wanted - counted, f"{language}: {ids}"


def test_the_catalogs_hold_every_sentence_of_the_code():
    """`pybabel extract` and `pybabel update` were run after the last change to a sentence."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    in_code = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map)
    }
    with (LOCALE_DIR / "avatarops.pot").open("rb") as source:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(source) if m.id}
    assert in_code == template, "run the extraction (README, Languages)"
    for language, catalog in catalogs().items():
        held = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert held == template, f"{language}: run pybabel update (README, Languages)"


# sentences outside the catalogs ------------------------------------------------------------------

#: the calls that send text to a person, and the position of their text argument
_SENDING = {"reply_text": 0, "edit_text": 0, "edit_message_text": 0, "answer": 0, "send_message": 1}
#: exceptions whose message a person reads
_REFUSALS = {"Refusal", "ImageRefused"}


def _untranslated(path: Path) -> list[str]:
    """Where `path` hands a person a literal sentence, or a handler sends text not said in the
    reader's language (`tr(...)`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if name in _REFUSALS and node.args:
            if isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                found.append(f"{where}: {name}() of a literal sentence")
        elif name in _SENDING and path.parent.name == "handlers" and path.name != "messenger.py":
            position = _SENDING[name]
            text = node.args[position] if len(node.args) > position else None
            if text is not None and not (
                isinstance(text, ast.Call) and getattr(text.func, "id", None) == "tr"
            ):
                found.append(f"{where}: {name}() of text not said with tr()")
    return found


def test_every_sentence_goes_through_the_catalogs():
    """A new sentence written in place (not with _() in bot/texts.py), or sent by a handler
    without tr(), would reach every reader in English."""
    files = sorted((ROOT / "bot").glob("*.py")) + sorted((ROOT / "handlers").glob("*.py"))
    assert [problem for path in files for problem in _untranslated(path)] == []


def test_the_catalogs_are_package_data():
    """A normal install (not only `pip install -e .`) carries every catalog: setuptools'
    package-data patterns match each file under bot/locale/."""
    with (ROOT / "pyproject.toml").open("rb") as source:
        patterns = tomllib.load(source)["tool"]["setuptools"]["package-data"]["bot"]
    package = ROOT / "bot"
    files = {path for path in (package / "locale").rglob("*") if path.is_file()}
    assert files and files == {path for pattern in patterns for path in package.glob(pattern)}


async def test_bulk_progress_summary_notice_and_kept_pictures_are_in_each_language(bot: Bot):
    """A Russian owner changes a list of groups (one of them unknown) and looks at the kept
    pictures; the other owner, whose app is Portuguese, hears the one notice in Portuguese."""
    owner = bot.user(OWNER, "Olga", language_code="ru")
    await bot.say(bot.user(OTHER_OWNER, "Otto", language_code="pt-br"), "/groups")
    await owner.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    assert (await bot.answer(owner)).startswith("Готово: у Family новое фото.")

    await owner.send_photo(photo_bytes(700, 700), caption="/setgrouppic family,work,nowhere")
    assert await bot.answer(owner) == (
        "Собираюсь сменить фото в 2 группах: family, work.\nНе трогаю:\n"
        "nowhere: группы 'nowhere' нет. Вам доступны: family, work."
    )
    question = bot.telegram.bot_messages(owner)[-1]
    assert button_labels(question) == "Сменить|Оставить"
    await owner.press(question, question.callback_data("Сменить"))
    await bot.deliver()
    await bot.services.notices_sent()
    summary = question.content.split("\n")
    assert summary[0] == "Готово: изменено 2 из 3 групп · 0 с ошибкой · 1 отказ."
    # what went wrong first, then the groups changed
    assert summary[1] == "⛔ nowhere: группы 'nowhere' нет. Вам доступны: family, work."
    shown = [revision.text for revision in question.history if revision.text]
    assert_only("ru", shown)  # the progress too, not only the summary
    assert bot.telegram.bot_messages(OTHER_OWNER)[-1].content.startswith(
        f"Olga ({OWNER}) trocou as fotos de 2 de 3 grupos de uma vez (falhas: 0; recusados: 1)."
    )

    assert await bot.say(owner, "/pictures family") == "Выберите, какое фото вернуть в Family:"
    captions = [m.caption for m in bot.telegram.bot_messages(owner) if m.caption]
    assert len(captions) == 2 and all("поставил(а) Olga" in caption for caption in captions)
    assert_only("ru", everything_said_to(bot, owner))


async def test_a_language_chosen_through_one_instance_counts_on_the_other(postgres_url: str):
    """Several instances on one store: a /language choice made through one is what the other
    answers in next, though it had seen that person before."""
    one, two = await Store.open(postgres_url), await Store.open(postgres_url)
    here, there = Languages(one, "en"), Languages(two, "en")
    assert await there.of_sender(OWNER, "en") == ENGLISH
    await here.choose(OWNER, "ru")
    assert await there.of_sender(OWNER, "en") == "ru"
    await one.close()
    await two.close()
