"""Evolution API (EvolutionAPI/evolution-api), v1 and v2: group pictures and the account's own.

Routes are `/<controller>/<action>/{instance}`, authorised by the `apikey` header (the global key
or the instance's token). Failures share one envelope, `{"status", "error", "response":
{"message": str | [str | {"property", "message"}]}}`; a WhatsApp-side refusal is HTTP 500 whose
last message is Baileys' error text. Two traps are handled here:

- v1 changes pictures with PUT, v2 with POST: the server's version (configured, or asked once
  from `GET /`) picks the method;
- changing the account's own picture makes Evolution reconnect the instance, so the next call
  first waits, bounded, until `connectionState` is `open` again.

There is no route to remove a group picture, so that capability is absent.
"""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from adapters.base import (
    Capability,
    EventSettings,
    FailureKind,
    PictureEvent,
    PictureResult,
    PreparedPicture,
    Provider,
    UnreadableWebhook,
    event_secret,
    webhook_json,
)
from adapters.http import (
    ProviderHttp,
    ProviderUnreachable,
    Reply,
    common_failure,
    returns_result,
)
from adapters.whatsapp import whatsapp_group_id_problem, whatsapp_refusal

NO_PICTURE = "as far as Evolution API can tell; it reports a picture it cannot read as none"
NOT_KNOWN_YET = "the picture was changed, but its new URL is not known yet"
#: seconds between two `connectionState` polls while the instance reconnects
POLL_SECONDS = 0.5

_VERSION = re.compile(r"\s*v?([0-9]+)\.")


