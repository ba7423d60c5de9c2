# Public API of hookline (kept in step with __init__.py by tests/test_api.py).
import os
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

from ._hookline import BatchError as BatchError
from ._hookline import BodyTooLarge as BodyTooLarge
from ._hookline import CallbackError as CallbackError
from ._hookline import EndpointError as EndpointError
from ._hookline import EngineError as EngineError
from ._hookline import EngineFailed as EngineFailed
from ._hookline import EngineReentered as EngineReentered
from ._hookline import EventError as EventError
from ._hookline import Error as Error
from ._hookline import InvalidArgument as InvalidArgument
from ._hookline import InvalidSecret as InvalidSecret
from ._hookline import MalformedHeader as MalformedHeader
from ._hookline import MissingHeader as MissingHeader
from ._hookline import SignatureMismatch as SignatureMismatch
from ._hookline import StoreError as StoreError
from ._hookline import StoreFull as StoreFull
from ._hookline import ConfigError as ConfigError
from ._hookline import EndpointTestFailed as EndpointTestFailed
from ._hookline import TransportError as TransportError
from ._hookline import TimestampInFuture as TimestampInFuture
from ._hookline import TimestampTooOld as TimestampTooOld
from ._hookline import UnknownScheme as UnknownScheme
from ._hookline import URLRejected as URLRejected
from ._hookline import VerificationError as VerificationError

_Text = Union[str, bytes]
_Secrets = Union[str, bytes, Sequence[_Text]]
_Body = Union[bytes, bytearray, memoryview]
_Headers = Union[Mapping[str, str], Mapping[bytes, bytes], Iterable[Tuple[_Text, _Text]]]

__version__: str
__all__: list[str]
DEFAULT_TOLERANCE: int
DEFAULT_MAX_BODY: int

class VerifyResult:
    msg_id: Optional[str]
    timestamp: Optional[int]
    secret_index: int
    event_id: Optional[str]
    event_type: Optional[str]
    created_at: Optional[str]
    def __init__(
        self,
        msg_id: Optional[str],
        timestamp: Optional[int],
        secret_index: int,
        event_id: Optional[str],
        event_type: Optional[str],
        created_at: Optional[str],
    ) -> None: ...

def header_pairs(headers: _Headers) -> Iterable[Tuple[_Text, _Text]]: ...
def sign(
    body: _Body,
    secret: _Secrets,
    *,
    scheme: str = ...,
    msg_id: Optional[str] = ...,
    timestamp: Optional[int] = ...,
    secret_encoding: str = ...,
) -> Dict[str, str]: ...
def verify(
    body: _Body,
    headers: _Headers,
    secret: _Secrets,
    *,
    scheme: str = ...,
    tolerance: int = ...,
    now: Optional[float] = ...,
    max_body: Optional[int] = ...,
    secret_encoding: str = ...,
) -> VerifyResult: ...

class Signer:
    @property
    def scheme(self) -> str: ...
    def __init__(
        self, secrets: _Secrets, *, scheme: str = ..., secret_encoding: str = ...
    ) -> None: ...
    def sign(
        self, body: _Body, *, msg_id: Optional[str] = ..., timestamp: Optional[int] = ...
    ) -> Dict[str, str]: ...

class Verifier:
    @property
    def scheme(self) -> str: ...
    @property
    def tolerance(self) -> int: ...
    @property
    def max_body(self) -> Optional[int]: ...
    def __init__(
        self,
        secrets: _Secrets,
        *,
        scheme: str = ...,
        tolerance: int = ...,
        max_body: Optional[int] = ...,
        secret_encoding: str = ...,
    ) -> None: ...
    def verify(
        self, body: _Body, headers: _Headers, *, now: Optional[float] = ...
    ) -> VerifyResult: ...

def generate_secret(scheme: str = ...) -> str: ...
def generate_keypair() -> Tuple[str, str]: ...


def check_url(
    url: Union[str, bytes],
    *,
    allow_http: bool = ...,
    allow_cidrs: Iterable[str] = ...,
    allow_ports: Optional[Iterable[int]] = ...,
    allow_hosts: Iterable[str] = ...,
    deny_names: Iterable[str] = ...,
    resolve: bool = ...,
) -> str: ...
class SeenStore:
    def __init__(
        self,
        path: Optional[Union[str, "os.PathLike[str]"]] = ...,
        *,
        ttl: float = ...,
        capacity: int = ...,
        full: str = ...,
        busy_timeout: float = ...,
    ) -> None: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def ttl(self) -> float: ...
    @property
    def backend(self) -> str: ...
    def check_and_add(
        self, id: _Text, now: Optional[float] = ..., *, ttl: Optional[float] = ...
    ) -> bool: ...
    def contains(self, id: _Text, now: Optional[float] = ...) -> bool: ...
    def __contains__(self, id: object) -> bool: ...
    def remove(self, id: _Text) -> bool: ...
    def prune(self, now: Optional[float] = ...) -> int: ...
    def stats(self) -> Dict[str, int]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "SeenStore": ...
    def __exit__(self, *exc: object) -> None: ...


