"""End to end with all six providers configured side by side, the bot started as the README says.

One bot process serves one group on each of Green API, Wasend, GOWA, WAHA, Evolution API and
Whapi.Cloud, plus each account's own picture. What each provider must do is read from the README's
provider table: every "yes" must work through that provider and no other provider may hear of it;
every "no" must get the refusal naming what the provider cannot do, and no provider may hear of it.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from adapters import PROVIDER_KINDS
from tests.bot_process import (
    ROOT,
    answer_to,
    bot_env,
    confirm_removal,
    run_cli,
    running_bot,
    write_config,
)
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.fleet import KINDS, OWN, FakeAccount, serving
from tests.pictures import photo_bytes

#: the README table's columns, and how the bot says a provider cannot do each
COLUMNS = {
    "set group": "set a group picture",
    "remove group": "remove a group picture",
    "show group": "show a group picture",
    "set own": "set the account's own picture",
    "show own": "show the account's own picture",
}


@dataclass(frozen=True)
class Place:
    """One provider account in the config, and the one group it serves."""

    account: FakeAccount
    alias: str
    title: str
    group: str

    @property
    def name(self) -> str:
        return self.account.name


#: (provider name, kind, group alias, group title, group id)
LAYOUT = [
    ("green", "greenapi", "family", "Family", "120363000000000001@g.us"),
    ("wa", "wasend", "team", "Team", "120363000000000002@g.us"),
    ("gowa", "gowa", "club", "Club", "120363000000000003@g.us"),
    ("waha", "waha", "choir", "Choir", "120363000000000004@g.us"),
    ("evo", "evolution", "school", "School", "120363000000000005@g.us"),
    ("whapi", "whapi", "office", "Office", "1234567890-1600000000@g.us"),  # the older form
]


@dataclass(frozen=True)
class Row:
    """One row of the README's provider table."""

    label: str
    allowed: dict[str, bool]


def readme_table() -> dict[str, Row]:
    """kind -> its row: a cell starting with "no" is a no; "yes (by URL)", "with `own_jid`"
    (configured here) are yeses."""
    readme = (ROOT / "README.md").read_text()
    header = "| | " + " | ".join(COLUMNS) + " |"
    assert header in readme, "the README's provider table changed its columns"
    rows = {}
    for label, kind, cells in re.findall(r"^\| (.+?) \(`(\w+)`\) \|(.*)\|$", readme, re.M):
        values = [cell.strip() for cell in cells.split("|")]
        assert len(values) == len(COLUMNS), f"the README's row for {kind}: {values}"
        allowed = {
            column: not value.startswith("no")
            for column, value in zip(COLUMNS, values, strict=True)
        }
        rows[kind] = Row(label, allowed)
    return rows


@dataclass
class World:
    telegram: FakeTelegram
    places: list[Place]
    config: Path
    env: dict[str, str]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    places = [
        Place(KINDS[kind](name, [group]), alias, title, group)
        for name, kind, alias, title, group in LAYOUT
    ]
    accounts = [place.account for place in places]
    # the providers' pace would only slow the test down
    pace = {"group_interval_seconds": 0, "own_interval_seconds": 0}
    async with serve(telegram.app) as api, serving(accounts, **pace) as sections:
        config = write_config(
            tmp_path,
            {
                "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
                "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
                "owners": [OWNER],
                **sections,
                "groups": {
                    place.alias: {
                        "provider": place.name,
                        "chat_id": place.group,
                        "title": place.title,
                    }
                    for place in places
                },
            },
        )
        secrets = {key: value for account in accounts for key, value in account.env.items()}
        yield World(telegram, places, config, bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, **secrets))


