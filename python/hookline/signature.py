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

#: Seconds a signed timestamp may differ from now, either way (replay
#: window), when verify()/Verifier/Receiver are given no ``tolerance``.
DEFAULT_TOLERANCE: int = _hookline.DEFAULT_TOLERANCE
#: Largest body, in bytes, verify()/Verifier accept when given no
#: ``max_body`` (16 MiB); larger bodies raise BodyTooLarge.
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

    ``headers`` is the container. Returns an iterable of (name, value)
    pairs (the dict's own items view for a dict: nothing is copied).
    Raises nothing itself; an object that is not a header container fails
    later, in :func:`verify`, with ``TypeError``.
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

    ``body`` is the exact bytes that will be sent. ``secret`` is one secret
    or a list (key rotation: every secret signs). A str is read per
    ``secret_encoding`` ("default": the scheme's own form, "hex", "base64"
    or "raw"); bytes are the raw key. ``scheme`` is "standard" (default),
    "hookline", "stripe" or "github". ``msg_id`` is generated and
    ``timestamp`` (Unix seconds) taken from the clock when not given.

    Returns a new dict of header name to value. The secrets are parsed into
    key material that is wiped before returning; use :class:`Signer` to
    sign many bodies with the same secrets.

    Raises :class:`InvalidSecret` (``.code`` "secret_malformed" or
    "key_kind"), :class:`UnknownScheme` ("scheme_unknown"),
    :class:`InvalidArgument` ("invalid_argument"; "too_many" for too many
    secrets), ``TypeError`` for arguments of the wrong type.
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
    container (names in any case; a signature header sent twice is refused).
    ``secret`` is one secret or a list (key rotation: any may match), read
    per ``secret_encoding`` as in :func:`sign`; ``scheme`` as in
    :func:`sign`. The timestamp must be within ``tolerance`` seconds of
    ``now`` (Unix seconds, default: the clock) both ways. ``max_body``
    (None: no limit) bounds the body.

    Returns a :class:`VerifyResult`; never returns a falsy "not verified"
    value. Releases the GIL while checking.

    Raises (all :class:`VerificationError`, a ``ValueError``):
    :class:`MissingHeader` ("header_missing"), :class:`MalformedHeader`
    ("header_malformed"), :class:`SignatureMismatch` ("signature_mismatch"),
    :class:`TimestampTooOld` ("timestamp_too_old"),
    :class:`TimestampInFuture` ("timestamp_in_future"),
    :class:`BodyTooLarge` ("body_too_large"), and for bad configuration
    :class:`InvalidSecret` ("secret_malformed", "key_kind"),
    :class:`UnknownScheme` ("scheme_unknown"); :class:`InvalidArgument`
    ("invalid_argument") for a bad option value.
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
    once). Safe to share between threads; calls are serialised.

    ``secrets``, ``scheme`` and ``secret_encoding`` are those of
    :func:`sign`. The key material is owned by the signer and wiped when it
    is garbage-collected.

    Raises (from the constructor) :class:`InvalidSecret`,
    :class:`UnknownScheme` or :class:`InvalidArgument`, as :func:`sign`.
    """

    __slots__ = ("_signer", "_scheme")

    def __init__(
        self, secrets: Secrets, *, scheme: str = "standard", secret_encoding: str = "default"
    ) -> None:
        self._signer = _hookline.Signer(secrets, scheme, secret_encoding)
        self._scheme = scheme

    @property
    def scheme(self) -> str:
        """The signature scheme's name ("standard", ...)."""
        return self._scheme

    def sign(
        self, body: bytes, *, msg_id: Optional[str] = None, timestamp: Optional[int] = None
    ) -> Dict[str, str]:
        """Like :func:`hookline.sign` with this signer's secrets and scheme:
        the headers (a new dict) to send with ``body``. ``msg_id`` is
        generated and ``timestamp`` (Unix seconds) read from the clock when
        not given.

        Raises :class:`InvalidArgument` ("invalid_argument", e.g. an
        ``msg_id`` the scheme cannot carry), ``TypeError`` for a body that
        is not bytes-like.
        """
        return self._signer.sign(body, msg_id, _seconds(timestamp))

    def __repr__(self) -> str:
        return "hookline.Signer(scheme=%r)" % (self.scheme,)


class Verifier(_hookline.Verifier):
    """Reusable verification state for one set of secrets (HMAC keys are
    prepared once): what a busy receiver wants. Safe to share between
    threads; calls are serialised (use one per thread for parallelism).

    ``secrets``, ``scheme``, ``tolerance`` (seconds), ``max_body`` (bytes,
    None: no limit) and ``secret_encoding`` are those of :func:`verify`.
    The key material is owned by the verifier and wiped when it is
    garbage-collected.

    Raises (from the constructor) :class:`InvalidSecret`,
    :class:`UnknownScheme` or :class:`InvalidArgument`, as :func:`verify`.
    """

    # The C type holds the keyed state; its _verify is this class's verify,
    # called without a Python frame per request.
    __slots__ = ("_scheme", "_tolerance", "_max_body")

    def __init__(
        self,
        secrets: Secrets,
        *,
        scheme: str = "standard",
        tolerance: int = DEFAULT_TOLERANCE,
        max_body: Optional[int] = DEFAULT_MAX_BODY,
        secret_encoding: str = "default",
    ) -> None:
        _hookline.Verifier.__init__(self, secrets, scheme, tolerance, max_body, secret_encoding)
        self._scheme = scheme
        self._tolerance = tolerance
        self._max_body = max_body

    @property
    def scheme(self) -> str:
        """The signature scheme's name ("standard", ...)."""
        return self._scheme

    @property
    def tolerance(self) -> int:
        """Seconds a timestamp may differ from now, either way."""
        return self._tolerance

    @property
    def max_body(self) -> Optional[int]:
        """The largest body accepted, in bytes (None: no limit)."""
        return self._max_body

    # verify(body, headers, *, now=None) -> VerifyResult: like
    # hookline.verify with this verifier's secrets and options. In C: an int
    # `now` and a plain dict of headers are read there; other `now` values
    # go through _seconds and other containers through header_pairs, as
    # before. Raises the VerificationError subclasses listed under verify().
    verify = _hookline.Verifier._verify

    def __copy__(self) -> "Verifier":
        # The keyed state lives in the C object and cannot be duplicated; a
        # shallow copy shares it anyway (as copying the old Python wrapper
        # did), so the copy is this verifier itself.
        return self

    def __repr__(self) -> str:
        return "hookline.Verifier(scheme=%r, tolerance=%r)" % (self.scheme, self.tolerance)


_hookline._set_verify_helpers(_seconds, header_pairs)


def generate_secret(scheme: str = "standard") -> str:
    """A fresh HMAC secret from the OS CSPRNG in the scheme's text form
    ("whsec_<base64>" for standard, hex for hookline).

    ``scheme`` names the scheme the secret is for. Returns the secret as a
    str (show it once; store it like a password). Raises
    :class:`UnknownScheme` ("scheme_unknown"), :class:`Error` ("random")
    if the OS has no randomness to give.
    """
    return _hookline.generate_secret(scheme)


def generate_keypair() -> Tuple[str, str]:
    """A fresh Ed25519 key pair for the standard scheme's "v1a" signatures:
    (private "whsk_...", public "whpk_...").

    Takes no arguments. Returns the pair of str; the sender keeps the
    private key, receivers get the public one. Raises :class:`Error`
    ("random") if the OS has no randomness to give.
    """
    return _hookline.generate_keypair()
