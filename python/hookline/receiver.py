"""Receive webhooks: authenticate, then parse, unpack and deduplicate.

    receiver = hookline.Receiver("whsec_...", seen=hookline.SeenStore("seen.db"))
    events = receiver.receive(raw_body, request.headers)   # list[Event], maybe []

Order matters and is fixed: the body's size is checked, then its signature
(or, for providers that do not sign, the route's token or HTTP basic
credentials), and only then is it decoded and parsed. Every failure raises a
:class:`ReceiveError` whose ``.status`` is the HTTP answer (400, 401, 404,
413, 503) and whose ``.code`` is a stable name; bad input never surfaces as
anything else. ``receive`` always returns a list (empty when everything was a
duplicate), never None.

Framework helpers built on this: hookline.flask, hookline.django,
hookline.asgi (Starlette / FastAPI).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Container,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _hookline
from .dedupe import SeenStore
from .signature import DEFAULT_MAX_BODY, DEFAULT_TOLERANCE, Headers, Secrets, Verifier, header_pairs

#: SparkPost / Bird's batch id header (not signed by them: HTTP basic or
#: OAuth2 protects those routes).
SPARKPOST_BATCH_HEADER = "x-messagesystems-batch-id"

# ------------------------------------------------------------------ errors


class ReceiveError(_hookline.Error):
    """A request was refused. ``.status`` is the HTTP status to answer and
    ``.code`` a stable lowercase name (the JSON error body carries both)."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: Optional[str] = None, status: Optional[int] = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(ReceiveError, ValueError):
    """400: the body is not UTF-8, not JSON, truncated, or not an event shape;
    or a header the receiver reads is malformed."""

    status = 400
    code = "malformed_payload"


class Unauthorized(ReceiveError, _hookline.VerificationError):
    """401: missing or bad signature, stale or future timestamp, wrong token
    or credentials. ``.code`` is the core's reason (e.g. signature_mismatch)."""

    status = 401
    code = "unauthorized"


class UnknownTenant(ReceiveError, LookupError):
    """404: no tenant (client id) of that name on this route, or an event on
    an agency route names one we do not serve."""

    status = 404
    code = "unknown_tenant"


class PayloadTooLarge(ReceiveError):
    """413: the body is longer than the receiver's max_body."""

    status = 413
    code = "body_too_large"


class StoreUnavailable(ReceiveError):
    """503: the seen-id store failed; nothing was marked, the sender should
    retry. ``.code`` is the store's (store_io, store_full, ...)."""

    status = 503
    code = "store_unavailable"


# ------------------------------------------------------------------ events


@dataclass(frozen=True)
class Event:
    """One event out of a request.

    payload   the event object (for SparkPost/Bird: the inner ``*_event``
              object out of ``{"msys": {...}}``)
    id        its id ("id", "event_id" or "eventId"), None when it has none
              (then it cannot be deduplicated on its own)
    type      "type", "eventType", "event_type" or "event"
    tenant    which tenant it belongs to (route or payload), None on a
              single-tenant receiver
    batch_id  the request's batch id (the signed webhook-id, else the
              X-MessageSystems-Batch-ID header), None when absent
    kind      "event", or the SparkPost/Bird event class ("message_event",
              "track_event", ...)
    """

    payload: Dict[str, Any]
    id: Optional[str]
    type: Optional[str]
    tenant: Optional[str]
    batch_id: Optional[str]
    kind: str = "event"
    marks: Tuple[str, ...] = field(default=(), repr=False, compare=False)


# ------------------------------------------------------------------ tenants


@dataclass(frozen=True)
class Tenant:
    """How requests for one tenant (or a single-tenant route) are
    authenticated: exactly one of

    secrets  one secret or a list (rotation), checked with ``scheme``;
    token    an unguessable per-client token the route carries (URL path or
             ``?token=``), for providers that do not sign;
    basic    ("user", "password") HTTP basic credentials, likewise.

    Token and basic credentials are compared in constant time, but they are
    weaker than a signature: they prove who knows the URL or password, not
    that the body is the one the provider sent, and they give no replay
    protection. Use them only for providers that offer nothing better.
    """

    secrets: Optional[Secrets] = None
    scheme: str = "standard"
    tolerance: int = DEFAULT_TOLERANCE
    secret_encoding: str = "default"
    token: Optional[str] = None
    basic: Optional[Tuple[str, str]] = None


