"""Flask helper: a view decorator that receives webhooks from the RAW body.

    from hookline.flask import webhook

    @app.post("/hooks/<provider>/<client_id>")
    @webhook({"bavimail": bavimail_receiver, "sparkpost": sparkpost_receiver})
    def on_event(event, provider, client_id):
        ...                                    # called once per new event

The body is read with ``request.get_data(cache=False)``: the bytes as sent,
never ``request.json`` re-serialised (which would not match the signature).
A body whose Content-Length exceeds the receiver's max_body is refused with
413 before it is read. Answers: 200 ``{"ok": true, "received": n}``; 400, 401,
404, 413, 503 ``{"error": code, "status": n, "message": ...}``. If the
handler raises, the request's events are un-marked (the sender's retry is
processed) and Flask answers 500.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from flask import jsonify, request

from . import _http
from .receiver import ReceiveError


def webhook(
    receivers: _http.Receivers,
    *,
    provider_arg: str = "provider",
    tenant_arg: str = "client_id",
    token_arg: str = "token",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``handler(event, **view_args)`` into a Flask view.

    ``receivers`` is a :class:`hookline.Receiver`, or a dict of them keyed
    by provider name (the route's ``provider_arg`` path parameter picks
    one; unknown: 404). ``tenant_arg`` names the path parameter carrying
    the client id on per-client routes, ``token_arg`` the one carrying the
    route token for unsigned providers (else ``?token=``).

    Returns the decorator. The view answers 200 ``{"ok": true, "received":
    n}``, or the :class:`hookline.ReceiveError`'s status with ``{"error":
    code, ...}``. Raises nothing at decoration time; in the view, what
    ``handler`` raises propagates (500) after the events were released.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def view(**view_args: Any) -> Any:
            try:
                receiver, kwargs = _http.select(
                    receivers,
                    view_args,
                    request.args.get("token"),
                    provider_arg=provider_arg,
                    tenant_arg=tenant_arg,
                    token_arg=token_arg,
                )
                _http.check_length(receiver, request.content_length)
                body = request.get_data(cache=False, as_text=False, parse_form_data=False)
                events = receiver.handle(
                    body, request.headers, lambda ev: handler(ev, **view_args), **kwargs
                )
            except ReceiveError as e:
                payload, status = _http.failure(e)
                return jsonify(payload), status
            return jsonify(_http.ok_body(len(events))), 200

        return view

    return decorate
