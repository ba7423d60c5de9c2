"""The delivery engine from Python: events in, "send batch B to endpoint E" out.

    engine = hookline.Engine(seed=42)
    engine.add_endpoint("ep1", "https://example.test/hook", events=["email.outbound.*"])
    engine.enqueue("email.outbound.delivered", {"message_id": "m1"})
    while True:
        action = engine.next_action()
        if isinstance(action, hookline.Send):
            status = post(action.url, action.body, action.batch_id)   # your I/O
            engine.report_outcome(action.batch_id, status=status)
        elif isinstance(action, hookline.Wait):
            sleep_until(action.at)        # or until the next enqueue / response
        else:
            break                         # Idle: nothing timed

A thin layer over the C engine (hookline/engine.h, docs/engine.md). The
engine is sans-IO: it never reads the clock. This layer does when `now` is
omitted (time.time()); times are Unix seconds as floats here, rounded to the
engine's milliseconds, and durations are seconds. Pass `now` explicitly for
reproducible runs (with a non-zero `seed`, the same calls give the same
batch ids, jitter and bytes as the same calls from C or Lua).

Policy callbacks, all optional:

    route(event: OutgoingEvent, endpoint_id: str, filter_match: bool) -> bool
    transform(endpoint_id: str, event_json: str) -> str | bytes | None
    decide(input: RetryInput) -> Decision | str | None     (None: the default)

An exception raised in a callback is not lost: the call raises
:class:`hookline.CallbackError` with the callback's exception as
``__cause__``, and no batch is lost (an enqueue enqueues nothing; a
report_outcome has applied the default policy). The one exception is a
decide run by next_action for an expired in-flight lease: the action must
not be lost, so that error goes to sys.unraisablehook. Callbacks may call the
engine's read-only methods (batch, stats, attempts, endpoint_info, endpoints,
dead_letters); a changing call from a callback raises EngineReentered.
The engine is safe to share between threads (calls are serialised).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _hookline

__all__ = [
    "Engine",
    "Send",
    "Wait",
    "Idle",
    "EnqueueResult",
    "OutgoingEvent",
    "RetryInput",
    "Decision",
    "BatchInfo",
    "EndpointInfo",
    "AttemptRecord",
    "EngineStats",
    "event_types",
    "event_filter_match",
    "DEFAULT_SCHEDULE",
]

#: Delay after the n-th failed attempt, seconds; the last repeats.
DEFAULT_SCHEDULE: Tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0)

# hl_failure, by value; None is "an HTTP response came back".
_FAILURES: Tuple[Optional[str], ...] = (None, "dns", "connect", "tls", "timeout", "reset", "blocked")
_DECISIONS = ("delivered", "retry", "give_up")


def _ms(seconds: float, what: str) -> int:
    """Seconds (int or float) to whole milliseconds, rounded to nearest: a
    time read back from the engine (ms / 1000) converts back exactly."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds, not %s" % (what, type(seconds).__name__))
    if not math.isfinite(seconds) or seconds < 0:
        raise _hookline.InvalidArgument("%s must be a finite number of seconds >= 0" % what)
    if isinstance(seconds, int):
        return seconds * 1000
    return int(round(seconds * 1000))


def _now_ms(now: Optional[float]) -> int:
    if now is None:
        return time.time_ns() // 1_000_000
    return _ms(now, "now")


def _s(ms: int) -> float:
    return ms / 1000.0


def _opt_s(ms: int) -> Optional[float]:
    return ms / 1000.0 if ms else None


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Send:
    """Send `body` (a JSON array, or one object for unbatched endpoints) to
    `url` with the batch id as x-webhook-batch-id (and
    X-MessageSystems-Batch-ID when `sparkpost_compat`), then report the
    outcome. The same batch id and body come back on every retry."""

    batch_id: str
    endpoint_id: str
    url: str
    body: bytes
    n_events: int
    attempt: int
    deadline: float
    sparkpost_compat: bool
    due: float


@dataclass(frozen=True)
class Wait:
    """Nothing to send now; call next_action again at `at` (or on the next
    enqueue or reported outcome)."""

    at: float


@dataclass(frozen=True)
class Idle:
    """Nothing to send and no timer: wait for an enqueue or an outcome."""


@dataclass(frozen=True)
class EnqueueResult:
    id: str
    routed: int


