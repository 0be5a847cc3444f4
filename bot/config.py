"""config.yaml as pydantic models, with `${VAR}` secrets read from the environment.

Every problem is reported as one line naming the key (`ConfigError`), never as a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from adapters import PROVIDER_KINDS, AnyProviderSettings, provider_class
from bot.domain import Guard
from bot.ids import ID_LIMIT
from bot.retry import RetryPolicy

try:  # libyaml's parser (in PyYAML's wheels): thousands of groups parse ten times faster
    from yaml import CSafeLoader as _FastSafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as _FastSafeLoader  # type: ignore[assignment]

ALIAS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(Exception):
    """A config problem, worded as `key.path: what is wrong` (one line per problem)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TelegramSettings(Section):
    token: SecretStr
    #: a self-hosted Bot API server; the bot uses <api_base_url>/bot<token>/
    api_base_url: str = "https://api.telegram.org"
    mode: Literal["polling", "webhook"] = "polling"
    #: the bot's own pace toward the Bot API, all chats together: Telegram's flood limit is
    #: about 30 messages a second; 0 lifts it (a self-hosted Bot API server, benchmarks)
    messages_per_second: float = Field(default=30, ge=0)
    #: the least time between two edits of one message that shows a list's progress (Telegram
    #: refuses a message edited too often); 0 for a self-hosted Bot API server, or tests
    edit_interval_seconds: float = Field(default=2.0, ge=0)


def _url_parts_read_back(url: SecretStr | None) -> SecretStr | None:
    """A URL whose parts read back as written; the messages never quote it (it holds the
    password)."""
    if url is None or "://" not in url.get_secret_value():
        return url
    userinfo = url.get_secret_value().split("://", 1)[1].rpartition("@")[0]
    if any(mark in userinfo for mark in "/?#@"):
        raise ValueError(
            "the user name or password holds '/', '?', '#' or '@': percent-encode it"
            " (e.g. '/' as %2F) or give the password as storage.password"
        )
    try:
        urlsplit(url.get_secret_value()).port  # noqa: B018 (reading it checks it)
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    return url


class StorageSettings(Section):
    """SQLite (`path`, the default) or PostgreSQL (`url`), never both."""

    path: Path = Path("data/avatarops.sqlite3")
    #: postgresql://user:password@host:5432/database (the password usually as ${PG_PASSWORD})
    url: Annotated[SecretStr | None, AfterValidator(_url_parts_read_back)] = None
    #: the password apart from the URL, as it is (no percent-encoding needed): ${PG_PASSWORD}
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _one_store(self) -> StorageSettings:
        if self.url is None:
            if self.password is not None:
                raise ValueError("password belongs to a PostgreSQL store: give url too")
            return self
        if "path" in self.model_fields_set:
            raise ValueError("give either path (SQLite) or url (PostgreSQL), not both")
        url = self.url.get_secret_value()
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("url must be a postgresql://user:password@host:port/db URL")
        if self.password is not None and urlsplit(url).password is not None:
            raise ValueError("give the password either in url or as password, not both")
        return self

    @property
    def target(self) -> str | Path:
        """What `Store.open` opens: the PostgreSQL URL (with `password` percent-encoded into
        it), or else the SQLite file."""
        if self.url is None:
            return self.path
        url = self.url.get_secret_value()
        if self.password is None:
            return url
        parts = urlsplit(url)
        user, _, host = parts.netloc.rpartition("@")
        secret = quote(self.password.get_secret_value(), safe="")
        return urlunsplit(parts._replace(netloc=f"{user}:{secret}@{host}"))

    def secrets(self) -> list[str]:
        """The store's password, as given and as it appears in the URL."""
        if self.url is None:
            return []
        found = [self.password.get_secret_value()] if self.password else []
        in_url = urlsplit(self.url.get_secret_value()).password
        return found + ([in_url, unquote(in_url)] if in_url else [])


class GroupSettings(Section):
    provider: str
    chat_id: str = Field(min_length=1)
    title: str | None = None
    #: what the bot does about a picture changed outside it, when `watch:` is on (bot/watch.py)
    guard: Guard = Guard.NOTIFY


#: what Telegram accepts as a webhook's `secret_token`
WEBHOOK_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,256}$"


def _http_url(url: str | None) -> str | None:
    if url is not None and not re.match(r"^https?://[^/?#\s]+", url):
        raise ValueError("must start with http:// or https:// and name a host")
    return url


def _telegram_secret(secret: SecretStr | None) -> SecretStr | None:
    if secret is not None and not re.match(WEBHOOK_SECRET_PATTERN, secret.get_secret_value()):
        raise ValueError("Telegram takes 1 to 256 of A-Z, a-z, 0-9, _ and - here")
    return secret


