"""What the framework helpers share: picking the receiver and tenant for a
route, the early size check, and the JSON answers. Framework-free."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .receiver import PayloadTooLarge, ReceiveError, Receiver, UnknownTenant, error_body

Receivers = Union[Receiver, Mapping[str, Receiver]]


def select(
    receivers: Receivers,
    params: Mapping[str, Any],
    query_token: Optional[str],
    *,
    provider_arg: str,
    tenant_arg: str,
    token_arg: str,
) -> Tuple[Receiver, Dict[str, Any]]:
    """The receiver for this route (by ``params[provider_arg]`` when given a
    mapping of providers) and the keyword arguments for receive()."""
    if isinstance(receivers, Receiver):
        receiver = receivers
    else:
        provider = params.get(provider_arg)
        if provider is None or provider not in receivers:
            raise UnknownTenant("unknown provider", code="unknown_provider")
        receiver = receivers[provider]
    kwargs: Dict[str, Any] = {}
    if receiver.multi_tenant:
        kwargs["tenant"] = params.get(tenant_arg)
        if kwargs["tenant"] is None:
            raise UnknownTenant("this route needs a client id")
    kwargs["token"] = params.get(token_arg) or query_token
    return receiver, kwargs


def check_length(receiver: Receiver, content_length: Optional[int]) -> None:
    """413 before reading a body the client already said is too long."""
    if receiver.max_body is not None and content_length is not None:
        if content_length > receiver.max_body:
            raise PayloadTooLarge(
                "body of %d bytes exceeds %d" % (content_length, receiver.max_body)
            )


def parse_length(value: Optional[str]) -> Optional[int]:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


def ok_body(count: int) -> Dict[str, Any]:
    return {"ok": True, "received": count}


def failure(error: ReceiveError) -> Tuple[Dict[str, Any], int]:
    return error_body(error), error.status