@dataclass(frozen=True)
class OutgoingEvent:
    """The event a route callback is asked about. `data_json` is the data
    as given (JSON text); `data` parses it."""

    id: str
    type: str
    created_at: float
    data_json: Optional[str]
    ordering_key: Optional[str]

    @property
    def data(self) -> Any:
        """The event data parsed from `data_json` (None when there is none)."""
        return None if self.data_json is None else json.loads(self.data_json)


@dataclass(frozen=True)
class Decision:
    """A retry decision: Decision("delivered"), Decision("retry", at),
    Decision("give_up"). The hard deadline still bounds a retry."""

    kind: str
    retry_at: Optional[float] = None

    def __post_init__(self) -> None:
        if self.kind not in _DECISIONS:
            raise ValueError("decision kind must be one of %s" % ", ".join(_DECISIONS))
        if self.kind == "retry" and self.retry_at is None:
            raise ValueError("a retry decision needs retry_at")

    @classmethod
    def delivered(cls) -> "Decision":
        """Treat the attempt as delivered. Raises nothing."""
        return cls("delivered")

    @classmethod
    def retry(cls, at: float) -> "Decision":
        """Retry at `at` (Unix seconds; bounded by the batch's deadline).
        Raises nothing."""
        return cls("retry", at)

    @classmethod
    def give_up(cls) -> "Decision":
        """Dead-letter the batch now. Raises nothing."""
        return cls("give_up")


@dataclass(frozen=True)
class RetryInput:
    """What the decide callback is told about one finished attempt."""

    batch_id: str
    endpoint_id: str
    attempt: int
    status: int
    failure: Optional[str]
    retry_after: Optional[str]
    latency: float
    body: bytes
    now: float
    first_enqueue: float
    deadline: float
    default: Decision


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    endpoint_id: str
    state: str
    ordering_key: Optional[str]
    body: bytes
    n_events: int
    created: float
    deadline: float
    close_at: Optional[float]
    next_attempt: Optional[float]
    attempts: int
    total_attempts: int
    redrives: int
    last_status: int
    last_failure: Optional[str]
    dead_reason: Optional[str]
    settled: Optional[float]


@dataclass(frozen=True)
class EndpointInfo:
    endpoint_id: str
    url: str
    disabled: str
    breaker: str
    breaker_trips: int
    in_flight: int
    queued: int
    pending_batches: int
    effective_rate: float
    failing_since: Optional[float]


@dataclass(frozen=True)
class AttemptRecord:
    batch_id: str
    endpoint_id: str
    attempt: int
    at: float
    sent: float
    status: int
    failure: str  # "http" when a response came back
    delivered: bool
    latency: float
    excerpt: bytes


@dataclass(frozen=True)
class EngineStats:
    batches: Dict[str, int]
    endpoints: int
    pending_events: int
    pending_body_bytes: int
    events_enqueued: int
    batches_delivered: int
    batches_dead_lettered: int
    attempts: int
    attempt_records: int


def _batch(d: Dict[str, Any]) -> BatchInfo:
    return BatchInfo(
        batch_id=d["batch_id"],
        endpoint_id=d["endpoint_id"],
        state=d["state"],
        ordering_key=d["ordering_key"],
        body=d["body"],
        n_events=d["n_events"],
        created=_s(d["created_ms"]),
        deadline=_s(d["deadline_ms"]),
        close_at=_opt_s(d["close_at_ms"]),
        next_attempt=_opt_s(d["next_attempt_ms"]),
        attempts=d["attempts"],
        total_attempts=d["total_attempts"],
        redrives=d["redrives"],
        last_status=d["last_status"],
        last_failure=_FAILURES[d["last_failure"]],
        dead_reason=d["dead_reason"],
        settled=_opt_s(d["settled_ms"]),
    )


# ---------------------------------------------------------------- callbacks


def _wrap_route(fn: Callable[[OutgoingEvent, str, bool], Any]) -> Callable[..., Any]:
    def route(raw: tuple, endpoint_id: str, filter_match: bool) -> bool:
        id_, type_, created_ms, data, key = raw
        event = OutgoingEvent(
            id_, type_, _s(created_ms), None if data is None else data.decode("utf-8", "replace"), key
        )
        return bool(fn(event, endpoint_id, filter_match))

    return route


def _decision_of(kind: int, at_ms: int) -> Decision:
    name = _DECISIONS[kind]
    return Decision(name, _s(at_ms) if name == "retry" else None)


