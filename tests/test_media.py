"""MediaStore: signed, expiring, unguessable links to pictures kept in memory; and in the
store, for several instances (SharedMediaStore)."""

from __future__ import annotations

import pytest

from bot.media import MediaStore, SharedMediaStore
from bot.store import Store
from bot.store.media import MediaTable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MediaStore:
    return MediaStore(b"s" * 32, "https://bot.example.org/", ttl_seconds=600, clock=clock)


def token_of(url: str) -> str:
    prefix = "https://bot.example.org/media/"
    assert url.startswith(prefix)
    return url.removeprefix(prefix)


def flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_a_published_picture_is_found_by_its_token(store: MediaStore, clock: Clock) -> None:
    token = token_of(store.publish(b"jpeg-1"))
    assert store.get(token) == b"jpeg-1"
    clock.now += 599
    published = store.lookup(token)
    assert published is not None and published.jpeg == b"jpeg-1"
    assert published.seconds_left == pytest.approx(1)


def test_tokens_are_urlsafe_and_unguessable(store: MediaStore) -> None:
    first, second = (token_of(store.publish(b"same")) for _ in range(2))
    assert first != second
    assert all(char.isalnum() or char in "-_." for char in first)


def test_an_expired_token_finds_nothing(store: MediaStore, clock: Clock) -> None:
    token = token_of(store.publish(b"jpeg"))
    clock.now += 600
    assert store.get(token) is None


@pytest.mark.parametrize("part", ["signature", "id", "expiry"])
def test_a_tampered_token_finds_nothing(store: MediaStore, part: str) -> None:
    token = token_of(store.publish(b"jpeg"))
    picture_id, expiry, signature = token.split(".")
    tampered = {
        "signature": f"{picture_id}.{expiry}.{flip(signature, 5)}",
        "id": f"{flip(picture_id, 3)}.{expiry}.{signature}",
        "expiry": f"{picture_id}.{int(expiry) + 3_600_000}.{signature}",
    }[part]
    assert store.get(tampered) is None
    assert store.get(token) == b"jpeg"


@pytest.mark.parametrize("token", ["", "x", "a.b", "a.b.c", "..", "a.1.", "é.1.x"])
def test_unknown_or_malformed_tokens_find_nothing(store: MediaStore, token: str) -> None:
    store.publish(b"jpeg")
    assert store.get(token) is None


def test_a_token_signed_by_another_secret_finds_nothing(clock: Clock) -> None:
    ours = MediaStore(b"a" * 32, "https://bot.example.org", clock=clock)
    theirs = MediaStore(b"b" * 32, "https://bot.example.org", clock=clock)
    assert ours.get(token_of(theirs.publish(b"jpeg"))) is None


def test_a_token_cannot_read_another_picture(store: MediaStore) -> None:
    first = token_of(store.publish(b"first"))
    second = token_of(store.publish(b"second"))
    first_id, *_ = first.split(".")
    _, second_expiry, second_signature = second.split(".")
    assert store.get(f"{first_id}.{second_expiry}.{second_signature}") is None
    assert store.get(first) == b"first" and store.get(second) == b"second"


def test_purge_frees_expired_pictures(store: MediaStore, clock: Clock) -> None:
    store.publish(b"old")
    clock.now += 300
    young = token_of(store.publish(b"young"))
    clock.now += 300
    assert len(store) == 2
    store.purge()
    assert len(store) == 1
    assert store.get(young) == b"young"


def test_publishing_purges_lazily(store: MediaStore, clock: Clock) -> None:
    store.publish(b"old")
    clock.now += 601
    store.publish(b"new")
    assert len(store) == 1


def test_the_default_secret_is_random_per_store(clock: Clock) -> None:
    one = MediaStore(None, "https://bot.example.org", clock=clock)
    two = MediaStore(None, "https://bot.example.org", clock=clock)
    assert two.get(token_of(one.publish(b"jpeg"))) is None


@pytest.mark.parametrize("url", ["bot.example.org", "ftp://bot.example.org", ""])
def test_public_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError):
        MediaStore(None, url)


async def test_a_link_made_by_one_instance_is_served_by_another_on_the_same_store(
    store_target: str, clock: Clock
) -> None:
    """Several instances (a PostgreSQL store): the picture is in the store and the secret from
    the config, so an instance that did not make a link serves it, until it expires."""
    one, two = await Store.open(store_target), await Store.open(store_target)

    def shared(on: Store, secret: bytes) -> SharedMediaStore:
        async def table() -> MediaTable:
            return on.media

        return SharedMediaStore(secret, "https://bot.example.org", table, 600, clock)

    try:
        link = await shared(one, b"k" * 32).publish_async(b"jpeg")
        found = await shared(two, b"k" * 32).lookup_async(token_of(link))
        assert found is not None and (found.jpeg, found.seconds_left) == (b"jpeg", 600)
        assert await shared(two, b"x" * 32).lookup_async(token_of(link)) is None  # other secret
        assert await shared(two, b"k" * 32).lookup_async(flip(token_of(link), 3)) is None
        clock.now += 601
        assert await shared(two, b"k" * 32).lookup_async(token_of(link)) is None  # expired
        await shared(one, b"k" * 32).publish_async(b"newer")  # publishing purges
        assert await one.media.get(token_of(link).split(".")[0], 0) is None
    finally:
        await one.close()
        await two.close()
