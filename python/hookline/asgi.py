"""ASGI helper for Starlette and FastAPI: an endpoint that receives webhooks
from the RAW body.

    from hookline.asgi import webhook

    async def on_event(event, provider, client_id):
        ...                                    # sync or async; once per new event

    app = FastAPI()   # or Starlette()
    app.add_api_route("/hooks/{provider}/{client_id}", webhook(receivers)(on_event),
                      methods=["POST"])          # Starlette: app.add_route(...)

The body is read from ``request.stream()`` (the bytes as sent, never
``await request.json()`` re-serialised), stopping with 413 as soon as it
exceeds max_body. Verification and the seen-id store (which may touch a
file) run in Starlette's thread pool, off the event loop. Answers as in
hookline.flask; a failing handler un-marks the events and the error
propagates (500).
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import _http
from .receiver import PayloadTooLarge, ReceiveError


async def _read_body(request: Request, limit: Any) -> bytes:
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge("body exceeds %d bytes" % limit)
        chunks.append(chunk)
    return b"".join(chunks)


def webhook(
    receivers: _http.Receivers,
    *,
    provider_arg: str = "provider",
    tenant_arg: str = "client_id",
    token_arg: str = "token",
) -> Callable[[Callable[..., Any]], Callable[[Request], Awaitable[JSONResponse]]]:
    """Make ``handler(event, **path_params)`` into a Starlette/FastAPI endpoint.

    ``receivers`` is a :class:`hookline.Receiver`, or a dict of them keyed
    by provider name (the route's ``provider_arg`` path parameter picks
    one; unknown: 404). ``tenant_arg`` names the path parameter carrying
    the client id on per-client routes, ``token_arg`` the one carrying the
    route token for unsigned providers (else ``?token=``).

    Returns the decorator; ``handler`` may be sync or async. Answers as in
    hookline.flask. Raises nothing at decoration time; in the endpoint,
    what ``handler`` raises propagates (500) after the events were released.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[[Request], Awaitable[JSONResponse]]:
        # Not functools.wraps: FastAPI reads the endpoint's signature (it must
        # be `request: Request`), and would follow __wrapped__ to the handler.
        async def endpoint(request: Request) -> JSONResponse:
            params = dict(request.path_params)
            try:
                receiver, kwargs = _http.select(
                    receivers,
                    params,
                    request.query_params.get("token"),
                    provider_arg=provider_arg,
                    tenant_arg=tenant_arg,
                    token_arg=token_arg,
                )
                _http.check_length(receiver, _http.parse_length(request.headers.get("content-length")))
                body = await _read_body(request, receiver.max_body)
                events = await run_in_threadpool(
                    lambda: receiver.receive(body, request.headers, **kwargs)
                )
            except ReceiveError as e:
                payload, status = _http.failure(e)
                return JSONResponse(payload, status_code=status)
            try:
                for ev in events:
                    result = handler(ev, **params)
                    if inspect.isawaitable(result):
                        await result
            except BaseException:
                await run_in_threadpool(receiver.release, events)
                raise
            return JSONResponse(_http.ok_body(len(events)))

        endpoint.__name__ = getattr(handler, "__name__", "webhook")
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return decorate