def _wrap_decide(fn: Callable[[RetryInput], Any]) -> Callable[..., Any]:
    def decide(raw: Dict[str, Any]) -> Optional[Tuple[int, int]]:
        ra = raw["retry_after"]
        inp = RetryInput(
            batch_id=raw["batch_id"],
            endpoint_id=raw["endpoint_id"],
            attempt=raw["attempt"],
            status=raw["status"],
            failure=_FAILURES[raw["failure"]],
            retry_after=None if ra is None else ra.decode("latin-1"),
            latency=_s(raw["latency_ms"]),
            body=raw["body"],
            now=_s(raw["now_ms"]),
            first_enqueue=_s(raw["first_enqueue_ms"]),
            deadline=_s(raw["deadline_ms"]),
            default=_decision_of(raw["default_kind"], raw["default_retry_at_ms"]),
        )
        d = fn(inp)
        if d is None:
            return None
        if isinstance(d, str):
            d = Decision(d)
        if not isinstance(d, Decision):
            raise TypeError("decide must return a Decision, a kind name or None, not %s"
                            % type(d).__name__)
        at = _ms(d.retry_at, "retry_at") if d.kind == "retry" and d.retry_at is not None else 0
        return (_DECISIONS.index(d.kind), at)

    return decide


# ------------------------------------------------------------------- engine

_Data = Union[None, bytes, bytearray, memoryview, str, Any]