def is_prepared_jpeg(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as picture:
        return (picture.format, picture.size) == ("JPEG", (640, 640))


class Session:
    """The owner's commands, each checked against what every provider received meanwhile."""

    def __init__(self, world: World) -> None:
        self.telegram = world.telegram
        self.owner = world.telegram.user(OWNER, "Olga")
        self.places = world.places

    def seen(self) -> dict[str, int]:
        return {place.name: place.account.requests_seen() for place in self.places}

    def called_since(self, seen: dict[str, int]) -> set[str]:
        """The providers that received a request since `seen`."""
        return {name for name, count in self.seen().items() if count != seen[name]}

    async def ask(self, text: str, *, photo: bool = False) -> str:
        if photo:
            sent = await self.owner.send_photo(photo_bytes(1500, 1000), caption=text)
        else:
            sent = await self.owner.send(text)
        return await answer_to(self.telegram, self.owner, sent)

    async def run(self, place: Place, column: str, *, allowed: bool) -> str:
        """The command of `column` on `place`'s group or account; the bot's final answer. A
        removal the bot should allow is confirmed with the button it should show."""
        name, alias = place.name, place.alias
        if column == "set group":
            return await self.ask(f"/setgrouppic {alias}", photo=True)
        if column == "show group":
            return await self.ask(f"/grouppic {alias}")
        if column == "set own":
            return await self.ask(f"/setprofilepic {name}", photo=True)
        if column == "show own":
            return await self.ask(f"/profilepic {name}")
        assert column == "remove group"
        if allowed:
            return await confirm_removal(self.telegram, self.owner, alias)
        return await self.ask(f"/delgrouppic {alias}")


def expected_answer(place: Place, column: str) -> str:
    """The answer that proves the command worked, with what the provider holds now."""
    account, title, group = place.account, place.title, place.group
    account_name = f"the WhatsApp account ({place.name})"
    return {
        "set group": f"Done: {title} has a new picture.\n{account.picture_of(group)}",
        "show group": f"The picture of {title}:\n{account.picture_of(group)}",
        "set own": f"Done: {account_name} has a new picture.\n{account.picture_of(OWN)}",
        "show own": f"The picture of {account_name}:\n{account.picture_of(OWN)}",
        "remove group": f"Done: the picture of {title} is removed.",
    }[column]


async def test_every_command_of_the_readme_table_through_six_providers_at_once(world: World):
    table = readme_table()
    assert set(table) == set(PROVIDER_KINDS), "the README's table: every kind"
    # the kinds answering at once with a URL; Telegram chats show a photo instead
    # (tests/test_e2e_telegram.py), the Cloud API confirms later (tests/test_e2e_cloudapi.py)
    assert set(KINDS) == set(PROVIDER_KINDS) - {"telegram", "cloudapi"}
    session = Session(world)
    # set before show, so there is a picture to show; remove last
    order = ["set group", "show group", "set own", "show own", "remove group"]
    async with running_bot(world.config, world.telegram, world.env):
        for place in world.places:
            row = table[place.account.kind]
            for column in order:
                seen = session.seen()
                calls = place.account.set_calls()
                answer = await session.run(place, column, allowed=row.allowed[column])
                what = f"{column} through {place.name}"
                if not row.allowed[column]:
                    assert answer == (
                        f"Sorry, {row.label} cannot {COLUMNS[column]}, so nothing was changed."
                    ), what
                    assert session.called_since(seen) == set(), what
                    continue
                assert answer == expected_answer(place, column), what
                assert session.called_since(seen) == {place.name}, what
                new_calls = place.account.set_calls()[len(calls) :]
                if column == "remove group":
                    assert new_calls == [] and place.account.picture_of(place.group) is None, what
                    continue
                target = OWN if column.endswith(" own") else place.group
                assert place.account.picture_of(target) is not None, what
                if column.startswith("set "):
                    assert [call.target for call in new_calls] == [target], what
                    assert is_prepared_jpeg(place.account.jpeg_of(target)), what
                else:
                    assert new_calls == [], what


def readme_check_example() -> list[str]:
    """The output the README shows for `python -m bot check` with its six example providers."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("python -m bot check --config config.yaml\n", 1)[1].split("```", 1)[0]
    return [line.removeprefix("# ") for line in block.splitlines()]


async def test_check_prints_one_line_per_provider_all_ok_as_the_readme_shows(world: World):
    done = await run_cli("check", config=world.config, env=world.env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [place.name for place in world.places]
    assert all(": ok - " in line for line in lines), lines
    assert lines == readme_check_example()
    assert world.telegram.calls() == []
    for place in world.places:
        assert place.account.set_calls() == [], f"check changed something on {place.name}"
        assert place.account.secret not in done.stdout + done.stderr
