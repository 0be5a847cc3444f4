"""config.yaml: ${ENV} secrets, and one clear line naming the key for every mistake."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import adapters
from adapters.greenapi import GreenApiSettings
from bot.app import create_providers
from bot.config import ConfigError, load_config, parse_config

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
    assert sorted(p.kind for p in config.providers.values()) == sorted(adapters.PROVIDER_KINDS)
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
        (lambda c: c["telegram"].update(mode="webhook"), "webhook mode needs server.public_url"),
        (
            lambda c: c["groups"].update({"Bad Alias": {"provider": "green", "chat_id": "1@g.us"}}),
            "groups.Bad Alias: an alias is",
        ),
        (lambda c: c.update(colour="blue"), "colour: unknown setting"),
    ],
)
def test_a_mistake_names_its_key(change, expected):
    raw = example()
    change(raw)
    with pytest.raises(ConfigError) as error:
        parse_config(raw, ENV)
    assert expected in str(error.value)


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
    return subprocess.run(
        [sys.executable, "-m", "bot", *command, "--config", str(path)],
        cwd=ROOT,
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