class ReceiveError(Error):
    status: int
    def __init__(self, message: str, *, code: Optional[str] = ..., status: Optional[int] = ...) -> None: ...

class BadRequest(ReceiveError, ValueError): ...
class Unauthorized(ReceiveError, VerificationError): ...
class UnknownTenant(ReceiveError, LookupError): ...
class PayloadTooLarge(ReceiveError): ...
class StoreUnavailable(ReceiveError): ...

class Event:
    payload: Dict[str, Any]
    id: Optional[str]
    type: Optional[str]
    tenant: Optional[str]
    batch_id: Optional[str]
    kind: str
    marks: Tuple[str, ...]
    def __init__(
        self,
        payload: Dict[str, Any],
        id: Optional[str],
        type: Optional[str],
        tenant: Optional[str],
        batch_id: Optional[str],
        kind: str = ...,
        marks: Tuple[str, ...] = ...,
    ) -> None: ...

class Tenant:
    secrets: Optional[_Secrets]
    scheme: str
    tolerance: int
    secret_encoding: str
    token: Optional[str]
    basic: Optional[Tuple[str, str]]
    def __init__(
        self,
        secrets: Optional[_Secrets] = ...,
        scheme: str = ...,
        tolerance: int = ...,
        secret_encoding: str = ...,
        token: Optional[str] = ...,
        basic: Optional[Tuple[str, str]] = ...,
    ) -> None: ...

class Receiver:
    max_body: Optional[int]
    seen: Optional[SeenStore]
    name: str
    def __init__(
        self,
        secrets: Optional[_Secrets] = ...,
        *,
        scheme: str = ...,
        tolerance: int = ...,
        secret_encoding: str = ...,
        token: Optional[str] = ...,
        basic: Optional[Tuple[str, str]] = ...,
        tenants: Optional[Mapping[str, Tenant]] = ...,
        tenant_of_event: Optional[Callable[[Dict[str, Any]], Any]] = ...,
        known_tenants: Optional[Container[str]] = ...,
        seen: Optional[SeenStore] = ...,
        max_body: Optional[int] = ...,
        batch_id_header: Optional[str] = ...,
        dedupe_ttl: Optional[float] = ...,
        name: str = ...,
    ) -> None: ...
    @property
    def multi_tenant(self) -> bool: ...
    def receive(
        self,
        body: _Body,
        headers: _Headers,
        *,
        tenant: Optional[str] = ...,
        token: Optional[str] = ...,
        now: Optional[float] = ...,
    ) -> List[Event]: ...
    def release(self, events: Iterable[Event]) -> None: ...
    def handle(
        self,
        body: _Body,
        headers: _Headers,
        handler: Callable[[Event], Any],
        *,
        tenant: Optional[str] = ...,
        token: Optional[str] = ...,
        now: Optional[float] = ...,
    ) -> List[Event]: ...


_Data = Union[None, bytes, bytearray, memoryview, str, Any]

class Send:
    batch_id: str
    endpoint_id: str
    url: str
    body: bytes
    n_events: int
    attempt: int
    deadline: float
    sparkpost_compat: bool
    due: float
    def __init__(
        self,
        batch_id: str,
        endpoint_id: str,
        url: str,
        body: bytes,
        n_events: int,
        attempt: int,
        deadline: float,
        sparkpost_compat: bool,
        due: float,
    ) -> None: ...

class Wait:
    at: float
    def __init__(self, at: float) -> None: ...

class Idle:
    def __init__(self) -> None: ...

class EnqueueResult:
    id: str
    routed: int
    def __init__(self, id: str, routed: int) -> None: ...

class OutgoingEvent:
    id: str
    type: str
    created_at: float
    data_json: Optional[str]
    ordering_key: Optional[str]
    def __init__(
        self,
        id: str,
        type: str,
        created_at: float,
        data_json: Optional[str],
        ordering_key: Optional[str],
    ) -> None: ...
    @property
    def data(self) -> Any: ...

