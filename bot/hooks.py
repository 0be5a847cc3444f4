"""`/hooks/<provider>/<secret>`: what providers tell the bot later, through their webhooks.

One route for every provider: the provider's name picks its adapter, which says what its secret
is, how it verifies the URL (GET), how it proves a POST is its own (a signature) and how it reads
the body (`adapters.base.Provider.webhook_*`, `read_webhook`). A wrong secret or signature is
403, a body the provider does not send 400; the log names the provider, never the secret (it is
in the path) nor the body.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters import Provider, Said, UnreadableWebhook

log = logging.getLogger(__name__)

#: hands what a provider's webhook said to the change engine (confirmations) and to watching
#: (pictures changed outside the bot)
Deliver = Callable[[str, Sequence[Said]], Awaitable[object]]
#: a webhook body larger than this is no provider's (Meta's are a few KB)
MAX_BODY_BYTES = 1024 * 1024


def hook_routes(providers: Mapping[str, Provider], deliver: Deliver) -> list[Route]:
    """The route, for the providers that send webhooks (none: no route)."""
    if not any(provider.webhook_secret() for provider in providers.values()):
        return []

    async def hook(request: Request) -> Response:
        name = request.path_params["provider"]
        provider = providers.get(name)
        secret = provider.webhook_secret() if provider is not None else None
        if provider is None or secret is None:
            return PlainTextResponse("Not Found", status_code=404)
        given = request.path_params["secret"].encode()
        if not hmac.compare_digest(given, secret.encode()):
            log.warning("refused a webhook for %s: wrong secret in its URL", name)
            return PlainTextResponse("Forbidden", status_code=403)
        if request.method == "GET":
            challenge = provider.webhook_challenge(request.query_params)
            if challenge is None:
                log.warning("refused a webhook verification for %s: wrong token or mode", name)
                return PlainTextResponse("Forbidden", status_code=403)
            return PlainTextResponse(challenge)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("Payload Too Large", status_code=413)
        if not provider.webhook_authentic(request.headers, body):
            log.warning("refused a webhook for %s: its signature does not match", name)
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            said = provider.read_webhook(body)
        except UnreadableWebhook as why:
            log.warning("refused a webhook for %s: %s", name, why)
            return PlainTextResponse("Bad Request", status_code=400)
        await deliver(name, said)
        return Response(status_code=200)

    return [Route("/hooks/{provider}/{secret}", hook, methods=["GET", "POST"])]