class EvolutionSettings(EventSettings):
    kind: Literal["evolution"]
    #: Evolution's address (no version prefix: its routes start at the root)
    base_url: str
    #: sent as the `apikey` header: the global AUTHENTICATION_API_KEY or the instance's token
    api_key: SecretStr
    instance: str = Field(min_length=1)
    #: 1 (PUT) or 2 (POST) for the picture changes; auto asks the server once (GET /)
    api_version: Literal["auto", "1", "2"] = "auto"
    #: Evolution reconnects the instance after the account's own picture changes: how long the
    #: account's next call waits for `connectionState` to be `open` again
    reconnect_wait_seconds: float = Field(default=30.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("api_version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        """YAML reads `api_version: 2` as a number."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class EvolutionProvider(Provider):
    kind = "evolution"
    label = "Evolution API"
    settings_model = EvolutionSettings
    capabilities = (
        Capability.SET_GROUP | Capability.GET_GROUP | Capability.SET_OWN | Capability.GET_OWN
    )
    settings: EvolutionSettings

    def __init__(self, name: str, settings: EvolutionSettings) -> None:
        super().__init__(name, settings)
        self._http = ProviderHttp(
            self.label,
            settings.base_url,
            settings.timeout_seconds,
            headers={"apikey": settings.api_key.get_secret_value()},
        )
        self._instance = quote(settings.instance, safe="")
        self._major: int | None = (
            None if settings.api_version == "auto" else int(settings.api_version)
        )
        self._own_jid: str | None = None
        #: set after the account's own picture changed, until the instance is `open` again
        self._reconnecting = False
        self._settling = asyncio.Lock()

    def check_group_id(self, chat_id: str) -> str | None:
        return whatsapp_group_id_problem(chat_id)

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        await self._settled()
        await self._call(
            await self._change_method(),
            f"/group/updateGroupPicture/{self._instance}",
            params={"groupJid": group_id},
            json={"image": _base64(picture)},
            group_id=group_id,
        )
        return _changed(await self.get_group_picture(group_id))

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        await self._settled()
        return await self._picture(group_id)

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        await self._settled()
        await self._call(
            await self._change_method(),
            f"/chat/updateProfilePicture/{self._instance}",
            json={"picture": _base64(picture)},
        )
        # Evolution now reconnects the instance: the read-back below waits for it (bounded),
        # and so does the account's next call if that wait runs out
        self._reconnecting = True
        return _changed(await self.get_own_picture())

    @returns_result
    async def get_own_picture(self) -> PictureResult:
        await self._settled()
        return await self._picture(await self._own())

    @returns_result
    async def check(self) -> PictureResult:
        """GET /instance/connectionState: proves the key and the instance, and tells the state."""
        state = await self._state()
        if state == "open":
            return PictureResult.success(
                note=f"instance {self.settings.instance!r} is connected to WhatsApp"
            )
        return self._not_open(state)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- events: pictures changed outside the bot (bot/watch.py) ----------------------------

    def webhook_secret(self) -> str | None:
        return event_secret(self.settings)

    def read_webhook(self, body: bytes) -> list[PictureEvent]:
        """`contacts.update` (`CONTACTS_UPDATE`) of this instance: the groups among its
        contacts to read again (Baileys reports a group's new or removed picture so, without
        who changed it). Other events say nothing of pictures."""
        payload = webhook_json(body)
        event, instance = payload.get("event"), payload.get("instance")
        if not isinstance(event, str) or not isinstance(instance, str):
            raise UnreadableWebhook("not an Evolution API event")
        if event.lower().replace("_", ".") != "contacts.update":
            return []
        if instance != self.settings.instance:
            return []
        data = payload.get("data")
        contacts = data if isinstance(data, list) else [data]
        found = []
        for contact in contacts:
            if not isinstance(contact, dict):
                raise UnreadableWebhook("a contacts.update without contacts")
            chat_id = contact.get("remoteJid", contact.get("id"))  # v2, v1
            if isinstance(chat_id, str) and chat_id.endswith("@g.us"):
                found.append(PictureEvent(chat_id))
        return found

    # -- the two traps ----------------------------------------------------------------------

    async def _change_method(self) -> str:
        """PUT for v1, POST for v2; with `api_version: auto` the server is asked once."""
        if self._major is None:
            self._major = await self._server_major()
        return "PUT" if self._major == 1 else "POST"

    async def _server_major(self) -> int:
        version = (await self._call("GET", "/")).get("version")
        found = _VERSION.match(version) if isinstance(version, str) else None
        if found is None or int(found.group(1)) < 1:
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.BAD_REQUEST,
                    f"{self.label} did not tell its version at {self.settings.base_url}/:"
                    " set api_version to 1 or 2 in its config",
                )
            )
        return min(int(found.group(1)), 2)

    async def _settled(self) -> None:
        """After the account's own picture changed, wait (bounded) until the instance is open."""
        if not self._reconnecting:
            return
        async with self._settling:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.settings.reconnect_wait_seconds
            while self._reconnecting:
                state = await self._state()
                if state == "open":
                    self._reconnecting = False
                    return
                left = deadline - loop.time()
                if left <= 0:
                    raise ProviderUnreachable(
                        PictureResult.failure(
                            FailureKind.UNAVAILABLE,
                            f"instance {self.settings.instance!r} is still reconnecting after the"
                            f" account's own picture changed (state: {state or 'unknown'});"
                            " try again in a minute",
                        )
                    )
                await asyncio.sleep(min(POLL_SECONDS, left))

    # -- plumbing ---------------------------------------------------------------------------

    async def _state(self) -> str:
        """The instance's `connectionState`: open, connecting, close, refused ("" when absent)."""
        reply = await self._call("GET", f"/instance/connectionState/{self._instance}")
        instance = reply.get("instance")
        state = instance.get("state") if isinstance(instance, dict) else None
        return state if isinstance(state, str) else ""

    def _not_open(self, state: str) -> PictureResult:
        name = repr(self.settings.instance)
        if state == "connecting":
            return PictureResult.failure(
                FailureKind.UNAVAILABLE,
                f"instance {name} is still connecting to WhatsApp (state: connecting);"
                " try again in a moment",
            )
        if state in ("close", "refused"):
            return PictureResult.failure(
                FailureKind.AUTH,
                f"instance {name} is not connected to WhatsApp (state: {state}):"
                " connect it again in Evolution's manager (scan its QR code)",
            )
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR,
            f"instance {name} is not running in Evolution API (state: {state or 'none'}):"
            " restart it in Evolution's manager",
        )

    async def _picture(self, jid: str) -> PictureResult:
        """POST /chat/fetchProfilePictureUrl: the URL, or null for every failure to read it."""
        reply = await self._call(
            "POST", f"/chat/fetchProfilePictureUrl/{self._instance}", json={"number": jid}
        )
        url = reply.get("profilePictureUrl")
        if isinstance(url, str) and url:
            return PictureResult.success(url)
        return PictureResult.success(note=NO_PICTURE)

    async def _own(self) -> str:
        """The account's own JID, asked once from GET /instance/fetchInstances."""
        if self._own_jid is None:
            reply = await self._call(
                "GET", "/instance/fetchInstances", params={"instanceName": self.settings.instance}
            )
            self._own_jid = _owner(reply.body, self.settings.instance)
            if not self._own_jid:
                raise ProviderUnreachable(
                    PictureResult.failure(
                        FailureKind.NOT_FOUND,
                        f"{self.label} did not tell the WhatsApp number of instance"
                        f" {self.settings.instance!r}: is it connected?",
                    )
                )
        return self._own_jid

    async def _call(
        self, method: str, path: str, *, group_id: str | None = None, **request: Any
    ) -> Reply:
        """One request; its JSON 2xx answer, or `ProviderUnreachable` with the failure."""
        reply = await self._http.request(method, path, **request)
        if 200 <= reply.status < 300 and reply.is_json:
            return reply
        raise ProviderUnreachable(self._failure(reply, group_id))

    def _failure(self, reply: Reply, group_id: str | None) -> PictureResult:
        """Plain words for an answer that is not a JSON 2xx."""
        messages = _messages(reply)
        said = self._quote(": ".join(messages))
        name = repr(self.settings.instance)
        if reply.status == 401:
            return PictureResult.failure(
                FailureKind.AUTH,
                f"{self.label} refused the API key (HTTP 401): check api_key"
                " (the global key, or this instance's token)",
            )
        if reply.status == 404 and reply.is_json:
            if any("instance does not exist" in message for message in messages):
                return PictureResult.failure(
                    FailureKind.NOT_FOUND,
                    f"{self.label} has no instance {name}: check instance in its config",
                )
            route = next((m for m in messages if m.startswith("Cannot ")), None)
            if route is not None:
                return PictureResult.failure(
                    FailureKind.BAD_REQUEST,
                    f"{self.label} has no route {self._quote(route.removeprefix('Cannot '))}"
                    " (HTTP 404): check base_url, and api_version (1 changes pictures with PUT,"
                    " 2 with POST)",
                )
        if reply.status == 404 and not reply.is_json:
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"{self.label} is not at base_url (HTTP 404 without its error body):"
                " check base_url",
            )
        if reply.status == 400 and reply.is_json:
            if "method not available" in said.lower():
                return PictureResult.failure(
                    FailureKind.NOT_SUPPORTED,
                    f"{self.label} changes pictures only for WhatsApp (Baileys) instances, and"
                    f" instance {name} is not one: {said}",
                )
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, f"{self.label} rejected the request (HTTP 400): {said}"
            )
        if reply.status == 500 and reply.is_json:
            return self._whatsapp_refusal(said, group_id)
        return common_failure(self.label, reply)

    def _whatsapp_refusal(self, said: str, group_id: str | None) -> PictureResult:
        """A 500: the error text Evolution passes on from Baileys is the only clue."""
        refusal = whatsapp_refusal(said, group_id)
        if refusal is not None:
            return refusal
        lowered = said.lower()
        if "[object object]" in lowered:
            return PictureResult.failure(
                FailureKind.BAD_IMAGE,
                f"{self.label} refused the picture (it read it as neither a URL nor base64)",
            )
        if "unsupported image" in lowered:
            return PictureResult.failure(FailureKind.BAD_IMAGE, f"the picture was refused: {said}")
        if "no image processing library" in lowered:
            return PictureResult.failure(
                FailureKind.PROVIDER_ERROR,
                f"{self.label} cannot process pictures: its server has neither sharp nor jimp",
            )
        if "timed out" in lowered:
            return PictureResult.failure(
                FailureKind.UNAVAILABLE,
                f"WhatsApp did not answer {self.label} in time ({said}); try again",
            )
        if "connection closed" in lowered:
            return PictureResult.failure(
                FailureKind.UNAVAILABLE,
                f"instance {self.settings.instance!r} is not connected to WhatsApp right now"
                f" ({said}); try again once it is open",
            )
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR, f"{self.label} had an internal error (HTTP 500): {said}"
        )

    def _quote(self, message: str) -> str:
        """Evolution's words, short and on one line, quoted; never with our key in them."""
        text = " ".join(message.split())
        text = text.replace(self.settings.api_key.get_secret_value(), "***")
        if len(text) > 160:
            text = text[:159] + "…"
        return f'"{text}"' if text else "(no message)"