class Decision:
    kind: str
    retry_at: Optional[float]
    def __init__(self, kind: str, retry_at: Optional[float] = ...) -> None: ...
    @classmethod
    def delivered(cls) -> "Decision": ...
    @classmethod
    def retry(cls, at: float) -> "Decision": ...
    @classmethod
    def give_up(cls) -> "Decision": ...

class RetryInput:
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
    def __init__(
        self,
        batch_id: str,
        endpoint_id: str,
        attempt: int,
        status: int,
        failure: Optional[str],
        retry_after: Optional[str],
        latency: float,
        body: bytes,
        now: float,
        first_enqueue: float,
        deadline: float,
        default: Decision,
    ) -> None: ...

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
    def __init__(
        self,
        batch_id: str,
        endpoint_id: str,
        state: str,
        ordering_key: Optional[str],
        body: bytes,
        n_events: int,
        created: float,
        deadline: float,
        close_at: Optional[float],
        next_attempt: Optional[float],
        attempts: int,
        total_attempts: int,
        redrives: int,
        last_status: int,
        last_failure: Optional[str],
        dead_reason: Optional[str],
        settled: Optional[float],
    ) -> None: ...

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
    def __init__(
        self,
        endpoint_id: str,
        url: str,
        disabled: str,
        breaker: str,
        breaker_trips: int,
        in_flight: int,
        queued: int,
        pending_batches: int,
        effective_rate: float,
        failing_since: Optional[float],
    ) -> None: ...

class AttemptRecord:
    batch_id: str
    endpoint_id: str
    attempt: int
    at: float
    sent: float
    status: int
    failure: str
    delivered: bool
    latency: float
    excerpt: bytes
    def __init__(
        self,
        batch_id: str,
        endpoint_id: str,
        attempt: int,
        at: float,
        sent: float,
        status: int,
        failure: str,
        delivered: bool,
        latency: float,
        excerpt: bytes,
    ) -> None: ...

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
    def __init__(
        self,
        batches: Dict[str, int],
        endpoints: int,
        pending_events: int,
        pending_body_bytes: int,
        events_enqueued: int,
        batches_delivered: int,
        batches_dead_lettered: int,
        attempts: int,
        attempt_records: int,
    ) -> None: ...

def event_types() -> Tuple[str, ...]: ...
def event_filter_match(pattern: str, type: str) -> bool: ...

class Engine:
    def __init__(
        self,
        *,
        seed: int = ...,
        max_in_flight: int = ...,
        attempt_retention: float = ...,
        max_attempt_records: int = ...,
        in_flight_lease: float = ...,
        route: Optional[Callable[[OutgoingEvent, str, bool], Any]] = ...,
        transform: Optional[Callable[[str, str], Union[str, bytes, None]]] = ...,
        decide: Optional[Callable[[RetryInput], Union[Decision, str, None]]] = ...,
    ) -> None: ...
    def add_endpoint(
        self,
        id: str,
        url: str,
        *,
        events: Iterable[str] = ...,
        active: bool = ...,
        max_events: int = ...,
        max_bytes: int = ...,
        linger: float = ...,
        unbatched: bool = ...,
        sparkpost_compat: bool = ...,
        schedule: Iterable[float] = ...,
        jitter: float = ...,
        deadline: float = ...,
        max_attempts: int = ...,
        concurrency: int = ...,
        rate: float = ...,
        burst: float = ...,
        throttle_start_rate: float = ...,
        throttle_min_rate: float = ...,
        throttle_recover: float = ...,
        breaker_window: float = ...,
        breaker_min_attempts: int = ...,
        breaker_failure_ratio: float = ...,
        breaker_half_open: float = ...,
        breaker_disable_after: float = ...,
        breaker_max_trips: int = ...,
        blocked_disable_after: int = ...,
        ordering: str = ...,
        now: Optional[float] = ...,
    ) -> None: ...
    def update_endpoint(self, id: str, *, now: Optional[float] = ..., **changes: Any) -> None: ...
    def remove_endpoint(self, id: str, *, now: Optional[float] = ...) -> None: ...
    def enable_endpoint(self, id: str, *, now: Optional[float] = ...) -> None: ...
    def disable_endpoint(self, id: str, *, now: Optional[float] = ...) -> None: ...
    def set_endpoint_disabled(
        self, id: str, reason: str, *, now: Optional[float] = ...
    ) -> None: ...
    def endpoint_info(self, id: str) -> EndpointInfo: ...
    def endpoints(self) -> List[str]: ...
    def enqueue(
        self,
        type: str,
        data: _Data = ...,
        *,
        id: Optional[str] = ...,
        created_at: Optional[float] = ...,
        ordering_key: Optional[str] = ...,
        now: Optional[float] = ...,
    ) -> EnqueueResult: ...
    def enqueue_to(
        self,
        endpoint_id: str,
        type: str,
        data: _Data = ...,
        *,
        id: Optional[str] = ...,
        created_at: Optional[float] = ...,
        ordering_key: Optional[str] = ...,
        now: Optional[float] = ...,
    ) -> EnqueueResult: ...
    def flush(self, now: Optional[float] = ...) -> None: ...
    def next_action(self, now: Optional[float] = ...) -> Union[Send, Wait, Idle]: ...
    def report_outcome(
        self,
        batch_id: str,
        *,
        status: int = ...,
        failure: Optional[str] = ...,
        retry_after: Union[None, str, bytes, int, float] = ...,
        latency: float = ...,
        body: _Body = ...,
        now: Optional[float] = ...,
    ) -> None: ...
    def batch(self, batch_id: str) -> BatchInfo: ...
    def stats(self) -> EngineStats: ...
    def attempts(self) -> List[AttemptRecord]: ...
    def dead_letters(self) -> List[str]: ...
    def redrive(self, batch_id: str, now: Optional[float] = ...) -> None: ...
    def purge(self, batch_id: Optional[str] = ...) -> None: ...
    def restore_batch(self, batch: BatchInfo, now: Optional[float] = ...) -> None: ...

