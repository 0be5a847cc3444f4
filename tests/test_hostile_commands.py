"""Odd and hostile commands: each gets a clear answer or a clear refusal, and changes nothing."""

from __future__ import annotations

import datetime as dtm

from tests.conftest import LINKED_CHAT, OWNER, STRANGER, Bot
from tests.pictures import photo_bytes


async def test_an_anonymous_group_admin_is_asked_to_use_their_own_account(bot: Bot):
    chat = bot.telegram.group_chat(LINKED_CHAT, "Family chat")
    owner = bot.user(OWNER, "Olga")  # even an owner: an anonymous post could be anyone's
    await owner.send_photo(
        photo_bytes(), caption="/setgrouppic family", chat=chat, anonymously=True
    )
    answer = await bot.answer(chat)
    assert answer.startswith("I can't tell who you are when you post as a chat or channel.")
    assert bot.green.requests == [] and bot.telegram.downloads == []


async def test_commands_in_a_channel_post_are_ignored(bot: Bot):
    channel = bot.telegram.group_chat(-1009999999999, "News")
    bot.telegram.push_update(
        "channel_post",
        {
            "message_id": 1,
            "date": 1_700_000_000,
            "text": "/setgrouppic family",
            "chat": {"id": channel.id, "type": "channel", "title": "News"},
            "sender_chat": {"id": channel.id, "type": "channel", "title": "News"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 12}],
        },
    )
    await bot.deliver()
    assert bot.telegram.bot_messages(channel) == []
    assert bot.green.requests == []


async def test_editing_an_old_message_into_a_command_does_nothing(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    photo = await owner.send_photo(photo_bytes(), caption="nice picture")
    await bot.deliver()
    edited = {
        **photo,
        "caption": "/setgrouppic family",
        "caption_entities": [{"type": "bot_command", "offset": 0, "length": 12}],
        "edit_date": int(dtm.datetime.now().timestamp()),
    }
    bot.telegram.push_update("edited_message", edited)
    await bot.deliver()
    assert bot.telegram.bot_messages(owner) == []
    assert bot.green.requests == []


async def test_markup_in_arguments_is_echoed_as_plain_text(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    answer = await bot.say(owner, '/grouppic <b>x</b>"')
    assert answer.startswith("Sorry, there is no group called '<b>x</b>\"'")
    assert all("parse_mode" not in call.params for call in bot.telegram.calls("sendMessage"))


async def test_an_oversized_argument_gets_a_short_answer(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    answer = await bot.say(owner, "/grouppic " + "a" * 3000)
    assert answer.startswith("Sorry, there is no group called 'aaaa")
    assert len(answer) < 200
    assert bot.green.requests == []


async def test_a_stranger_gets_no_list_of_groups(bot: Bot):
    stranger = bot.user(STRANGER, "Mallory")
    answer = await bot.say(stranger, "/grouppic nope")
    assert answer == "Sorry, there is no group called 'nope'. You have no groups you may use."
    assert "family" not in answer and "work" not in answer