def _changed(current: PictureResult) -> PictureResult:
    """Success of a change, with the URL read back when Evolution could tell it."""
    if current.url:
        return PictureResult.success(current.url)
    why = current.reason if not current.ok else "Evolution API does not show it yet"
    return PictureResult.success(note=f"{NOT_KNOWN_YET} ({why})")


def _base64(picture: PreparedPicture) -> str:
    """Raw single-line base64, no `data:` prefix: what Evolution's `isBase64` accepts."""
    return base64.b64encode(picture.jpeg).decode("ascii")


def _messages(reply: Reply) -> list[str]:
    """`response.message` as a list of lines: strings, or a schema error's property and text."""
    response = reply.get("response")
    raw = response.get("message") if isinstance(response, dict) else None
    if raw is None:
        return [reply.text] if not reply.is_json and reply.text.strip() else []
    lines = []
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, dict):
            lines.append(f"{item.get('property', '?')}: {item.get('message', '')}".strip())
        else:
            lines.append(str(item))
    return lines


def _owner(body: Any, instance: str) -> str | None:
    """The own JID in fetchInstances: v2 rows `{name, ownerJid}`, v1 `{instance: {instanceName,
    owner}}`."""
    rows = body if isinstance(body, list) else [body]
    for row in rows:
        if not isinstance(row, dict):
            continue
        v1 = row.get("instance")
        if isinstance(v1, dict) and v1.get("instanceName") == instance:
            owner = v1.get("owner")
        elif row.get("name") == instance:
            owner = row.get("ownerJid")
        else:
            continue
        return owner if isinstance(owner, str) and owner else None
    return None