class TestResponse:
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
    headers: Tuple[Tuple[str, str], ...]
    headers_truncated: bool

def submit_events(path: str, events: Iterable[Mapping[str, Any]]) -> List[str]: ...

class Worker:
    path: str
    def __init__(
        self,
        path: str,
        *,
        allow_http: bool = ...,
        allow_cidrs: Sequence[str] = ...,
        allow_ports: Optional[Sequence[int]] = ...,
        ca_file: Optional[str] = ...,
        seed: int = ...,
        on_attempt: Optional[Callable[[Dict[str, Any]], Any]] = ...,
        drain_timeout: float = ...,
    ) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Worker: ...
    def __exit__(self, *exc: Any) -> None: ...
    def add_endpoint(
        self, id: str, config: Union[Mapping[str, Any], str], *, test: bool = ...
    ) -> Dict[str, Any]: ...
    def update_endpoint(
        self, id: str, config: Union[Mapping[str, Any], str], *, test: bool = ...
    ) -> Dict[str, Any]: ...
    def remove_endpoint(self, id: str) -> None: ...
    def enable_endpoint(self, id: str) -> None: ...
    def disable_endpoint(self, id: str) -> None: ...
    def endpoint(self, id: str, *, reveal: bool = ...) -> Dict[str, Any]: ...
    def endpoints(self) -> List[Dict[str, Any]]: ...
    def test_endpoint(self, id: str, *, stale: bool = ...) -> TestResponse: ...
    def rotate_secret(
        self, id: str, new_secret: Optional[str] = ..., *, grace: float = ...
    ) -> str: ...
    def enqueue(
        self,
        type: str,
        data: Any = ...,
        *,
        id: Optional[str] = ...,
        created_at: Optional[float] = ...,
        ordering_key: Optional[str] = ...,
    ) -> str: ...
    def enqueue_many(self, events: Iterable[Mapping[str, Any]]) -> int: ...
    def run_once(self, max_wait: float = ...) -> Dict[str, Any]: ...
    def run(
        self,
        stop: Union[Any, Callable[[], bool], None] = ...,
        *,
        until_idle: bool = ...,
        timeout: Optional[float] = ...,
        max_wait: float = ...,
    ) -> Dict[str, Any]: ...
    def drain(self, timeout: float = ...) -> None: ...
    def batch(self, batch_id: str) -> Dict[str, Any]: ...
    def attempts(
        self,
        *,
        endpoint: Optional[str] = ...,
        batch: Optional[str] = ...,
        since: Optional[float] = ...,
        limit: int = ...,
        newest_first: bool = ...,
    ) -> List[Dict[str, Any]]: ...
    def dead_letters(
        self, *, endpoint: Optional[str] = ..., limit: int = ...
    ) -> List[Dict[str, Any]]: ...
    def redrive(self, batch_id: Optional[str] = ...) -> int: ...
    def purge(self, batch_id: Optional[str] = ...) -> None: ...
    def status(self) -> Dict[str, Any]: ...
    def metrics(self) -> Dict[str, Any]: ...
