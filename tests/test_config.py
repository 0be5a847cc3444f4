"""config.yaml: ${ENV} secrets, and one clear line naming the key for every mistake."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml

from adapters import PROVIDER_KINDS
from adapters.gowa import GowaSettings
from adapters.greenapi import GreenApiSettings
from bot.app import create_providers
from bot.config import AppConfig, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
ENV = {"TELEGRAM_BOT_TOKEN": "123:tg-secret", "GREEN_API_TOKEN": "green-secret"}


def example() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_shipped_example_loads_with_its_secrets_from_the_environment():
    config = parse_config(example(), ENV)
    assert config.telegram.token.get_secret_value() == "123:tg-secret"
    green = config.providers["green"]
    assert isinstance(green, GreenApiSettings)
    assert green.api_token_instance.get_secret_value() == "green-secret"
    assert config.groups["family"].chat_id == "120363043968066561@g.us"
    assert config.links == {-1001234567890: "family"}
    assert set(config.secrets()) == {"123:tg-secret", "green-secret"}
    assert "green-secret" not in repr(config)


async def test_every_provider_kind_commented_out_in_the_example_loads_when_uncommented():
    """The example shows every kind, the ones beside Green API commented out: uncommented, they
    must pass everything start-up checks (settings, group ids, Wasend's public URL)."""
    text = re.sub(
        r"^(\s*)# (\s*[\w-]+:.*)$", r"\1\2", (ROOT / "config.yaml").read_text(), flags=re.M
    )
    env = {name: f"{name.lower()}-secret" for name in re.findall(r"\$\{(\w+)\}", text)}
    config = parse_config(yaml.safe_load(text), env)
    assert sorted(p.kind for p in config.providers.values()) == sorted(PROVIDER_KINDS)
    assert {g.provider for g in config.groups.values()} == set(config.providers)
    providers = create_providers(config)  # checks the group ids and the public URL
    for provider in providers.values():
        await provider.aclose()


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c["telegram"].pop("token"), "telegram.token: missing"),
        (
            lambda c: c["providers"]["green"].update(kind="fax"),
            "providers.green.kind: unknown provider kind 'fax'",
        ),
        (
            lambda c: c["groups"]["family"].update(provider="blue"),
            "groups.family.provider: unknown provider 'blue'",
        ),
        (lambda c: c["links"].update({"-100": "nope"}), "links.-100: unknown group 'nope'"),
        (
            lambda c: c["providers"]["green"].pop("id_instance"),
            "providers.green.id_instance: missing",
        ),
        (lambda c: c.update(owners=[]), "owners:"),
        (lambda c: c.update(owners=[111, 10**22]), "owners.1: Input should be less than"),
        (lambda c: c["telegram"].update(mode="webhook"), "webhook mode needs server.public_url"),
        (
            lambda c: c["telegram"].update(messages_per_second=-1),
            "telegram.messages_per_second: Input should be greater than or equal to 0",
        ),
        (
            lambda c: c["groups"].update({"Bad Alias": {"provider": "green", "chat_id": "1@g.us"}}),
            "groups.Bad Alias: an alias is",
        ),
        (lambda c: c.update(colour="blue"), "colour: unknown setting"),
        (
            lambda c: c["providers"]["green"].pop("kind"),
            "providers.green.kind: missing (which provider is this?)",
        ),
        (
            lambda c: c["providers"]["green"].update(kind=5),
            "providers.green.kind: unknown provider kind '5' (known: cloudapi, evolution, gowa,"
            " greenapi, telegram, waha, wasend, whapi)",
        ),
        (
            lambda c: c["providers"]["green"].update(colour="blue"),
            "providers.green.colour: unknown setting",
        ),
        (
            lambda c: c["providers"].update(gowa={"kind": "gowa", "base_url": "ftp://x"}),
            "providers.gowa.base_url: must start with http:// or https://",
        ),
        (
            lambda c: c["providers"].update(
                gowa={"kind": "gowa", "base_url": "http://x", "username": "u"}
            ),
            "providers.gowa: username and password go together",
        ),
        (lambda c: c["providers"].update(green=5), "providers.green.kind: missing"),
        (
            lambda c: c.update(storage={"path": "x.sqlite3", "url": "postgresql://h/db"}),
            "storage: give either path (SQLite) or url (PostgreSQL), not both",
        ),
        (
            lambda c: c.update(storage={"url": "mysql://h/db"}),
            "storage: url must be a postgresql://user:password@host:port/db URL",
        ),
        (
            lambda c: c.update(timezone="Mars/Olympus"),
            "timezone: unknown time zone 'Mars/Olympus' (an IANA name, e.g. Europe/Berlin)",
        ),
        (
            lambda c: c.update(schedule={"max_late_minutes": 0}),
            "schedule.max_late_minutes: Input should be greater than 0",
        ),
    ],
)
def test_a_mistake_names_its_key(change, expected):
    raw = example()
    change(raw)
    with pytest.raises(ConfigError) as error:
        parse_config(raw, ENV)
    assert expected in str(error.value)


