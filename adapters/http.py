"""HTTP plumbing shared by the adapters: one client per provider, answers parsed once.

Transport failures (timeouts, refused connections) become a `PictureResult` here, so that each
adapter only maps its own provider's answers.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec

import certifi
import httpx

from adapters.base import FailureKind, PictureResult

P = ParamSpec("P")


class ProviderUnreachable(Exception):
    """Raised inside an adapter when no usable answer came; carries the result to return."""

    def __init__(self, result: PictureResult) -> None:
        super().__init__(result.reason)
        self.result = result


def returns_result(
    method: Callable[P, Coroutine[Any, Any, PictureResult]],
) -> Callable[P, Coroutine[Any, Any, PictureResult]]:
    """Turn a `ProviderUnreachable` raised in an adapter method into the result it carries."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> PictureResult:
        try:
            return await method(*args, **kwargs)
        except ProviderUnreachable as unreachable:
            return unreachable.result

    return wrapper


@dataclass(frozen=True)
class Reply:
    """One provider answer: status, parsed JSON body (None when it is not JSON), headers."""

    status: int
    body: Any
    text: str
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    #: the body as it came (a file's bytes)
    content: bytes = field(default=b"", repr=False)

    @property
    def is_json(self) -> bool:
        return self.body is not None

    def get(self, name: str, default: Any = None) -> Any:
        """A top-level field of a JSON object body (default when absent or not an object)."""
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    def retry_after(self) -> float | None:
        """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if any."""
        value = self.headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context (the CA bundle httpx uses) for every HTTP client of the process: loading
    the bundle takes about 30 ms, once per client otherwise, which fifty accounts felt at
    start-up (the providers' clients and the picture downloads share it)."""
    return ssl.create_default_context(cafile=certifi.where())


class ProviderHttp:
    """An `httpx.AsyncClient` for one provider, with explicit timeouts and plain-words failures."""

    def __init__(
        self,
        label: str,
        base_url: str,
        timeout_seconds: float,
        *,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> None:
        self.label = label
        self.timeout_seconds = timeout_seconds
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            follow_redirects=False,
            verify=tls_context(),
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> Reply:
        """Send one request; raise `ProviderUnreachable` when no answer came back."""
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.UNAVAILABLE,
                    f"{self.label} did not answer within {self.timeout_seconds:g} s",
                )
            ) from None
        except httpx.TransportError:
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.UNAVAILABLE, f"could not reach {self.label} (connection failed)"
                )
            ) from None
        return Reply(
            status=response.status_code,
            body=_json_or_none(response),
            text=response.text[:500],
            headers=response.headers,
            content=response.content,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def unreadable(label: str, reply: Reply) -> PictureResult:
    """The answer was not the JSON the provider documents (an HTML error page, a proxy...)."""
    what = "an empty answer" if not reply.text.strip() else "an answer that is not JSON"
    return PictureResult.failure(
        FailureKind.UNAVAILABLE, f"{label} sent {what} (HTTP {reply.status})"
    )


def common_failure(label: str, reply: Reply) -> PictureResult:
    """Plain words for the HTTP statuses every provider uses the same way."""
    status = reply.status
    if status == 401:
        return PictureResult.failure(
            FailureKind.AUTH, f"{label} refused our credentials (HTTP 401): check the token"
        )
    if status == 403:
        return PictureResult.failure(
            FailureKind.NOT_ALLOWED, f"{label} refused the request (HTTP 403)"
        )
    if status == 404:
        return PictureResult.failure(
            FailureKind.NOT_FOUND, f"{label} does not know that (HTTP 404)"
        )
    if status == 429:
        wait = reply.retry_after()
        hint = f"; try again in {wait:.0f} s" if wait else "; try again in a moment"
        return PictureResult.failure(
            FailureKind.RATE_LIMITED, f"{label} is rate-limiting us (HTTP 429){hint}", wait
        )
    if status in (502, 503, 504):
        return PictureResult.failure(
            FailureKind.UNAVAILABLE, f"{label} is unavailable (HTTP {status}); try again later"
        )
    if status >= 500:
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR, f"{label} had an internal error (HTTP {status})"
        )
    if not reply.is_json:
        return unreadable(label, reply)
    return PictureResult.failure(
        FailureKind.BAD_REQUEST, f"{label} rejected the request (HTTP {status})"
    )