def _listen_address(listen: str) -> str:
    """host:port, an IPv6 host in brackets ([::1]:8080), a port from 1 to 65535."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080")
    if not 1 <= int(port) <= 65535:
        raise ValueError("the port must be from 1 to 65535")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise ValueError("write an IPv6 address in brackets, e.g. [::1]:8080")
    return listen


class ServerSettings(Section):
    listen: Annotated[str, AfterValidator(_listen_address)] = "127.0.0.1:8080"
    #: how Telegram and the providers reach this server (behind a reverse proxy)
    public_url: Annotated[str | None, AfterValidator(_http_url)] = None
    webhook_secret: Annotated[SecretStr | None, AfterValidator(_telegram_secret)] = None
    media_ttl_seconds: float = Field(default=600, gt=0)
    #: signs media links; needed when several instances serve them (a PostgreSQL store), so
    #: that each accepts the others' links (usually ${MEDIA_SECRET}; any long random string)
    media_secret: SecretStr | None = Field(default=None, min_length=16)
    #: when set, GET /metrics needs `Authorization: Bearer <metrics_token>`
    metrics_token: SecretStr | None = Field(default=None, min_length=16)
    #: connections served at once; more are closed at once (anyone may open them)
    max_connections: int = Field(default=200, ge=1, le=10_000)
    #: a connection that has not sent its request head within this is closed
    header_timeout_seconds: float = Field(default=10, gt=0, le=300)

    @property
    def host_port(self) -> tuple[str, int]:
        """The address to bind (an IPv6 one without its brackets) and the port."""
        host, _, port = self.listen.rpartition(":")
        return host.removeprefix("[").removesuffix("]") or "127.0.0.1", int(port)


class ReliabilitySettings(Section):
    """Retries of provider calls, and resuming changes after a restart."""

    max_attempts: int = Field(default=4, ge=1, le=20)
    base_delay_seconds: float = Field(default=1.0, ge=0)
    max_delay_seconds: float = Field(default=30.0, ge=0)
    #: no retry starts later than this after a change's first attempt
    max_total_seconds: float = Field(default=120.0, ge=0)
    #: a change left open by a crash is resumed only when younger than this
    resume_max_age_seconds: float = Field(default=3600.0, gt=0)
    #: several instances on one store (PostgreSQL): how long an instance's claim on a change
    #: lasts without being renewed; another instance takes the change over after it
    lease_seconds: float = Field(default=10.0, ge=1)
    #: at SIGTERM: how long changes already at a provider may take to finish; the rest is
    #: handed back at once
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay_seconds,
            max_delay=self.max_delay_seconds,
            max_total_seconds=self.max_total_seconds,
        )


class HistorySettings(Section):
    """Picture history and undo."""

    #: pictures kept per group (and per account), the oldest dropped first
    keep_per_group: int = Field(default=10, ge=1, le=100)
    #: how long reading and downloading the picture before a change may take; past it the
    #: earlier picture is unknown and the change goes ahead
    read_timeout_seconds: float = Field(default=5.0, gt=0)


class ScheduleSettings(Section):
    """Scheduled pictures (`at …`, `until …`)."""

    #: a change that came due while the bot was down still runs at start-up when it is late by
    #: less than this; otherwise it fails and its author is told
    max_late_minutes: float = Field(default=60, gt=0)
    #: the shortest period of a recurring change (`every 6h`): a shorter one is refused
    min_every_seconds: float = Field(default=900, gt=0)


class WatchSettings(Section):
    """Watching the pictures of the groups for changes made outside the bot (bot/watch.py)."""

    #: how often each watched picture is read; the reads are spread evenly over it
    interval_seconds: float = Field(default=900, ge=5)


class LoggingSettings(Section):
    #: text: readable lines; json: one object a line (time, level, logger, message, change_id,
    #: provider, group), for log shippers
    format: Literal["text", "json"] = "text"


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)") from None
    return name


class AppConfig(Section):
    telegram: TelegramSettings
    storage: StorageSettings = StorageSettings()
    owners: list[Annotated[int, Field(gt=0, lt=ID_LIMIT)]] = Field(min_length=1)
    providers: dict[str, AnyProviderSettings] = Field(min_length=1)
    groups: dict[str, GroupSettings] = {}
    links: dict[int, str] = {}
    notify_chat_id: int | None = None
    #: the language of notices to group chats, and to people whose language the bot never saw
    default_language: Literal["en", "ru", "pt"] = "en"
    #: how long the bot waits for the photo after `/setgrouppic family` alone
    photo_wait_seconds: float = Field(default=300, gt=0)
    #: how long a requester's proposal waits for an admin's decision
    approval_ttl_hours: float = Field(default=24, gt=0)
    server: ServerSettings | None = None
    reliability: ReliabilitySettings = ReliabilitySettings()
    history: HistorySettings = HistorySettings()
    #: the zone times are read and shown in, for people who chose none with /timezone
    timezone: Annotated[str, AfterValidator(_known_zone)] = "UTC"
    schedule: ScheduleSettings = ScheduleSettings()
    #: absent: nothing is watched (and no picture is read for it)
    watch: WatchSettings | None = None
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="before")
    @classmethod
    def _telegram_targets_use_the_bot(cls, raw: Any) -> Any:
        """A `kind: telegram` provider speaks with the bot's own token and Bot API server."""
        if not isinstance(raw, dict) or not isinstance(raw.get("providers"), dict):
            return raw
        bot = raw.get("telegram")
        bot = bot if isinstance(bot, dict) else {}
        own = {key: bot[key] for key in ("token", "api_base_url") if key in bot}
        providers = {
            name: {**own, **entry}
            if isinstance(entry, dict) and entry.get("kind") == "telegram"
            else entry
            for name, entry in raw["providers"].items()
        }
        return {**raw, "providers": providers}

    @model_validator(mode="after")
    def _references_resolve(self) -> AppConfig:
        for alias, group in self.groups.items():
            if not re.match(ALIAS_PATTERN, alias):
                raise ValueError(
                    f"groups.{alias}: an alias is 1-32 lowercase letters, digits, - or _"
                )
            if group.provider not in self.providers:
                raise ValueError(
                    f"groups.{alias}.provider: unknown provider {group.provider!r}"
                    f" (configured: {', '.join(self.providers)})"
                )
        for name, settings in self.providers.items():
            for key, value in settings:
                if isinstance(value, SecretStr) and not value.get_secret_value().strip():
                    raise ValueError(f"providers.{name}.{key}: empty (is its variable set?)")
        for chat_id, alias in self.links.items():
            if alias not in self.groups:
                raise ValueError(f"links.{chat_id}: unknown group {alias!r}")
        if self.telegram.mode == "webhook" and (
            self.server is None or not self.server.public_url or not self.server.webhook_secret
        ):
            raise ValueError(
                "telegram.mode: webhook mode needs server.public_url and server.webhook_secret"
            )
        return self

    def secrets(self) -> list[str]:
        """Every secret value in the config, for log redaction."""
        found = [self.telegram.token.get_secret_value(), *self.storage.secrets()]
        if self.server and self.server.webhook_secret:
            found.append(self.server.webhook_secret.get_secret_value())
        if self.server and self.server.media_secret:
            found.append(self.server.media_secret.get_secret_value())
        if self.server and self.server.metrics_token:
            found.append(self.server.metrics_token.get_secret_value())
        for settings in self.providers.values():
            found += [
                value.get_secret_value()
                for value in settings.__dict__.values()
                if isinstance(value, SecretStr)
            ]
        return [secret for secret in found if secret]