def test_provider_settings_are_one_pydantic_union_on_kind():
    """AppConfig itself reads each provider entry with its kind's model (no dispatch by hand)."""
    raw = example()
    raw["providers"]["green"]["api_token_instance"] = "t"
    raw["telegram"]["token"] = "1:x"
    raw["providers"]["gowa"] = {"kind": "gowa", "base_url": "http://127.0.0.1:3000"}
    config = AppConfig.model_validate(raw)
    assert type(config.providers["green"]) is GreenApiSettings
    assert type(config.providers["gowa"]) is GowaSettings


def test_every_registered_provider_declares_its_kind():
    for kind, provider in PROVIDER_KINDS.items():
        assert provider.kind == kind
        assert get_args(provider.settings_model.model_fields["kind"].annotation) == (kind,)


def test_a_postgresql_store_takes_its_password_from_the_environment_and_keeps_it_secret():
    raw = example()
    raw["storage"] = {"url": "postgresql://avatarops:${PG_PASSWORD}@db:5432/avatarops"}
    config = parse_config(raw, {**ENV, "PG_PASSWORD": "pg-secret"})
    assert config.storage.target == "postgresql://avatarops:pg-secret@db:5432/avatarops"
    assert "pg-secret" in config.secrets()  # masked in the logs
    assert "pg-secret" not in repr(config)
    assert parse_config(example(), ENV).storage.target == Path("data/avatarops.sqlite3")