def _endpoint_fields(url: str, events: Iterable[str], o: Dict[str, Any]) -> Dict[str, Any]:
    """Python keyword options (seconds, ratios) to the C struct's fields."""
    if not isinstance(url, str):
        raise TypeError("url must be a str")
    if isinstance(events, str):
        events = [events]
    c: Dict[str, Any] = {"url": url, "filters": list(events)}
    for name in ("active", "unbatched", "sparkpost_compat"):
        c[name] = bool(o[name])
    for name in ("max_events", "max_bytes", "max_attempts", "concurrency",
                 "breaker_min_attempts", "breaker_max_trips", "blocked_disable_after"):
        c[name] = o[name]
    for name in ("rate", "burst", "throttle_start_rate", "throttle_min_rate"):
        v = o[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise _hookline.InvalidArgument("%s must be a finite number >= 0" % name)
        c["rate_per_s" if name == "rate" else name] = float(v)
    for name in ("linger", "deadline", "throttle_recover", "breaker_window", "breaker_half_open",
                 "breaker_disable_after"):
        c[name + "_ms"] = _ms(o[name], name)
    schedule = o["schedule"]
    if isinstance(schedule, (int, float)):
        schedule = (schedule,)
    c["schedule_ms"] = [_ms(s, "schedule") for s in schedule]
    for name, field_ in (("jitter", "jitter_pct"), ("breaker_failure_ratio", "breaker_failure_pct")):
        v = o[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise _hookline.InvalidArgument("%s must be a ratio between 0 and 1" % name)
        c[field_] = int(round(v * 100))
    if o["ordering"] not in ("none", "key"):
        raise _hookline.InvalidArgument('ordering must be "none" or "key"')
    c["ordering"] = o["ordering"]
    return c


_ENDPOINT_DEFAULTS: Dict[str, Any] = {
    "events": (),
    "active": True,
    "max_events": 100,
    "max_bytes": 1024 * 1024,
    "linger": 1.0,
    "unbatched": False,
    "sparkpost_compat": False,
    "schedule": DEFAULT_SCHEDULE,
    "jitter": 0.2,
    "deadline": 8 * 3600.0,
    "max_attempts": 0,
    "concurrency": 10,
    "rate": 0.0,
    "burst": 0.0,
    "throttle_start_rate": 10.0,
    "throttle_min_rate": 0.1,
    "throttle_recover": 60.0,
    "breaker_window": 300.0,
    "breaker_min_attempts": 10,
    "breaker_failure_ratio": 0.7,
    "breaker_half_open": 30.0,
    "breaker_disable_after": 24 * 3600.0,
    "breaker_max_trips": 0,
    "blocked_disable_after": 3,
    "ordering": "none",
}


def _data_bytes(data: _Data) -> Optional[bytes]:
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _check_int(name: str, value: int, limit: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if not 0 <= value < limit:
        raise _hookline.InvalidArgument("%s must be between 0 and %d" % (name, limit - 1))


class Engine:
    """The sans-IO delivery engine (see the module docstring).

    ``seed``                 jitter seed (0: random; fixed: reproducible)
    ``max_in_flight``        batches handed out at once (0: no limit)
    ``attempt_retention``    seconds attempt records are kept
    ``max_attempt_records``  most attempt records kept (0: no count limit)
    ``in_flight_lease``      seconds after which a batch handed out and never
                             reported counts as failed (0: never)
    ``route``, ``transform``, ``decide``  the policy callbacks (module doc)

    The engine owns its C state (freed with the object); calls are
    serialised, so it may be shared by threads.

    Raises ``TypeError`` (a callback that is not callable),
    :class:`InvalidArgument` ("invalid_argument") for out-of-range numbers.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        max_in_flight: int = 0,
        attempt_retention: float = 86400.0,
        max_attempt_records: int = 0,
        in_flight_lease: float = 0.0,
        route: Optional[Callable[[OutgoingEvent, str, bool], Any]] = None,
        transform: Optional[Callable[[str, str], Any]] = None,
        decide: Optional[Callable[[RetryInput], Any]] = None,
    ) -> None:
        for name, fn in (("route", route), ("transform", transform), ("decide", decide)):
            if fn is not None and not callable(fn):
                raise TypeError("%s must be callable" % name)
        _check_int("seed", seed, 2**64)
        _check_int("max_in_flight", max_in_flight, 2**32)
        _check_int("max_attempt_records", max_attempt_records, 2**63)
        self._options: Dict[str, Dict[str, Any]] = {}
        self._engine = _hookline.Engine(
            seed=seed,
            max_in_flight=max_in_flight,
            attempt_retention_ms=_ms(attempt_retention, "attempt_retention"),
            max_attempt_records=max_attempt_records,
            in_flight_lease_ms=_ms(in_flight_lease, "in_flight_lease"),
            route=None if route is None else _wrap_route(route),
            transform=transform,
            decide=None if decide is None else _wrap_decide(decide),
        )

    # ------------------------------------------------------------ endpoints

    def add_endpoint(
        self,
        id: str,
        url: str,
        *,
        events: Iterable[str] = (),
        active: bool = True,
        max_events: int = 100,
        max_bytes: int = 1024 * 1024,
        linger: float = 1.0,
        unbatched: bool = False,
        sparkpost_compat: bool = False,
        schedule: Iterable[float] = DEFAULT_SCHEDULE,
        jitter: float = 0.2,
        deadline: float = 8 * 3600.0,
        max_attempts: int = 0,
        concurrency: int = 10,
        rate: float = 0.0,
        burst: float = 0.0,
        throttle_start_rate: float = 10.0,
        throttle_min_rate: float = 0.1,
        throttle_recover: float = 60.0,
        breaker_window: float = 300.0,
        breaker_min_attempts: int = 10,
        breaker_failure_ratio: float = 0.7,
        breaker_half_open: float = 30.0,
        breaker_disable_after: float = 24 * 3600.0,
        breaker_max_trips: int = 0,
        blocked_disable_after: int = 3,
        ordering: str = "none",
        now: Optional[float] = None,
    ) -> None:
        """Register endpoint `id`. `events`: exact types and "prefix.*"
        wildcards (empty: every event). Durations are seconds; `jitter` and
        `breaker_failure_ratio` are ratios (0.2 = +-20 %); `rate` is sends
        per second (0 = unlimited); `ordering="key"` delivers one ordering
        key's batches in order. `now` is Unix seconds (default the clock).

        `url` is where batches are POSTed (checked by the caller's driver,
        not here). Batching: `max_events`, `max_bytes`, `linger` (seconds an
        open batch waits), `unbatched` (one event per request),
        `sparkpost_compat` (SparkPost's batch shape). Retries: `schedule`
        (delays in seconds), `jitter`, `deadline` (seconds from the first
        enqueue, after which the batch is dead-lettered), `max_attempts`
        (0: until the deadline). Flow: `active`, `concurrency` (requests in
        flight), `rate` and `burst` (token bucket), `throttle_start_rate`,
        `throttle_min_rate`, `throttle_recover` (the 429 throttle). Circuit
        breaker: `breaker_window`, `breaker_min_attempts`,
        `breaker_failure_ratio`, `breaker_half_open`, `breaker_disable_after`,
        `breaker_max_trips`; `blocked_disable_after` (SSRF-blocked attempts
        before disabling). docs/engine.md explains each.

        Raises :class:`EndpointError` ("endpoint_exists"),
        :class:`InvalidArgument` ("invalid_argument"),
        :class:`EngineReentered` from a callback.
        """
        opts = dict(locals())
        for k in ("self", "id", "url", "now"):
            del opts[k]
        self._engine.add_endpoint(id, _endpoint_fields(url, opts["events"], opts), _now_ms(now))
        opts["url"] = url
        self._options[id] = opts

    def update_endpoint(self, id: str, *, now: Optional[float] = None, **changes: Any) -> None:
        """Change some of an endpoint's options (the keywords of
        add_endpoint, url included); the others keep their current values.
        Pending batches keep their bytes and deadlines. `id` names the
        endpoint; `changes` are the keywords; `now` is Unix seconds.

        Raises :class:`EndpointError` ("endpoint_unknown"),
        :class:`InvalidArgument`, ``TypeError`` for an unknown keyword.
        """
        if id not in self._options:
            # Unknown here: let the engine say so with its own error.
            base = dict(_ENDPOINT_DEFAULTS, url=changes.get("url", ""))
        else:
            base = dict(self._options[id])
        unknown = set(changes) - set(base) - {"url"}
        if unknown:
            raise TypeError("unknown endpoint option(s): %s" % ", ".join(sorted(unknown)))
        base.update(changes)
        url = base.pop("url")
        self._engine.update_endpoint(id, _endpoint_fields(url, base["events"], base), _now_ms(now))
        base["url"] = url
        self._options[id] = base

    def remove_endpoint(self, id: str, *, now: Optional[float] = None) -> None:
        """Forget endpoint `id` at `now`; its undelivered batches are
        dead-lettered ("endpoint_removed").

        Raises :class:`EndpointError` ("endpoint_unknown").
        """
        self._engine.remove_endpoint(id, _now_ms(now))
        self._options.pop(id, None)

    def enable_endpoint(self, id: str, *, now: Optional[float] = None) -> None:
        """Clear endpoint `id`'s disabled reason (user, gone, failing,
        blocked) at `now`. Raises :class:`EndpointError` ("endpoint_unknown").
        """
        self._engine.enable_endpoint(id, _now_ms(now))

    def disable_endpoint(self, id: str, *, now: Optional[float] = None) -> None:
        """Disable endpoint `id` by hand at `now`; its batches wait
        (dead-lettered at their deadline). Raises :class:`EndpointError`
        ("endpoint_unknown").
        """
        self._engine.disable_endpoint(id, _now_ms(now))

    def set_endpoint_disabled(self, id: str, reason: str, *, now: Optional[float] = None) -> None:
        """Restore endpoint `id`'s persisted disabled `reason` ("none"
        enables; "user", "gone", "failing", "blocked") at `now`.

        Raises :class:`EndpointError` ("endpoint_unknown"),
        :class:`InvalidArgument` (another reason).
        """
        self._engine.set_endpoint_disabled(id, reason, _now_ms(now))

    def endpoint_info(self, id: str) -> EndpointInfo:
        """The live state of endpoint `id` (disabled reason, breaker state,
        queue sizes, effective rate) as an :class:`EndpointInfo`.

        Raises :class:`EndpointError` ("endpoint_unknown").
        """
        d = self._engine.endpoint_info(id)
        d["failing_since"] = _opt_s(d.pop("failing_since_ms"))
        return EndpointInfo(**d)

    def endpoints(self) -> List[str]:
        """Endpoint ids, in the order they were added (a new list). Raises
        nothing."""
        return self._engine.endpoints()

    # --------------------------------------------------------------- events

    def enqueue(
        self,
        type: str,
        data: _Data = None,
        *,
        id: Optional[str] = None,
        created_at: Optional[float] = None,
        ordering_key: Optional[str] = None,
        now: Optional[float] = None,
    ) -> EnqueueResult:
        """Route an event to every subscribed endpoint. `data` is any
        JSON-serialisable object, or JSON text already serialised (bytes or
        str - to send a JSON string value, pass json.dumps(text)). All or
        nothing: raises EventError (event_invalid, event_too_large),
        CallbackError, and then nothing was enqueued.

        `type` is the event type; `id` defaults to a generated one;
        `created_at` is Unix seconds (default `now`); events sharing an
        `ordering_key` keep their order on "ordering=key" endpoints; `now`
        is Unix seconds (default the clock). Returns an
        :class:`EnqueueResult` (event id, how many endpoints it went to).

        Raises :class:`EventError` ("event_invalid", "event_too_large"),
        :class:`CallbackError` ("callback"), :class:`EngineReentered`.
        """
        eid, routed = self._engine.enqueue(
            type,
            _data_bytes(data),
            id,
            0 if created_at is None else _ms(created_at, "created_at"),
            ordering_key,
            _now_ms(now),
        )
        return EnqueueResult(eid, routed)

    def enqueue_to(
        self,
        endpoint_id: str,
        type: str,
        data: _Data = None,
        *,
        id: Optional[str] = None,
        created_at: Optional[float] = None,
        ordering_key: Optional[str] = None,
        now: Optional[float] = None,
    ) -> EnqueueResult:
        """Enqueue to one endpoint, bypassing filters and the route callback
        (webhook.test, replays). The endpoint may be disabled.

        `endpoint_id` names it; `type`, `data`, `id`, `created_at`,
        `ordering_key` and `now` are those of :meth:`enqueue`.

        Raises :class:`EndpointError` ("endpoint_unknown"), and what
        :meth:`enqueue` raises.
        """
        eid, routed = self._engine.enqueue(
            type,
            _data_bytes(data),
            id,
            0 if created_at is None else _ms(created_at, "created_at"),
            ordering_key,
            _now_ms(now),
            endpoint_id,
        )
        return EnqueueResult(eid, routed)

    def flush(self, now: Optional[float] = None) -> None:
        """Close every open batch at `now` instead of waiting for linger.
        Raises :class:`EngineReentered` from a callback."""
        self._engine.flush(_now_ms(now))

    # ------------------------------------------------------------- delivery

    def next_action(self, now: Optional[float] = None) -> Union[Send, Wait, Idle]:
        """Fire due timers and pick the next batch to send (round-robin
        across endpoints). Call it until it returns something else than Send.

        `now` is Unix seconds (default the clock). Returns :class:`Send`,
        :class:`Wait` or :class:`Idle`. A Send's batch is in flight until
        :meth:`report_outcome`.

        Raises :class:`EngineReentered` from a callback,
        :class:`EngineFailed` ("engine_failed") after an internal failure.
        """
        a = self._engine.next_action(_now_ms(now))
        kind = a["kind"]
        if kind == "send":
            return Send(
                batch_id=a["batch_id"],
                endpoint_id=a["endpoint_id"],
                url=a["url"],
                body=a["body"],
                n_events=a["n_events"],
                attempt=a["attempt"],
                deadline=_s(a["deadline_ms"]),
                sparkpost_compat=a["sparkpost_compat"],
                due=_s(a["due_ms"]),
            )
        if kind == "wait":
            return Wait(_s(a["at_ms"]))
        return Idle()

    def report_outcome(
        self,
        batch_id: str,
        *,
        status: int = 0,
        failure: Optional[str] = None,
        retry_after: Union[None, str, bytes, int, float] = None,
        latency: float = 0.0,
        body: Union[bytes, bytearray, memoryview] = b"",
        now: Optional[float] = None,
    ) -> None:
        """Tell the engine how the attempt of an in-flight batch ended:
        `status` (HTTP status, 0 when none), `failure` (None, "dns",
        "connect", "tls", "timeout", "reset", "blocked"), `retry_after` (the
        raw header value, or seconds), `latency` seconds, `body` (an excerpt
        is kept in the attempt log), `now` Unix seconds. `batch_id` is the
        Send's.

        Raises :class:`BatchError` ("batch_unknown", "batch_state");
        :class:`CallbackError` when decide failed (the default policy was
        applied); :class:`InvalidArgument` for an unknown failure.
        """
        _check_int("status", status, 1000)
        if failure not in _FAILURES:
            raise _hookline.InvalidArgument(
                "failure must be None or one of %s" % ", ".join(f for f in _FAILURES if f)
            )
        if isinstance(retry_after, bool):
            raise TypeError("retry_after must be a header value or seconds")
        if isinstance(retry_after, (int, float)):
            ra: Optional[bytes] = str(int(retry_after)).encode()
        elif isinstance(retry_after, str):
            ra = retry_after.encode("latin-1", "replace")
        else:
            ra = retry_after
        self._engine.report_outcome(
            batch_id,
            status,
            _FAILURES.index(failure),
            ra,
            _ms(latency, "latency"),
            body,
            _now_ms(now),
        )

    # ------------------------------------------------------- inspection, DLQ

    def batch(self, batch_id: str) -> BatchInfo:
        """Batch `batch_id`, which the engine still knows (delivered ones
        are forgotten), as a :class:`BatchInfo`.

        Raises :class:`BatchError` ("batch_unknown").
        """
        return _batch(self._engine.batch(batch_id))

    def stats(self) -> EngineStats:
        """Counters (batches, endpoints, pending events and bytes, events
        enqueued, batches delivered and dead-lettered, attempts) as an
        :class:`EngineStats`. Raises nothing."""
        return EngineStats(**self._engine.stats())

    def attempts(self) -> List[AttemptRecord]:
        """The attempt log, oldest first (pruned after attempt_retention): a
        new list of :class:`AttemptRecord`. Raises nothing."""
        out = []
        for r in self._engine.attempts():
            out.append(
                AttemptRecord(
                    batch_id=r["batch_id"],
                    endpoint_id=r["endpoint_id"],
                    attempt=r["attempt"],
                    at=_s(r["at_ms"]),
                    sent=_s(r["sent_ms"]),
                    status=r["status"],
                    failure=_FAILURES[r["failure"]] or "http",
                    delivered=r["delivered"],
                    latency=_s(r["latency_ms"]),
                    excerpt=r["excerpt"],
                )
            )
        return out

    def dead_letters(self) -> List[str]:
        """Dead-lettered batch ids, in the order they died (a new list).
        Raises nothing."""
        return self._engine.dead_letters()

    def redrive(self, batch_id: str, now: Optional[float] = None) -> None:
        """Dead letter `batch_id` back to queued at `now`: same id and body,
        fresh attempt budget, new deadline.

        Raises :class:`BatchError` ("batch_unknown", "batch_state": not
        dead-lettered), :class:`EndpointError` (its endpoint was removed).
        """
        self._engine.redrive(batch_id, _now_ms(now))

    def purge(self, batch_id: Optional[str] = None) -> None:
        """Forget dead-lettered batch `batch_id`, or all of them (None).

        Raises :class:`BatchError` ("batch_unknown", "batch_state").
        """
        self._engine.purge(batch_id)

    def restore_batch(self, batch: BatchInfo, now: Optional[float] = None) -> None:
        """Re-insert a batch read back from a store (as batch() returned it)
        after its endpoint was added: same id, body, deadline, attempts.
        `now` is Unix seconds.

        Raises :class:`BatchError` ("batch_exists"), :class:`EndpointError`
        ("endpoint_unknown"), :class:`InvalidArgument`.
        """
        d = {
            "batch_id": batch.batch_id,
            "endpoint_id": batch.endpoint_id,
            "state": batch.state,
            "ordering_key": batch.ordering_key,
            "body": bytes(batch.body),
            "n_events": batch.n_events,
            "created_ms": _ms(batch.created, "created"),
            "deadline_ms": _ms(batch.deadline, "deadline"),
            "close_at_ms": 0 if batch.close_at is None else _ms(batch.close_at, "close_at"),
            "next_attempt_ms": 0
            if batch.next_attempt is None
            else _ms(batch.next_attempt, "next_attempt"),
            "attempts": batch.attempts,
            "total_attempts": batch.total_attempts,
            "redrives": batch.redrives,
            "last_status": batch.last_status,
            "last_failure": _FAILURES.index(batch.last_failure),
            "dead_reason": batch.dead_reason,
            "settled_ms": 0 if batch.settled is None else _ms(batch.settled, "settled"),
        }
        self._engine.restore_batch(d, _now_ms(now))


def event_types() -> Tuple[str, ...]:
    """The catalogue of well-known event types (custom types are allowed
    too), as a tuple of str. Raises nothing."""
    return _hookline.event_types()


def event_filter_match(pattern: str, type: str) -> bool:
    """True when `type` matches `pattern` ("*", "prefix.*" or exact): the
    very rule endpoint filters use. Raises ``TypeError`` for non-str
    arguments."""
    return _hookline.event_filter_match(pattern, type)
