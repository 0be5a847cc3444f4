"""Provider accounts of every kind side by side, each served by the fake of its kind.

One place knows, per kind, how to start its fake, the `providers:` entry that points the bot at it
(secrets as `${VAR}`, their values in `env`), and how to read back what the fake was sent: the
picture changes it received (`set_calls`), the picture it holds now and the JPEG it got. The
six-provider end-to-end test and `benchmarks/load.py` both build on it.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote

from tests.bot_process import free_port
from tests.fakes.evolution import FakeEvolution
from tests.fakes.gowa import FakeGowa
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.fakes.waha import FakeWaha
from tests.fakes.wasend import FakeWasend
from tests.fakes.whapi import FakeWhapi

#: the target of a change of the account's own picture
OWN = "own"


@dataclass(frozen=True)
class SetCall:
    """One request that asked the provider to set a picture, whatever it answered."""

    target: str  # the group id, or OWN
    received_at: float  # time.monotonic()


class FakeAccount(ABC):
    """One provider account of one kind, named `name` in the bot's config."""

    kind: ClassVar[str]
    #: the provider downloads the picture from the bot's `server.public_url`
    needs_public_url: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name
        #: every secret the tests configure holds "SECRET" (see tests/bot_process.py)
        self.secret = f"{self.kind}-{name}-SECRET"
        self.variable = f"{re.sub(r'[^A-Z0-9]', '_', name.upper())}_KEY"

    @property
    def env(self) -> dict[str, str]:
        """The environment variables its config entry names."""
        return {self.variable: self.secret}

    @property
    def reference(self) -> str:
        return f"${{{self.variable}}}"

    @property
    @abstractmethod
    def fake(self) -> Any:
        """The fake server (it has `app` and `requests`)."""

    @abstractmethod
    def entry(self, url: str) -> dict[str, Any]:
        """Its `providers:` entry, for the fake served at `url`."""

    @abstractmethod
    def set_calls(self) -> list[SetCall]:
        """Every request to set a group's or the account's picture, in arrival order."""

    @abstractmethod
    def picture_of(self, target: str) -> str | None:
        """The URL of the picture the provider holds for a group id or OWN; None: no picture."""

    @abstractmethod
    def jpeg_of(self, target: str) -> bytes:
        """The bytes of the last picture the provider received for a group id or OWN."""

    def requests_seen(self) -> int:
        """How many HTTP requests the fake has received so far."""
        return len(self.fake.requests)


class GreenApiAccount(FakeAccount):
    kind = "greenapi"
    ID_INSTANCE = "7105000000"

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeGreenApi(id_instance=self.ID_INSTANCE, token=self.secret, groups=groups)

    @property
    def fake(self) -> FakeGreenApi:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "api_url": url,
            "id_instance": self.ID_INSTANCE,
            "api_token_instance": self.reference,
        }

    def set_calls(self) -> list[SetCall]:
        return [
            SetCall(
                r.form.get("groupId", "") if r.method == "setGroupPicture" else OWN, r.received_at
            )
            for r in self._fake.set_calls()
        ]

    def picture_of(self, target: str) -> str | None:
        return self._fake.avatar_of(self._jid(target))

    def jpeg_of(self, target: str) -> bytes:
        method = "setProfilePicture" if target == OWN else "setGroupPicture"
        calls = [r for r in self._fake.calls(method) if target in (OWN, r.form.get("groupId"))]
        return calls[-1].file or b""

    def _jid(self, target: str) -> str:
        return self._fake.own_chat_id if target == OWN else target


class WasendAccount(FakeAccount):
    kind = "wasend"
    needs_public_url = True
    SESSION = "my-session"
    _GROUP_PICTURE = re.compile(r"/[^/]+/groups/(?P<group>[^/]+)/picture")

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeWasend(api_key=self.secret, session_id=self.SESSION, groups=groups)

    @property
    def fake(self) -> FakeWasend:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base_url": url,
            "api_key": self.reference,
            "session_id": self.SESSION,
        }

    def set_calls(self) -> list[SetCall]:
        return [
            SetCall(unquote(found["group"]), r.received_at)
            for r in self._fake.requests
            if r.method == "PUT" and (found := self._GROUP_PICTURE.fullmatch(r.raw_path))
        ]

    def picture_of(self, target: str) -> str | None:
        picture = self._fake.pictures.get(target)
        return picture.url if picture else None

    def jpeg_of(self, target: str) -> bytes:
        """What Wasend downloaded from the link the bot gave it."""
        return self._fake.pictures[target].jpeg


class GowaAccount(FakeAccount):
    kind = "gowa"
    OWN_JID = "6281234567890@s.whatsapp.net"
    DEVICE = "my-phone"

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeGowa(
            username="admin",
            password=self.secret,
            devices=(self.DEVICE,),
            own_jid=self.OWN_JID,
            groups=groups,
        )

    @property
    def fake(self) -> FakeGowa:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base_url": url,
            "username": "admin",
            "password": self.reference,
            "device_id": self.DEVICE,
            "own_jid": self.OWN_JID,
        }

    def _uploads(self) -> list[tuple[str, bytes, float]]:
        """(target, JPEG, when) of every upload; a /group/photo without a photo is a removal."""
        found = []
        for r in self._fake.requests:
            if (r.method, r.path) == ("POST", "/user/avatar") and "avatar" in r.fields:
                found.append((OWN, r.fields["avatar"].data, r.received_at))
            elif r.path == "/group/photo" and r.fields.get("photo", None) is not None:
                group = r.fields["group_id"].data.decode() if "group_id" in r.fields else ""
                found.append((group, r.fields["photo"].data, r.received_at))
        return found

    def set_calls(self) -> list[SetCall]:
        return [SetCall(target, when) for target, _, when in self._uploads()]

    def picture_of(self, target: str) -> str | None:
        return self._fake.avatars.get(self.OWN_JID if target == OWN else target)

    def jpeg_of(self, target: str) -> bytes:
        return [jpeg for where, jpeg, _ in self._uploads() if where == target][-1]


