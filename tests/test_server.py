"""The bot's own ASGI app: /media/<token>, the Telegram webhook and /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.media import MediaStore
from bot.server import SECRET_HEADER, NotAnUpdate, Stopping, WebhookEndpoint, create_server_app

SECRET = "s3cret_TOKEN-1"


class Clock:
    now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def media(clock: Clock) -> MediaStore:
    return MediaStore(b"k" * 32, "https://bot.example.org", ttl_seconds=600, clock=clock)


@pytest.fixture
def delivered() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def health_report() -> dict[str, Any]:
    return {"ok": True, "providers": {"wasend": "ok"}}


@pytest.fixture
async def client(
    media: MediaStore, delivered: list[dict[str, Any]], health_report: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    async def deliver(update: dict[str, Any]) -> None:
        delivered.append(update)

    async def health() -> dict[str, Any]:
        return health_report

    app = create_server_app(
        media=media,
        health=health,
        webhook=WebhookEndpoint(path="hook-abc", secret_token=SECRET, deliver=deliver),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client


def media_path(url: str) -> str:
    return url.removeprefix("https://bot.example.org")


async def test_media_serves_the_exact_bytes(
    client: httpx.AsyncClient, media: MediaStore, clock: Clock
) -> None:
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
    path = media_path(media.publish(jpeg))
    clock.now += 100
    response = await client.get(path)
    assert response.status_code == 200
    assert response.content == jpeg
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-length"] == str(len(jpeg))
    assert response.headers["cache-control"] == "private, max-age=500"


async def test_media_refusals_all_look_the_same(
    client: httpx.AsyncClient, media: MediaStore, clock: Clock
) -> None:
    expired = media_path(media.publish(b"old"))
    clock.now += 600
    live = media_path(media.publish(b"live"))
    forged = live[:-3] + ("AAA" if not live.endswith("AAA") else "BBB")
    answers = [await client.get(path) for path in (expired, forged, "/media/unknown-token")]
    assert {response.status_code for response in answers} == {404}
    assert len({response.content for response in answers}) == 1
    assert answers[0].content == (await client.get("/no/such/path")).content
    assert (await client.get(live)).content == b"live"


async def test_the_webhook_delivers_an_update_with_the_right_secret(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]]
) -> None:
    update = {"update_id": 7, "message": {"text": "/start"}}
    response = await client.post("/telegram/hook-abc", json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert delivered == [update]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}])
async def test_the_webhook_refuses_a_missing_or_wrong_secret(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    response = await client.post("/telegram/hook-abc", json={"update_id": 1}, headers=headers)
    assert response.status_code == 403
    assert delivered == []


async def test_the_webhook_listens_only_on_its_path(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]]
) -> None:
    response = await client.post("/telegram/other", json={}, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 404
    assert delivered == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"42", b"\xff\xfe", b""])
async def test_the_webhook_refuses_what_is_not_a_json_object(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]], body: bytes
) -> None:
    response = await client.post(
        "/telegram/hook-abc",
        content=body,
        headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert delivered == []


@pytest.mark.parametrize("body", [{}, {"hello": 1}, {"update_id": "7"}, {"update_id": None}])
async def test_the_webhook_refuses_an_object_without_an_update_id(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]], body: dict[str, Any], caplog
) -> None:
    response = await client.post("/telegram/hook-abc", json=body, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    assert delivered == []
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert "not a Telegram update" in record.getMessage()


async def test_the_webhook_answers_400_when_the_receiver_cannot_read_the_update(caplog) -> None:
    async def deliver(update: dict[str, Any]) -> None:
        raise NotAnUpdate("KeyError while reading it")

    async def health() -> dict[str, Any]:
        return {"ok": True}

    app = create_server_app(
        media=None,
        health=health,
        webhook=WebhookEndpoint(path="hook", secret_token=SECRET, deliver=deliver),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    ) as client:
        update = {"update_id": 1, "message": "not a message"}
        response = await client.post("/telegram/hook", json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400
    [record] = caplog.records
    assert record.getMessage() == (
        "webhook: refused a JSON object that is not a Telegram update: KeyError while reading it"
    )
    assert record.exc_info is None


async def test_healthz_reports_ok(client: httpx.AsyncClient, health_report: dict[str, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == health_report


async def test_healthz_answers_503_when_not_ok(
    client: httpx.AsyncClient, health_report: dict[str, Any]
) -> None:
    health_report["ok"] = False
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == health_report


async def test_healthz_answers_503_when_the_check_fails() -> None:
    async def health() -> dict[str, Any]:
        raise RuntimeError("store closed")

    app = create_server_app(media=None, health=health, webhook=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["ok"] is False
        assert (await client.get("/media/anything")).status_code == 404


@pytest.mark.parametrize(
    ("path", "secret"),
    [("", SECRET), ("/", SECRET), ("hook", ""), ("hook", "no spaces")],
)
def test_a_webhook_needs_a_path_and_a_telegram_secret(path: str, secret: str) -> None:
    async def deliver(update: dict[str, Any]) -> None: ...

    with pytest.raises(ValueError):
        WebhookEndpoint(path=path, secret_token=secret, deliver=deliver)


@pytest.mark.parametrize("opening", ["[", '{"update_id": 1, "message": '])
async def test_the_webhook_answers_400_to_json_nested_too_deeply_to_read(
    client: httpx.AsyncClient, delivered: list[dict[str, Any]], caplog, opening: str
) -> None:
    depth = 200_000
    body = opening + "[" * depth + "]" * depth + "}" * opening.count("{")
    response = await client.post(
        "/telegram/hook-abc", content=body, headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 400
    assert delivered == []
    [record] = caplog.records
    assert record.getMessage() == "webhook: refused a JSON body nested too deeply to read"
    assert record.exc_info is None


async def test_the_webhook_answers_503_while_the_bot_stops(caplog) -> None:
    """Telegram sends the update again later (behind a balancer: to another instance)."""

    async def deliver(update: dict[str, Any]) -> None:
        raise Stopping

    async def health() -> dict[str, Any]:
        return {"ok": False, "draining": True}

    app = create_server_app(
        media=None,
        health=health,
        webhook=WebhookEndpoint(path="hook", secret_token=SECRET, deliver=deliver),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    ) as client:
        update = {"update_id": 1, "message": {}}
        response = await client.post("/telegram/hook", json=update, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 503
        assert (await client.get("/healthz")).status_code == 503
