"""Sending webhooks from Python: the durable outbox, the engine and the HTTP
dispatcher in one object (hookline/worker.h, docs/sending.md).

    with hookline.Worker("outbox.db") as w:
        cfg = w.add_endpoint("acme", {"url": "https://hooks.acme.example/in"})
        print(cfg["secrets"][0]["secret"])      # shown once: give it to the receiver
        w.enqueue("email.outbound.delivered", {"message_id": "m1"})   # durable on return
        w.run(until_idle=True, timeout=30)      # deliver (signed, batched, retried)
        for a in w.attempts():
            print(a["batch_id"], a["status"], a["latency"])

One worker per outbox file (a lock file enforces it). Other processes (a web
app while ``hookline run`` owns the file) hand events over with
:func:`submit_events`; the worker picks them up at its next run_once.

Times are Unix seconds (floats) and durations seconds. Calls are serialised
by a lock per Worker; run_once, drain and the endpoint tests release the GIL
while they wait on the network. ``on_attempt(report: dict)`` is called after
every finished attempt (the report holds no secrets); an exception it raises
goes to sys.unraisablehook and loses nothing - the outcome is already in the
outbox. It must not call the same Worker (RuntimeError).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple,
                    Union)

from . import _hookline

__all__ = ["Worker", "TestResponse", "submit_events"]

DEFAULT_ROTATION_GRACE = 86400.0


@dataclass(frozen=True)
class TestResponse:
    """What a receiver answered to a signed webhook.test request."""

    __test__ = False  # not a pytest test class

    ok: bool
    status: int
    failure_class: str
    error_code: Optional[str]
    message: Optional[str]
    latency: float
    http_version: int
    timestamp: int
    msg_id: str
    content_type: Optional[str]
    retry_after: Optional[str]
    location: Optional[str]
    body_excerpt: bytes
    body_bytes: int
    # every header line of the final response, in order: ((name, value), ...)
    headers: Tuple[Tuple[str, str], ...] = ()
    headers_truncated: bool = False


def _ms(seconds: float, what: str) -> int:
    if seconds is None or seconds != seconds or seconds < 0:
        raise _hookline.InvalidArgument("%s must be a number of seconds >= 0" % what)
    return int(round(seconds * 1000.0))


def _config_text(config: Union[Mapping[str, Any], str, bytes]) -> str:
    if isinstance(config, Mapping):
        return json.dumps(config)
    if isinstance(config, bytes):
        return config.decode("utf-8")
    if isinstance(config, str):
        return config
    raise TypeError("config must be a dict or a JSON string")


def _event_tuple(type: str, data: Any = None, id: Optional[str] = None,
                 created_at: Optional[float] = None, ordering_key: Optional[str] = None):
    if not isinstance(type, str):
        raise TypeError("event type must be a str")
    if data is None or isinstance(data, (str, bytes)):
        text = data  # JSON text as given (None: null)
    else:
        text = json.dumps(data, separators=(",", ":"))
    created = 0 if created_at is None else _ms(created_at, "created_at")
    return (type, text, id, created, ordering_key)


_EVENT_FIELDS = frozenset({"type", "data", "id", "created_at", "ordering_key"})


def _events(events: Iterable[Mapping[str, Any]], targets: Optional[List[Optional[str]]] = None
            ) -> List[tuple]:
    """Event dicts -> tuples for the binding; with `targets`, an "endpoint"
    field is allowed too and collected there (None where absent)."""
    out = []
    allowed = _EVENT_FIELDS if targets is None else _EVENT_FIELDS | {"endpoint"}
    for e in events:
        if not isinstance(e, Mapping):
            raise TypeError("each event must be a dict with 'type' (and data, id, ...)")
        if targets is not None:
            to = e.get("endpoint")
            if to is not None and not isinstance(to, str):
                raise TypeError("an event's 'endpoint' must be a str")
            targets.append(to)
        unknown = set(e) - allowed
        if unknown:
            raise _hookline.InvalidArgument("unknown event field(s): %s" % ", ".join(sorted(unknown)))
        if "type" not in e:
            raise _hookline.InvalidArgument("event without a 'type'")
        out.append(_event_tuple(e["type"], e.get("data"), e.get("id"), e.get("created_at"),
                                e.get("ordering_key")))
    return out


def submit_events(path: str, events: Iterable[Mapping[str, Any]]) -> List[str]:
    """Hand events to the worker that owns the outbox at `path` (another
    process, e.g. ``hookline run``), durable when this returns; all or
    nothing. Returns the event ids.

    ``path`` is the outbox file; ``events`` an iterable of dicts {"type",
    "data", "id", "created_at", "ordering_key"} (only "type" required).
    Opens the file, appends, commits and closes; blocks on fsync.

    Raises :class:`EventError` ("event_invalid", "event_too_large") with
    ``.index`` (0-based position of the bad event) for an invalid event,
    :class:`StoreError` ("store_io", "store_busy", ...) when the outbox
    cannot be written.
    """
    return _hookline.outbox_submit(path, _events(events))


class Worker:
    """The sending worker over a SQLite outbox file (see the module doc).

    ``path``           the outbox file (created when missing); one Worker
                       per file (a lock file enforces it)
    ``allow_http``     endpoints may use http:// (tests, internal networks)
    ``allow_cidrs``    address ranges exempt from the SSRF check
    ``allow_ports``    the complete list of allowed ports (None: 443, and 80
                       with allow_http)
    ``ca_file``        CA bundle for TLS (None: the system's)
    ``seed``           jitter seed (0: random; fixed for reproducible tests)
    ``on_attempt``     ``callback(report: dict)`` after every finished attempt
    ``drain_timeout``  seconds the C run loop gives attempts in flight when
                       it stops (unfinished ones are retried later)

    Calls are serialised by a lock per Worker (safe to share between
    threads); network waits release the GIL. The Worker owns the outbox
    connection and libcurl handles: use ``with`` or :meth:`close`.

    Raises :class:`StoreError` ("store_io", "store_busy": another worker
    holds the file, "store_schema", ...), :class:`InvalidArgument` or
    :class:`ConfigError` for bad options.
    """

    def __init__(self, path: str, *, allow_http: bool = False, allow_cidrs: Sequence[str] = (),
                 allow_ports: Optional[Sequence[int]] = None, ca_file: Optional[str] = None,
                 seed: int = 0, on_attempt: Optional[Callable[[Dict[str, Any]], Any]] = None,
                 drain_timeout: float = 30.0) -> None:
        self.path = path
        self._w = _hookline.Worker(path, allow_http=allow_http, allow_cidrs=tuple(allow_cidrs),
                                   allow_ports=None if allow_ports is None else tuple(allow_ports),
                                   ca_file=ca_file, seed=seed, on_attempt=on_attempt,
                                   drain_timeout_ms=_ms(drain_timeout, "drain_timeout"))

    # -- life cycle
    def close(self) -> None:
        """Stop at once (attempts in flight are sent again after the next
        open; call drain() first for a clean stop). Idempotent; releases
        the outbox file. Raises nothing.
        """
        self._w.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._w.closed

    def __enter__(self) -> "Worker":
        """``with Worker(path) as w:`` closes the worker at the end."""
        return self

    def __exit__(self, *exc: Any) -> None:
        """Close the worker (see :meth:`close`)."""
        self.close()

    # -- endpoints
    def add_endpoint(self, id: str, config: Union[Mapping[str, Any], str], *,
                     test: bool = True) -> Dict[str, Any]:
        """Register an endpoint from its configuration document
        (docs/outbox.md): SSRF check, a generated secret when none is given,
        and (unless test=False) a signed webhook.test POST that must get a 2xx
        (else EndpointTestFailed, with ``.response``). Returns the stored
        configuration WITH its secrets: show them once.

        ``id`` names the endpoint; ``config`` is the configuration (a dict,
        JSON text, or just the URL); ``test`` sends the test request first.
        Blocks on the test request (the GIL is released).

        Raises :class:`ConfigError` ("config_unknown_field", "config_type",
        "config_range", "config_missing"), :class:`URLRejected` (the SSRF
        check), :class:`EndpointError` ("endpoint_exists"),
        :class:`EndpointTestFailed` ("endpoint_test_failed", with
        ``.response``), :class:`StoreError`.
        """
        if isinstance(config, str) and not config.lstrip().startswith("{"):
            config = {"url": config}
        stored, _ = self._w.add_endpoint(id, _config_text(config), not test)
        return json.loads(stored)

    def update_endpoint(self, id: str, config: Union[Mapping[str, Any], str], *,
                        test: bool = True) -> Dict[str, Any]:
        """Replace the configuration of endpoint ``id`` with ``config``
        (checked and, when ``test``, tested as by add_endpoint; no "secrets"
        keeps the current ones). Returns the stored configuration.

        Raises as :meth:`add_endpoint`, and :class:`EndpointError`
        ("endpoint_unknown") for an unknown ``id``.
        """
        if isinstance(config, str) and not config.lstrip().startswith("{"):
            config = {"url": config}
        stored, _ = self._w.update_endpoint(id, _config_text(config), not test)
        return json.loads(stored)

    def remove_endpoint(self, id: str) -> None:
        """Forget endpoint ``id``; its undelivered batches go to the
        dead-letter queue.

        Raises :class:`EndpointError` ("endpoint_unknown"), :class:`StoreError`.
        """
        self._w.remove_endpoint(id)

    def enable_endpoint(self, id: str) -> None:
        """Deliver to endpoint ``id`` again (after disable_endpoint, or after
        its circuit breaker disabled it). Durable on return.

        Raises :class:`EndpointError` ("endpoint_unknown"), :class:`StoreError`.
        """
        self._w.enable_endpoint(id)

    def disable_endpoint(self, id: str) -> None:
        """Stop delivering to endpoint ``id``; its events wait in the outbox
        (their deadlines keep running) until it is enabled.

        Raises :class:`EndpointError` ("endpoint_unknown"), :class:`StoreError`.
        """
        self._w.disable_endpoint(id)

    def endpoint(self, id: str, *, reveal: bool = False) -> Dict[str, Any]:
        """An endpoint's configuration (secrets "<redacted>" unless reveal)
        with its live state under "info" (breaker, in_flight, queued, ...).

        ``id`` names the endpoint; ``reveal`` includes the secrets. Returns a
        new dict. Raises :class:`EndpointError` ("endpoint_unknown").
        """
        text, info = self._w.endpoint(id, reveal)
        cfg = json.loads(text)
        cfg["id"] = id
        cfg["info"] = info
        return cfg

    def endpoints(self) -> List[Dict[str, Any]]:
        """Every endpoint, redacted, in the order added; "disabled" is the
        reason or None. Returns a new list of dicts.

        Raises :class:`StoreError` when the outbox cannot be read.
        """
        out = []
        for id, text, disabled in self._w.endpoints():
            cfg = json.loads(text)
            cfg["id"] = id
            cfg["disabled"] = disabled or None
            out.append(cfg)
        return out

    def test_endpoint(self, id: str, *, stale: bool = False) -> TestResponse:
        """Send a signed webhook.test now (nothing stored). stale=True signs
        with a 10-minute-old timestamp: a receiver answering 2xx to it does
        not check timestamps.

        ``id`` names the endpoint. Blocks until the answer (GIL released).
        Returns a :class:`TestResponse` whatever the answer was. Raises
        :class:`EndpointError` ("endpoint_unknown") only.
        """
        return TestResponse(**self._w.test_endpoint(id, stale))

    def rotate_secret(self, id: str, new_secret: Optional[str] = None, *,
                      grace: float = DEFAULT_ROTATION_GRACE) -> str:
        """Make `new_secret` (None: a generated one) the endpoint's secret; the
        old ones keep signing for `grace` seconds. Returns the new secret.

        ``id`` names the endpoint. Raises :class:`EndpointError`
        ("endpoint_unknown"), :class:`InvalidSecret` ("secret_malformed"),
        :class:`StoreError`.
        """
        return self._w.rotate_secret(id, new_secret, _ms(grace, "grace"))

    # -- events
    def enqueue(self, type: str, data: Any = None, *, id: Optional[str] = None,
                created_at: Optional[float] = None, ordering_key: Optional[str] = None) -> str:
        """Enqueue one event (data: a JSON-able value, or JSON text); durable
        on return. Returns the event id.

        ``type`` is the event type (routed by the endpoints' filters); ``id``
        defaults to a generated one; ``created_at`` is Unix seconds (default
        now); events sharing an ``ordering_key`` are delivered in order.

        Raises :class:`EventError` ("event_invalid", "event_too_large"),
        :class:`StoreError` ("store_io", "store_full", ...),
        ``TypeError`` for data that is not JSON-able.
        """
        event_id, _routed = self._w.enqueue(*_event_tuple(type, data, id, created_at,
                                                          ordering_key))
        return event_id

    def enqueue_many(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Enqueue dicts {"type", "data", "id", "created_at", "ordering_key"}
        in ONE transaction. Stops at the first bad event: those before it are
        kept (the exception's ``.enqueued`` says how many).

        An event may also name an ``"endpoint"``: it then goes to that
        endpoint only, whatever the endpoints' event filters and active flags
        say - routing policy of the host's own (tenancy). To send one event
        to several endpoints, list it once per endpoint with the same ``"id"``.

        ``events`` is an iterable of those dicts. Returns how many were
        enqueued. Raises :class:`EventError` or :class:`StoreError` as
        :meth:`enqueue`, with ``.enqueued``; :class:`EndpointError` for an
        unknown endpoint.
        """
        targets: List[Optional[str]] = []
        tuples = _events(events, targets)
        if any(t is not None for t in targets):
            return self._w.enqueue_to(tuples, targets)
        return self._w.enqueue_many(tuples)

    # -- delivery
    def run_once(self, max_wait: float = 0.2) -> Dict[str, Any]:
        """One step: ingest submitted events, start due attempts, wait up to
        max_wait seconds for the network, record outcomes. Returns progress:
        started, finished, succeeded, failed, blocked, in_flight, idle
        (nothing in flight, nothing timed), wake_at.

        Releases the GIL while waiting. Raises :class:`StoreError`
        ("store_io", ...), :class:`InvalidArgument` (a closed worker), and
        ``RuntimeError`` when called from the worker's own on_attempt.
        """
        return self._w.run_once(_ms(max_wait, "max_wait"))

    def run(self, stop: Union[threading.Event, Callable[[], bool], None] = None, *,
            until_idle: bool = False, timeout: Optional[float] = None,
            max_wait: float = 0.2) -> Dict[str, Any]:
        """Deliver until `stop` is set (an Event, or a callable returning
        True), until nothing is left to do (until_idle) or `timeout` seconds
        have passed. Attempts in flight then get up to the drain timeout to
        finish (the worker stays usable). Returns the totals and whether it
        ended "idle". ``max_wait`` bounds each step (see :meth:`run_once`).

        Raises what :meth:`run_once` raises, and ``TypeError`` for a
        ``stop`` that is neither an Event nor a callable.
        """
        if stop is None:
            should_stop = lambda: False  # noqa: E731
        elif isinstance(stop, threading.Event):
            should_stop = stop.is_set
        elif callable(stop):
            should_stop = stop
        else:
            raise TypeError("stop must be a threading.Event, a callable or None")
        end = None if timeout is None else time.monotonic() + timeout
        totals = {"started": 0, "finished": 0, "succeeded": 0, "failed": 0, "blocked": 0}
        p: Dict[str, Any] = {"in_flight": 0, "idle": False}
        while True:
            if should_stop() or (end is not None and time.monotonic() >= end):
                break
            wait = max_wait if end is None else max(0.0, min(max_wait, end - time.monotonic()))
            p = self.run_once(wait)
            for k in totals:
                totals[k] += p[k]
            if until_idle and p["idle"]:
                break
        # let what is in flight finish, without making the worker unusable
        if p["in_flight"]:
            limit = time.monotonic() + 30.0
            while p["in_flight"] and time.monotonic() < limit:
                p = self.run_once(0.05)
                for k in totals:
                    totals[k] += p[k]
        totals["idle"] = bool(p["idle"])
        totals["in_flight"] = p["in_flight"]
        return totals

    def drain(self, timeout: float = 30.0) -> None:
        """The clean final stop: wait up to `timeout` s for attempts in
        flight, record their outcomes; no delivery afterwards.

        Releases the GIL while waiting. Raises :class:`StoreError`,
        :class:`InvalidArgument` (a closed worker).
        """
        self._w.drain(_ms(timeout, "timeout"))

    # -- status, attempt log, dead letters
    def batch(self, batch_id: str) -> Dict[str, Any]:
        """The status of batch ``batch_id`` (kept 24 h after delivery): a
        dict with batch_id, endpoint, state, events, attempts, deadline, ...

        Raises :class:`BatchError` ("batch_unknown"), :class:`StoreError`.
        """
        return self._w.batch(batch_id)

    def attempts(self, *, endpoint: Optional[str] = None, batch: Optional[str] = None,
                 since: Optional[float] = None, limit: int = 100,
                 newest_first: bool = False) -> List[Dict[str, Any]]:
        """The attempt log, oldest first: batch_id, endpoint, attempt, at,
        status, failure_class, delivered, latency (s), excerpt (bytes).

        Filters: ``endpoint``, ``batch`` (a batch id), ``since`` (Unix
        seconds); at most ``limit`` records. ``newest_first`` reverses the
        order, so ``limit`` keeps the latest records. Returns a new list of
        dicts. Raises :class:`StoreError`.
        """
        since_ms = 0 if since is None else _ms(since, "since")
        return self._w.attempts(endpoint, batch, since_ms, limit, bool(newest_first))

    def dead_letters(self, *, endpoint: Optional[str] = None, limit: int = 0) -> List[Dict[str, Any]]:
        """Dead-lettered batches in the order they died, of ``endpoint`` only
        when given (``limit`` 0: all). Returns a list of batch dicts (as
        :meth:`batch`). Raises :class:`StoreError`.
        """
        return self._w.dead_letters(endpoint, limit)

    def redrive(self, batch_id: Optional[str] = None) -> int:
        """Send the dead letter ``batch_id`` again (None: all of them) with a
        fresh deadline. Returns how many.

        Raises :class:`BatchError` ("batch_unknown", "batch_state"),
        :class:`StoreError`.
        """
        return self._w.redrive(batch_id)

    def purge(self, batch_id: Optional[str] = None) -> None:
        """Forget the dead letter ``batch_id`` (None: all of them) for good.

        Raises :class:`BatchError` ("batch_unknown", "batch_state"),
        :class:`StoreError`.
        """
        self._w.purge(batch_id)

    def status(self) -> Dict[str, Any]:
        """Counts: batches by state, open events, attempts kept, endpoints,
        inbox (submitted, not yet ingested), inbox_rejected. A new dict.

        Raises :class:`StoreError`.
        """
        return self._w.counts()

    def metrics(self) -> Dict[str, Any]:
        """The Prometheus metrics as a dict: name -> value; labelled samples
        as name -> {label value: value} (attempts by result, batches by
        state, latency buckets by upper bound). Attempts count those this
        Worker object made (not registration tests). A new dict.

        Raises nothing (counters are in memory).
        """
        return self._w.metrics()