def load_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AppConfig:
    """Read, expand and validate config.yaml; raise ConfigError with one line per problem."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return parse_config(raw, os.environ if environ is None else environ)


def _read_yaml(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (line {line}); save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except _DuplicateKey as duplicate:
        raise ConfigError(f"{path}, line {duplicate.line}: {duplicate}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first_line: int) -> None:
        super().__init__(
            f"the key {key!r} appears twice in one mapping (first on line {first_line})"
        )
        self.line = line


class _StrictLoader(_FastSafeLoader):
    """yaml.safe_load, except that a key given twice in one mapping is an error: PyYAML would
    keep the last one silently, and half of such a config would be ignored."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base`: merged keys may be overridden, as YAML intends
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first_lines:
                    raise _DuplicateKey(key, line, first_lines[key])
                first_lines[key] = line
            except TypeError:
                continue  # an unhashable key: the constructor below refuses it
        return super().construct_mapping(node, deep=deep)


def parse_config(raw: dict[str, Any], environ: Mapping[str, str]) -> AppConfig:
    expanded = _expand_env(raw, environ, ())
    try:
        return AppConfig.model_validate(expanded)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def _expand_env(value: Any, environ: Mapping[str, str], where: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {key: _expand_env(item, environ, (*where, str(key))) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_env(item, environ, (*where, str(i))) for i, item in enumerate(value)]
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                raise ConfigError(f"{'.'.join(where)}: environment variable {name} is not set")
            return environ[name]

        return _ENV_REFERENCE.sub(substitute, value)
    return value


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        loc = list(problem["loc"])
        if loc[:1] == ["providers"] and len(loc) >= 3 and loc[2] in PROVIDER_KINDS:
            del loc[2]  # the union's tag: `providers.green.greenapi.api_url`
        key = ".".join(str(part) for part in loc)
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "missing"
        elif problem["type"] == "extra_forbidden":
            message = "unknown setting"
        elif problem["type"] == "union_tag_not_found":
            key, message = f"{key}.kind", "missing (which provider is this?)"
        elif problem["type"] == "union_tag_invalid":
            key, message = f"{key}.kind", _unknown_kind(problem.get("ctx", {}).get("tag"))
        elif problem["type"] == "model_attributes_type" and loc[:1] == ["providers"]:
            key, message = f"{key}.kind", "missing (which provider is this?)"
        lines.append(f"{key}: {message}" if key else message)
    return "\n".join(lines)


def _unknown_kind(kind: Any) -> str:
    try:
        provider_class(str(kind))
    except KeyError as unknown:
        return str(unknown.args[0])
    return f"unknown provider kind {kind!r}"
