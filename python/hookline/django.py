"""Django helper: a view decorator that receives webhooks from the RAW body.

    from hookline.django import webhook

    @webhook(receiver)
    def on_event(event, client_id=None):
        ...                                    # called once per new event

    urlpatterns = [path("hooks/<str:provider>/<str:client_id>", on_event)]

The body is ``request.body`` (the bytes as sent, never a re-serialised
``json.loads`` result). The view is CSRF-exempt (the signature is the
authentication), answers 405 to anything but POST, and refuses a
Content-Length over max_body (or over Django's DATA_UPLOAD_MAX_MEMORY_SIZE)
with 413 before reading. Answers as in hookline.flask.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import _http
from .receiver import PayloadTooLarge, ReceiveError


def webhook(
    receivers: _http.Receivers,
    *,
    provider_arg: str = "provider",
    tenant_arg: str = "client_id",
    token_arg: str = "token",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``handler(event, **url_kwargs)`` into a Django view.

    ``receivers`` is a :class:`hookline.Receiver`, or a dict of them keyed
    by provider name (the route's ``provider_arg`` path parameter picks
    one; unknown: 404). ``tenant_arg`` names the path parameter carrying
    the client id on per-client routes, ``token_arg`` the one carrying the
    route token for unsigned providers (else ``?token=``).

    Returns the decorator; the view is CSRF-exempt and answers 405 to
    anything but POST, else as in hookline.flask. Raises nothing at
    decoration time; in the view, what ``handler`` raises propagates (500)
    after the events were released.
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @csrf_exempt
        @functools.wraps(handler)
        def view(request: HttpRequest, **url_kwargs: Any) -> JsonResponse:
            if request.method != "POST":
                return JsonResponse(
                    {"error": "method_not_allowed", "status": 405, "message": "POST only"},
                    status=405,
                )
            try:
                receiver, kwargs = _http.select(
                    receivers,
                    url_kwargs,
                    request.GET.get("token"),
                    provider_arg=provider_arg,
                    tenant_arg=tenant_arg,
                    token_arg=token_arg,
                )
                _http.check_length(receiver, _http.parse_length(request.META.get("CONTENT_LENGTH")))
                try:
                    body = request.body
                except RequestDataTooBig:
                    raise PayloadTooLarge("body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE") from None
                events = receiver.handle(
                    body, request.headers, lambda ev: handler(ev, **url_kwargs), **kwargs
                )
            except ReceiveError as e:
                payload, status = _http.failure(e)
                return JsonResponse(payload, status=status)
            return JsonResponse(_http.ok_body(len(events)), status=200)

        return view

    return decorate
