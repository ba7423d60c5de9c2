"""Sign webhook payloads and verify received requests.

A thin layer over the C core (hookline._hookline): it reads the clock when
the caller gives no time, turns the header containers web frameworks hand
out into (name, value) pairs, and wraps results. Every check happens in C.
"""

from __future__ import annotations

import math
import operator
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _hookline

Text = Union[str, bytes]
Secrets = Union[str, bytes, Sequence[Text]]
HeaderPairs = Iterable[Tuple[Text, Text]]
Headers = Union[Mapping[str, str], Mapping[bytes, bytes], HeaderPairs]

DEFAULT_TOLERANCE: int = _hookline.DEFAULT_TOLERANCE
DEFAULT_MAX_BODY: int = _hookline.DEFAULT_MAX_BODY


@dataclass(frozen=True)
class VerifyResult:
    """What a receiver needs to process a verified request idempotently.

    msg_id        the message id (standard scheme's webhook-id), else None
    timestamp     the signed unix timestamp (None for github, which has none)
    secret_index  which of the secrets given verified the request
    event_id, event_type, created_at
                  the body's "id", "type"/"eventType" and "created_at" when the
                  body is a JSON object that has them, else None
    """

    msg_id: Optional[str]
    timestamp: Optional[int]
    secret_index: int
    event_id: Optional[str]
    event_type: Optional[str]
    created_at: Optional[str]


_hookline._set_result_type(VerifyResult)


def _seconds(value: Optional[float]) -> int:
    """Unix seconds as an int: the clock when None, floats rounded down."""
    if value is None:
        return int(time.time())
    if isinstance(value, float):
        return math.floor(value)
    return operator.index(value)


def _getlist(headers: Any) -> Any:
    for name in ("getlist", "get_all", "getall"):
        fn = getattr(headers, name, None)
        if callable(fn):
            return fn
    return None


def header_pairs(headers: Headers) -> HeaderPairs:
    """Every (name, value) a header container holds, repeats included.

    A header sent twice must reach the core twice so that it is refused as
    malformed. dicts cannot repeat a key and are passed as they are;
    multi-value containers (werkzeug/Flask ``Headers``, starlette ``Headers``,
    ``email.message.Message`` / ``http.client.HTTPMessage``, multidict) are
    read through their getlist/get_all/getall; other mappings through
    ``.items()``; anything else must already be an iterable of pairs.
    """
    if isinstance(headers, dict):
        return headers.items()
    keys = getattr(headers, "keys", None)
    getlist = _getlist(headers)
    if getlist is not None and callable(keys):
        pairs: List[Tuple[Any, Any]] = []
        seen = set()
        for name in keys():
            # The same key (in any case) is listed once per occurrence, and
            # getlist already returns every occurrence.
            if name in seen:
                continue
            seen.add(name)
            for value in getlist(name) or ():
                pairs.append((name, value))
        return pairs
    items = getattr(headers, "items", None)
    if callable(items):
        return items()
    return headers  # type: ignore[return-value]


def sign(
    body: bytes,
    secret: Secrets,
    *,
    scheme: str = "standard",
    msg_id: Optional[str] = None,
    timestamp: Optional[int] = None,
    secret_encoding: str = "default",
) -> Dict[str, str]:
    """Sign ``body``; returns the headers to send, e.g. for the standard
    scheme ``{"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...}``.

    ``secret`` is one secret or a list (key rotation: every secret signs).
    A str is read per ``secret_encoding`` ("default": the scheme's own
    form, "hex", "base64" or "raw"); bytes are the raw key. ``msg_id`` is
    generated and ``timestamp`` taken from the clock when not given.
    """
    return _hookline.sign(body, secret, scheme, msg_id, _seconds(timestamp), secret_encoding)


def verify(
    body: bytes,
    headers: Headers,
    secret: Secrets,
    *,
    scheme: str = "standard",
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
    max_body: Optional[int] = DEFAULT_MAX_BODY,
    secret_encoding: str = "default",
) -> VerifyResult:
    """Verify a received request, or raise a :class:`hookline.VerificationError`.

    ``body`` is the raw body exactly as received. ``headers`` is any header
    container (names in any case). ``secret`` is one secret or a list (key
    rotation: any may match). The timestamp must be within ``tolerance``
    seconds of ``now`` (default: the clock) both ways. ``max_body`` (None:
    no limit) bounds the body. Never returns a falsy "not verified" value.
    """
    return VerifyResult(
        *_hookline.verify(
            body,
            header_pairs(headers),
            secret,
            scheme,
            tolerance,
            _seconds(now),
            max_body,
            secret_encoding,
        )
    )


class Signer:
    """Reusable signing state for one set of secrets (keys are prepared
    once). Safe to share between threads; calls are serialised."""

    __slots__ = ("_signer", "_scheme")

    def __init__(
        self, secrets: Secrets, *, scheme: str = "standard", secret_encoding: str = "default"
    ) -> None:
        self._signer = _hookline.Signer(secrets, scheme, secret_encoding)
        self._scheme = scheme

    @property
    def scheme(self) -> str:
        return self._scheme

    def sign(
        self, body: bytes, *, msg_id: Optional[str] = None, timestamp: Optional[int] = None
    ) -> Dict[str, str]:
        """Like :func:`hookline.sign` with this signer's secrets and scheme."""
        return self._signer.sign(body, msg_id, _seconds(timestamp))

    def __repr__(self) -> str:
        return "hookline.Signer(scheme=%r)" % (self.scheme,)


class Verifier:
    """Reusable verification state for one set of secrets (HMAC keys are
    prepared once): what a busy receiver wants. Safe to share between
    threads; calls are serialised (use one per thread for parallelism)."""

    __slots__ = ("_verifier", "_scheme", "_tolerance", "_max_body")

    def __init__(
        self,
        secrets: Secrets,
        *,
        scheme: str = "standard",
        tolerance: int = DEFAULT_TOLERANCE,
        max_body: Optional[int] = DEFAULT_MAX_BODY,
        secret_encoding: str = "default",
    ) -> None:
        self._verifier = _hookline.Verifier(secrets, scheme, tolerance, max_body, secret_encoding)
        self._scheme = scheme
        self._tolerance = tolerance
        self._max_body = max_body

    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def tolerance(self) -> int:
        return self._tolerance

    @property
    def max_body(self) -> Optional[int]:
        return self._max_body

    def verify(self, body: bytes, headers: Headers, *, now: Optional[float] = None) -> VerifyResult:
        """Like :func:`hookline.verify` with this verifier's secrets and options."""
        # A plain dict goes to C as it is (read in place there); the
        # VerifyResult is built in C too. Same checks, same result.
        if now is None:
            now = int(time.time())
        elif type(now) is not int:
            now = _seconds(now)
        return self._verifier.verify_result(
            body, headers if type(headers) is dict else header_pairs(headers), now
        )

    def __repr__(self) -> str:
        return "hookline.Verifier(scheme=%r, tolerance=%r)" % (self.scheme, self.tolerance)


def generate_secret(scheme: str = "standard") -> str:
    """A fresh HMAC secret from the OS CSPRNG in the scheme's text form
    ("whsec_<base64>" for standard, hex for hookline)."""
    return _hookline.generate_secret(scheme)


def generate_keypair() -> Tuple[str, str]:
    """A fresh Ed25519 key pair for the standard scheme's "v1a" signatures:
    (private "whsk_...", public "whpk_...")."""
    return _hookline.generate_keypair()