def test_an_unset_environment_variable_names_the_key_and_the_variable():
    with pytest.raises(ConfigError) as error:
        parse_config(example(), {"TELEGRAM_BOT_TOKEN": "1:x"})
    assert str(error.value) == (
        "providers.green.api_token_instance: environment variable GREEN_API_TOKEN is not set"
    )


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("telegram: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def start(tmp_path, raw: dict, *command: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot [command] --config <raw written as config.yaml>`, to its end."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return cli(path, *command)


def cli(path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot [command] --config <path>`, to its end, run from the config's folder: the
    example's relative `data/` store is then the test's own, not the project's."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *command, "--config", str(path)],
        cwd=path.parent,
        env={**ENV, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_up_with_a_bad_config_prints_one_line_and_no_traceback(tmp_path):
    raw = example()
    raw["providers"]["green"]["kind"] = "fax"
    done = start(tmp_path, raw)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(
        "config error: providers.green.kind: unknown provider kind 'fax' (known:"
    )
    assert "greenapi" in line
    assert "Traceback" not in done.stderr


def test_a_group_id_in_the_wrong_format_is_refused_at_start_up(tmp_path):
    raw = example()
    raw["groups"]["family"]["chat_id"] = "family-chat"
    done = start(tmp_path, raw, "check")
    assert done.returncode == 2
    assert done.stderr.startswith("config error: groups.family.chat_id:")


def test_an_unreachable_telegram_is_one_line_without_the_token(tmp_path):
    raw = example()
    raw["telegram"]["api_base_url"] = "http://127.0.0.1:9"  # nothing listens on the discard port
    done = start(tmp_path, raw)
    assert done.returncode == 1
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: could not reach Telegram at http://127.0.0.1:9")
    assert "Traceback" not in done.stderr and "tg-secret" not in done.stderr


@pytest.mark.parametrize("command", ["grant", "revoke"])
@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("1" * 23, "is too big for a Telegram user id (they fit in 52 bits"),
        ("0", "a user id does not start with 0"),
        ("x1", "a user id is a number"),
    ],
)
def test_the_command_line_refuses_a_user_id_telegram_cannot_have(
    tmp_path, command: str, user: str, reason: str
):
    raw = example()
    raw["storage"] = {"path": str(tmp_path / "store.sqlite3")}
    done = start(tmp_path, raw, command, user, "family", *(["admin"] * (command == "grant")))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and reason in line
    assert "Traceback" not in done.stderr


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only line the command printed, after checking it failed without a traceback."""
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    return line


EXAMPLE_TEXT = (ROOT / "config.yaml").read_text()


@pytest.mark.parametrize("command", [[], ["check"], ["grant", "222", "family", "admin"]])
def test_a_config_path_that_is_a_directory_is_one_line(tmp_path, command: list[str]):
    assert one_line(cli(tmp_path, *command)) == (
        f"config error: {tmp_path}: is a directory, not a config file"
    )


@pytest.mark.parametrize("command", [[], ["check"], ["grant", "222", "family", "admin"]])
def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path, command: list[str]):
    path = tmp_path / "config.yaml"
    path.write_bytes(EXAMPLE_TEXT.replace("Family", "Famille été").encode("latin-1"))
    line = one_line(cli(path, *command))
    assert line.startswith(f"config error: {path}: not UTF-8 text (line ")


def test_a_key_given_twice_in_one_mapping_is_named_with_its_lines(tmp_path):
    path = tmp_path / "config.yaml"
    text = EXAMPLE_TEXT.replace("storage:\n", "storage:\n  path: data/first.sqlite3\n", 1)
    assert text != EXAMPLE_TEXT
    path.write_text(text)
    first = text.splitlines().index("  path: data/first.sqlite3") + 1
    assert one_line(cli(path, "check")) == (
        f"config error: {path}, line {first + 1}: the key 'path' appears twice in one mapping"
        f" (first on line {first})"
    )


def test_the_same_key_in_different_mappings_and_merge_keys_are_fine(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "base: &base {provider: green, title: X}\n"
        "telegram: {token: '1:x'}\nowners: [1]\n"
        "providers: {green: {kind: greenapi, api_url: 'http://h', id_instance: '1',"
        " api_token_instance: t}}\n"
        "groups:\n"
        "  a: {<<: *base, chat_id: '120363043968066561@g.us', title: A}\n"
        "  b: {<<: *base, chat_id: '120363043968066562@g.us'}\n"
    )
    with pytest.raises(ConfigError, match="base: unknown setting"):
        load_config(path)  # parsed fine: only the made-up top-level key is refused


@pytest.mark.parametrize("command", [["check"], ["grant", "222", "family", "admin"], []])
@pytest.mark.parametrize("where", ["under a file", "a directory"])
def test_a_storage_path_that_cannot_be_created_is_one_line(
    tmp_path, command: list[str], where: str
):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    storage = blocker / "db.sqlite3" if where == "under a file" else tmp_path
    raw = example()
    raw["storage"] = {"path": str(storage)}
    raw["telegram"]["api_base_url"] = "http://127.0.0.1:9"  # never reached
    line = one_line(start(tmp_path, raw, *command))
    assert line.startswith(f"config error: storage.path: cannot create or open {storage}: ")


async def test_instances_on_postgresql_serving_media_links_need_one_media_secret():
    """A URL-only provider fetches from whichever instance the balancer picks: on PostgreSQL
    the link-signing secret comes from the config (and stays out of the logs)."""
    server: dict[str, str] = {"public_url": "https://bot.example.org"}
    raw = {
        "telegram": {"token": "${TELEGRAM_BOT_TOKEN}"},
        "storage": {"url": "postgresql://avatarops:pw@db.example.com/avatarops"},
        "owners": [1],
        "providers": {"wa": {"kind": "wasend", "api_key": "k", "session_id": "s"}},
        "server": server,
    }
    with pytest.raises(ConfigError, match=r"providers.wa: .* set server.media_secret"):
        create_providers(parse_config(raw, ENV))
    server["media_secret"] = "${MEDIA_SECRET}"
    config = parse_config(raw, {**ENV, "MEDIA_SECRET": "media-secret-0123456789"})
    assert "media-secret-0123456789" in config.secrets()
    for provider in create_providers(config).values():
        await provider.aclose()


PG_PASSWORD = "pa/ss#wo?rd@SECRET"


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda c: c.update(server={"webhook_secret": "has spaces!"}),
            "config error: server.webhook_secret: Telegram takes 1 to 256 of A-Z, a-z, 0-9, _ and"
            " - here",
        ),
        (
            lambda c: c.update(server={"public_url": "bot.example.com"}),
            "config error: server.public_url: must start with http:// or https:// and name a host",
        ),
        (
            lambda c: c.update(server={"listen": "127.0.0.1:70000"}),
            "config error: server.listen: the port must be from 1 to 65535",
        ),
        (
            lambda c: c.update(server={"listen": "::1:8080"}),
            "config error: server.listen: write an IPv6 address in brackets, e.g. [::1]:8080",
        ),
        (
            lambda c: c["providers"]["green"].update(api_token_instance="${EMPTY}"),
            "config error: providers.green.api_token_instance: empty (is its variable set?)",
        ),
        (
            lambda c: c.update(storage={"url": "postgresql://avatarops:${PG_PASSWORD}@db/x"}),
            "config error: storage.url: the user name or password holds '/', '?', '#' or '@':"
            " percent-encode it (e.g. '/' as %2F) or give the password as storage.password",
        ),
        (
            lambda c: c.update(
                storage={"url": "postgresql://avatarops:${PG_PORT_PASSWORD}@db:54x2/x"}
            ),
            "config error: storage.url: the port must be a number from 1 to 65535",
        ),
    ],
)
@pytest.mark.parametrize("command", [["check"], []])
def test_check_refuses_in_one_line_what_start_up_would_refuse(
    tmp_path, change, expected: str, command: list[str]
):
    """`check` and start-up refuse the same settings, in one line that never shows a secret."""
    raw = example()
    raw["storage"] = {"path": str(tmp_path / "store.sqlite3")}
    raw["telegram"]["api_base_url"] = "http://127.0.0.1:9"  # never reached
    change(raw)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command, "--config", str(path)],
        cwd=ROOT,
        env={
            **ENV,
            "PATH": "",
            "EMPTY": "",
            "PG_PASSWORD": PG_PASSWORD,
            "PG_PORT_PASSWORD": "plain-SECRET",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert one_line(done) == expected
    assert "SECRET" not in done.stderr + done.stdout


def test_a_postgresql_password_given_apart_from_the_url_needs_no_encoding():
    raw = example()
    raw["storage"] = {"url": "postgresql://avatarops@db:5432/x", "password": "${PG_PASSWORD}"}
    config = parse_config(raw, {**ENV, "PG_PASSWORD": PG_PASSWORD})
    assert config.storage.target == ("postgresql://avatarops:pa%2Fss%23wo%3Frd%40SECRET@db:5432/x")
    assert PG_PASSWORD in config.secrets()
    raw["storage"]["url"] = "postgresql://avatarops:other@db:5432/x"
    with pytest.raises(ConfigError, match="storage: give the password either in url or as"):
        parse_config(raw, {**ENV, "PG_PASSWORD": PG_PASSWORD})


@pytest.mark.parametrize("command", [[], ["check"], ["grant", "222", "family", "admin"]])
def test_a_store_a_newer_version_migrated_stops_every_command_in_one_line(
    tmp_path, command: list[str]
):
    from bot.store import MIGRATIONS

    store = tmp_path / "store.sqlite3"
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw = example()
    raw["storage"] = {"path": str(store)}
    raw["telegram"]["api_base_url"] = "http://127.0.0.1:9"  # never reached
    done = start(tmp_path, raw, *command)
    assert done.returncode == 1, done
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: the store is at schema version {len(MIGRATIONS) + 1}, which")