class WahaAccount(FakeAccount):
    kind = "waha"
    OWN_ID = "6281234567890@c.us"
    SESSION = "default"
    _PICTURE = re.compile(r"/api/[^/]+/(?:groups/(?P<group>.+)|profile)/picture")

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeWaha(
            api_key=self.secret, session=self.SESSION, own_id=self.OWN_ID, groups=groups
        )

    @property
    def fake(self) -> FakeWaha:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base_url": url,
            "api_key": self.reference,
            "session": self.SESSION,
        }

    def set_calls(self) -> list[SetCall]:
        return [
            SetCall(found["group"] or OWN, r.received_at)
            for r in self._fake.requests
            if r.method == "PUT" and (found := self._PICTURE.fullmatch(r.path))
        ]

    def picture_of(self, target: str) -> str | None:
        picture = self._fake.pictures.get(self._jid(target))
        return picture.url if picture else None

    def jpeg_of(self, target: str) -> bytes:
        return self._fake.pictures[self._jid(target)].jpeg

    def _jid(self, target: str) -> str:
        return self.OWN_ID if target == OWN else target


class EvolutionAccount(FakeAccount):
    kind = "evolution"
    OWN_JID = "5511999990000@s.whatsapp.net"
    INSTANCE = "my-instance"

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeEvolution(
            api_key=self.secret, instance=self.INSTANCE, own_jid=self.OWN_JID, groups=groups
        )

    @property
    def fake(self) -> FakeEvolution:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "base_url": url,
            "api_key": self.reference,
            "instance": self.INSTANCE,
            "api_version": "auto",
        }

    def set_calls(self) -> list[SetCall]:
        calls = []
        for r in self._fake.requests:
            if r.path.startswith("/group/updateGroupPicture/"):
                calls.append(SetCall(r.param("groupJid"), r.received_at))
            elif r.path.startswith("/chat/updateProfilePicture/"):
                calls.append(SetCall(OWN, r.received_at))
        return calls

    def picture_of(self, target: str) -> str | None:
        return self._fake.pictures.get(self._jid(target))

    def jpeg_of(self, target: str) -> bytes:
        return self._fake.uploads[self._jid(target)]

    def _jid(self, target: str) -> str:
        return self.OWN_JID if target == OWN else target


class WhapiAccount(FakeAccount):
    kind = "whapi"
    _ICON = re.compile(r"/groups/(?P<group>[^/]+)/icon")

    def __init__(self, name: str, groups: Iterable[str]) -> None:
        super().__init__(name)
        self._fake = FakeWhapi(token=self.secret, groups=groups)

    @property
    def fake(self) -> FakeWhapi:
        return self._fake

    def entry(self, url: str) -> dict[str, Any]:
        return {"kind": self.kind, "base_url": url, "token": self.reference}

    def set_calls(self) -> list[SetCall]:
        calls = []
        for r in self._fake.requests:
            if r.method == "PUT" and (found := self._ICON.fullmatch(r.path)):
                calls.append(SetCall(found["group"], r.received_at))
            elif (r.method, r.path) == ("PATCH", "/users/profile") and "icon" in _fields(r.body):
                calls.append(SetCall(OWN, r.received_at))
        return calls

    def picture_of(self, target: str) -> str | None:
        return self._fake.icons.get(self._key(target))

    def jpeg_of(self, target: str) -> bytes:
        return self._fake.images[self._key(target)]

    @staticmethod
    def _key(target: str) -> str:
        return FakeWhapi.OWN if target == OWN else target


#: kind -> how to make an account of it: `KINDS[kind](name, group_ids)`
KINDS: dict[str, Callable[[str, Iterable[str]], FakeAccount]] = {
    cls.kind: cls
    for cls in (
        GreenApiAccount,
        WasendAccount,
        GowaAccount,
        WahaAccount,
        EvolutionAccount,
        WhapiAccount,
    )
}


@asynccontextmanager
async def serving(accounts: Sequence[FakeAccount], **common: Any) -> AsyncIterator[dict[str, Any]]:
    """Serve every account's fake on 127.0.0.1; yield the config sections that point the bot at
    them: `providers` (each entry with the `common` keys, e.g. the pace), and `server` when an
    account needs the bot's public URL."""
    async with AsyncExitStack() as stack:
        providers = {
            account.name: {
                **account.entry(await stack.enter_async_context(serve(account.fake.app))),
                **common,
            }
            for account in accounts
        }
        sections: dict[str, Any] = {"providers": providers}
        if any(account.needs_public_url for account in accounts):
            port = free_port()
            sections["server"] = {
                "listen": f"127.0.0.1:{port}",
                "public_url": f"http://127.0.0.1:{port}",
            }
        yield sections


def _fields(body: bytes) -> dict[str, Any]:
    """A JSON object body's fields; {} for anything else."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