class _Auth:
    """A tenant's prepared authenticator."""

    __slots__ = ("verifier", "token", "basic")

    def __init__(self, tenant: Tenant, max_body: Optional[int]) -> None:
        given = [tenant.secrets is not None, tenant.token is not None, tenant.basic is not None]
        if sum(given) != 1:
            raise _hookline.InvalidArgument(
                "a tenant needs exactly one of secrets, token or basic credentials"
            )
        self.verifier = None
        self.token = None
        self.basic = None
        if tenant.secrets is not None:
            self.verifier = Verifier(
                tenant.secrets,
                scheme=tenant.scheme,
                tolerance=tenant.tolerance,
                max_body=max_body,
                secret_encoding=tenant.secret_encoding,
            )
        elif tenant.token is not None:
            if not isinstance(tenant.token, str) or len(tenant.token) < 16:
                raise _hookline.InvalidArgument("a route token must be a str of 16+ characters")
            self.token = tenant.token.encode()
        else:
            user, password = tenant.basic  # type: ignore[misc]
            self.basic = ("%s:%s" % (user, password)).encode()


def _header_values(headers: Headers, name: str) -> List[str]:
    """Every value of header ``name`` (any case), repeats included."""
    out = []
    for k, v in header_pairs(headers):
        k_s = k.decode("latin-1") if isinstance(k, bytes) else k
        if k_s.lower() == name:
            out.append(v.decode("latin-1") if isinstance(v, bytes) else v)
    return out


def _one_header(headers: Headers, name: str, error: type) -> Optional[str]:
    values = _header_values(headers, name)
    if len(values) > 1:
        raise error("header %s sent more than once" % name, code="header_malformed")
    return values[0] if values else None


# ----------------------------------------------------------------- parsing


def _reject_constant(name: str) -> Any:
    raise ValueError("%s is not JSON" % name)


def _parse(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest("body is not UTF-8 (byte %d)" % e.start, code="payload_not_utf8") from None
    if not text.strip():
        raise BadRequest("body is empty", code="payload_not_json")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("body nests too deeply", code="payload_not_json") from None
    except ValueError as e:
        # json.JSONDecodeError: "Expecting value", "Unterminated string"...
        # A body cut short fails here too.
        raise BadRequest("body is not JSON: %s" % e, code="payload_not_json") from None


def _text(value: Any) -> Optional[str]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int)):
        s = str(value)
        return s if s else None
    return None


def _first(obj: Mapping[str, Any], names: Sequence[str]) -> Optional[str]:
    for n in names:
        if n in obj:
            v = _text(obj[n])
            if v is not None:
                return v
    return None


_ID_FIELDS = ("id", "event_id", "eventId")
_TYPE_FIELDS = ("type", "eventType", "event_type", "event")


def _unpack(doc: Any) -> List[Tuple[str, Dict[str, Any]]]:
    """(kind, event object) pairs out of a JSON array of events, a single
    event object, or SparkPost/Bird's ``[{"msys": {"message_event": {...}}}]``
    (where ``{"msys": {}}`` is their empty test ping)."""
    if isinstance(doc, dict):
        items: List[Any] = [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        raise BadRequest("body is JSON but not an event object or an array of them",
                         code="payload_shape")
    out: List[Tuple[str, Dict[str, Any]]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest("element %d is not an object" % i, code="payload_shape")
        if "msys" in item:
            msys = item["msys"]
            if not isinstance(msys, dict) or len(item) != 1:
                raise BadRequest("element %d: msys must be the only key, an object" % i,
                                 code="payload_shape")
            if not msys:
                continue  # a ping with no event
            if len(msys) != 1:
                raise BadRequest("element %d: msys holds more than one event" % i,
                                 code="payload_shape")
            ((kind, event),) = msys.items()
            if not isinstance(event, dict) or not kind.endswith("_event"):
                raise BadRequest("element %d: msys.%s is not an event object" % (i, kind),
                                 code="payload_shape")
            out.append((kind, event))
        else:
            out.append(("event", item))
    return out


# ---------------------------------------------------------------- receiver

_MAX_KEY = _hookline.SEEN_ID_MAX


def _key(*parts: str) -> str:
    """A seen-store key naming the route, tenant, kind and id; hashed when
    it would exceed the store's id limit."""
    key = "\x1f".join(parts)
    if len(key.encode("utf-8", "surrogatepass")) <= _MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Receiver:
    """Framework-neutral webhook receiver.

    Single tenant: ``Receiver(secrets, scheme=...)`` (or ``token=`` /
    ``basic=`` for providers that do not sign).

    Per-client routes (``/hooks/{provider}/{client_id}``):
    ``Receiver(tenants={"acme": Tenant(secrets=...), ...})`` and
    ``receive(..., tenant=client_id)``; an unknown id is a 404.

    Agency routes (one provider account shared by many clients):
    ``Receiver(agency_secret, tenant_of_event=lambda ev: ev.get("client_id"),
    known_tenants={"acme", ...})``: the request is verified with the agency's
    secret, then each event is routed by its payload; an event naming an
    unknown tenant is a 404 for the request.

    ``seen``: a :class:`SeenStore` (or None: no deduplication). Batches are
    dropped by batch id (the signed webhook-id, else ``batch_id_header``) and
    events by event id, each for ``dedupe_ttl`` seconds (default: the
    store's). ``name`` scopes the keys when several receivers share a store.

    ``scheme``, ``tolerance`` and ``secret_encoding`` are those of
    :func:`hookline.verify`; ``max_body`` (bytes, None: no limit) is checked
    before anything else (413). The receiver keeps a :class:`Verifier` per
    tenant (key material wiped when it is collected); it does not own
    ``seen`` (close the store yourself). Safe to share between threads.

    Raises :class:`InvalidArgument` ("invalid_argument") for contradictory
    or missing credentials, and the configuration errors of
    :class:`Verifier` (:class:`InvalidSecret`, :class:`UnknownScheme`).
    """

    def __init__(
        self,
        secrets: Optional[Secrets] = None,
        *,
        scheme: str = "standard",
        tolerance: int = DEFAULT_TOLERANCE,
        secret_encoding: str = "default",
        token: Optional[str] = None,
        basic: Optional[Tuple[str, str]] = None,
        tenants: Optional[Mapping[str, Tenant]] = None,
        tenant_of_event: Optional[Callable[[Dict[str, Any]], Any]] = None,
        known_tenants: Optional[Container[str]] = None,
        seen: Optional[SeenStore] = None,
        max_body: Optional[int] = DEFAULT_MAX_BODY,
        batch_id_header: Optional[str] = SPARKPOST_BATCH_HEADER,
        dedupe_ttl: Optional[float] = None,
        name: str = "",
    ) -> None:
        route_auth = secrets is not None or token is not None or basic is not None
        if tenants is not None and route_auth:
            raise _hookline.InvalidArgument("give either route credentials or tenants, not both")
        if tenants is None and not route_auth:
            raise _hookline.InvalidArgument(
                "a receiver needs secrets, a token, basic credentials or tenants"
            )
        if tenant_of_event is not None and (tenants is not None or known_tenants is None):
            raise _hookline.InvalidArgument(
                "an agency receiver (tenant_of_event) takes the agency's own credentials "
                "and known_tenants"
            )
        if max_body is not None and max_body < 0:
            raise _hookline.InvalidArgument("max_body must be >= 0 or None")
        self.max_body = max_body
        self.seen = seen
        self.name = name
        self.batch_id_header = batch_id_header.lower() if batch_id_header else None
        self.dedupe_ttl = dedupe_ttl
        self.tenant_of_event = tenant_of_event
        self.known_tenants = known_tenants
        self._route: Optional[_Auth] = None
        self._tenants: Optional[Dict[str, _Auth]] = None
        if tenants is not None:
            self._tenants = {str(k): _Auth(v, max_body) for k, v in tenants.items()}
        else:
            self._route = _Auth(
                Tenant(secrets, scheme, tolerance, secret_encoding, token, basic), max_body
            )

    @property
    def multi_tenant(self) -> bool:
        """True when requests name their tenant (per-client routes)."""
        return self._tenants is not None

    # ------------------------------------------------------ authentication

    def _authenticate(
        self, auth: _Auth, body: bytes, headers: Headers, token: Optional[str], now: Optional[float]
    ) -> Optional[str]:
        """Check the request; returns the signed webhook-id (if any)."""
        if auth.verifier is not None:
            try:
                result = auth.verifier.verify(body, headers, now=now)
            except _hookline.BodyTooLarge as e:
                raise PayloadTooLarge(str(e)) from None
            except _hookline.VerificationError as e:
                raise Unauthorized(str(e), code=e.code) from None
            return result.msg_id
        if self.max_body is not None and len(body) > self.max_body:
            raise PayloadTooLarge("body of %d bytes exceeds %d" % (len(body), self.max_body))
        if auth.token is not None:
            presented = (token or "").encode("utf-8", "surrogatepass")
            # compare_digest takes time independent of where the bytes differ.
            if not hmac.compare_digest(presented, auth.token):
                raise Unauthorized("route token missing or wrong", code="token_mismatch")
            return None
        header = _one_header(headers, "authorization", Unauthorized)
        presented = b""
        if header is not None and header[:6].lower() == "basic ":
            try:
                presented = base64.b64decode(header[6:].strip(), validate=True)
            except (binascii.Error, ValueError):
                presented = b""
        if not hmac.compare_digest(presented, auth.basic or b"\0"):
            raise Unauthorized("HTTP basic credentials missing or wrong",
                               code="credentials_mismatch")
        return None

    def _auth_for(self, tenant: Optional[str]) -> _Auth:
        if self._tenants is None:
            if tenant is not None:
                raise _hookline.InvalidArgument(
                    "this receiver has no tenants; do not pass tenant="
                )
            assert self._route is not None
            return self._route
        if tenant is None or str(tenant) not in self._tenants:
            raise UnknownTenant("unknown tenant")
        return self._tenants[str(tenant)]

    # ------------------------------------------------------------- receive

    def receive(
        self,
        body: Union[bytes, bytearray, memoryview],
        headers: Headers,
        *,
        tenant: Optional[str] = None,
        token: Optional[str] = None,
        now: Optional[float] = None,
    ) -> List[Event]:
        """Authenticate, parse, unpack and deduplicate one request.

        ``body`` is the raw body exactly as received (bytes: a str or a
        re-serialised JSON object cannot be verified). ``headers`` is any
        header container. ``tenant`` is the route's client id on per-client
        routes; ``token`` the route's token for unsigned providers; ``now``
        the clock (unix seconds) for the signature's timestamp and the store.

        Returns the new events (a list, possibly empty); raises ReceiveError.
        The returned events are marked seen: if processing them fails, call
        :meth:`release` so that the sender's retry is processed.

        Raises (each a :class:`ReceiveError` with ``.status`` and ``.code``):
        :class:`PayloadTooLarge` (413, "body_too_large"),
        :class:`Unauthorized` (401; "signature_mismatch",
        "timestamp_too_old", "timestamp_in_future", "header_missing",
        "token_mismatch", ...), :class:`BadRequest` (400;
        "payload_not_utf8", "payload_not_json", "header_malformed", ...),
        :class:`UnknownTenant` (404), :class:`StoreUnavailable` (503; the
        store's code, e.g. "store_io", "store_full").
        """
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError("body must be the raw bytes as received, not %s" % type(body).__name__)
        body = bytes(body)
        auth = self._auth_for(tenant)
        msg_id = self._authenticate(auth, body, headers, token, now)

        # A signed id (webhook-id) wins over a batch header, which no scheme
        # signs: a replayed request carrying a forged batch id must not be
        # able to make us drop a future genuine batch.
        batch_id = msg_id
        if batch_id is None and self.batch_id_header:
            batch_id = _one_header(headers, self.batch_id_header, BadRequest)

        pairs = _unpack(_parse(body))
        events = []
        for i, (kind, obj) in enumerate(pairs):
            ev_tenant = tenant
            if self.tenant_of_event is not None:
                try:
                    ev_tenant = _text(self.tenant_of_event(obj))
                except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                    # A lookup like ev["client_id"] on an event without it:
                    # the input is wrong, not the server.
                    raise BadRequest("event %d: no tenant in it" % i, code="payload_shape") from None
                if ev_tenant is None or ev_tenant not in self.known_tenants:  # type: ignore[operator]
                    raise UnknownTenant("an event names an unknown tenant")
            events.append(
                Event(obj, _first(obj, _ID_FIELDS), _first(obj, _TYPE_FIELDS), ev_tenant, batch_id,
                      kind)
            )
        if self.seen is None:
            return events
        return self._dedupe(events, tenant, batch_id, now)

    def _dedupe(
        self, events: List[Event], tenant: Optional[str], batch_id: Optional[str],
        now: Optional[float]
    ) -> List[Event]:
        assert self.seen is not None
        marked: List[str] = []
        fresh: List[Event] = []
        try:
            batch_mark: Tuple[str, ...] = ()
            if batch_id is not None:
                key = _key(self.name, tenant or "", "batch", batch_id)
                if not self.seen.check_and_add(key, now, ttl=self.dedupe_ttl):
                    return []  # the whole batch was processed already
                marked.append(key)
                batch_mark = (key,)
            for ev in events:
                if ev.id is None:
                    fresh.append(Event(ev.payload, ev.id, ev.type, ev.tenant, ev.batch_id,
                                       ev.kind, batch_mark))
                    continue
                key = _key(self.name, ev.tenant or "", ev.kind, ev.id)
                if self.seen.check_and_add(key, now, ttl=self.dedupe_ttl):
                    marked.append(key)
                    fresh.append(Event(ev.payload, ev.id, ev.type, ev.tenant, ev.batch_id,
                                       ev.kind, batch_mark + (key,)))
        except _hookline.StoreError as e:
            self._forget(marked)
            raise StoreUnavailable(str(e), code=e.code) from None
        except BaseException:
            self._forget(marked)
            raise
        return fresh

    def _forget(self, keys: Iterable[str]) -> None:
        if self.seen is None:
            return
        for key in keys:
            try:
                self.seen.remove(key)
            except _hookline.Error:
                pass  # best effort: the worst case is a retry dropped as a duplicate

    def release(self, events: Iterable[Event]) -> None:
        """Un-mark the events (and their batch) so that the sender's retry is
        processed: call it when handling them failed. ``events`` are those
        :meth:`receive` returned.

        Raises nothing: a store failure here is swallowed (the marks then
        expire with their ttl), so it never hides the handler's error.
        """
        keys: Dict[str, None] = {}
        for ev in events:
            for k in ev.marks:
                keys[k] = None
        self._forget(keys)

    def handle(
        self,
        body: Union[bytes, bytearray, memoryview],
        headers: Headers,
        handler: Callable[[Event], Any],
        *,
        tenant: Optional[str] = None,
        token: Optional[str] = None,
        now: Optional[float] = None,
    ) -> List[Event]:
        """:meth:`receive`, then ``handler(event)`` for each new event; if the
        handler raises, every event of the request is released (un-marked)
        and the exception propagates (answer 500: the sender retries).

        ``body``, ``headers``, ``tenant``, ``token`` and ``now`` are those of
        :meth:`receive`; ``handler`` is called once per new event, in order.
        Returns the events handled. Raises what :meth:`receive` raises, and
        whatever ``handler`` raises.
        """
        events = self.receive(body, headers, tenant=tenant, token=token, now=now)
        try:
            for ev in events:
                handler(ev)
        except BaseException:
            self.release(events)
            raise
        return events


def error_body(error: ReceiveError) -> Dict[str, Any]:
    """The small JSON body the framework helpers answer with."""
    return {"error": error.code, "status": error.status, "message": str(error)}
