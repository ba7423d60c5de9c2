"""hookline: sign webhooks and verify them on receipt.

    import hookline
    headers = hookline.sign(body, secret)              # sender
    result = hookline.verify(body, request.headers, secret)   # receiver
    result.msg_id, result.event_id                     # for idempotency

Failures raise subclasses of :class:`hookline.VerificationError` (a
``ValueError``), each with a stable ``.code`` string.

Sending: :class:`hookline.Worker` (outbox + engine + HTTP delivery in one
object, docs/sending.md) and :class:`hookline.Engine`, the sans-IO delivery engine (batching,
retries, dead letters) with route / transform / decide policy callbacks.

Receiving (verify, parse, unpack batches, drop duplicates, HTTP answers):
:class:`hookline.Receiver` with a :class:`hookline.SeenStore`, and the
framework helpers in hookline.flask, hookline.django and hookline.asgi.
"""

from ._hookline import (
    BatchError,
    BodyTooLarge,
    CallbackError,
    ConfigError,
    EndpointError,
    EndpointTestFailed,
    EngineError,
    EngineFailed,
    EngineReentered,
    Error,
    EventError,
    InvalidArgument,
    InvalidSecret,
    MalformedHeader,
    MissingHeader,
    SignatureMismatch,
    StoreError,
    StoreFull,
    TransportError,
    TimestampInFuture,
    TimestampTooOld,
    UnknownScheme,
    VerificationError,
)
from ._hookline import __version__
from .ssrf import URLRejected, check_url
from .dedupe import SeenStore
from .worker import TestResponse, Worker, submit_events
from .engine import (
    AttemptRecord,
    BatchInfo,
    Decision,
    EndpointInfo,
    Engine,
    EngineStats,
    EnqueueResult,
    Idle,
    OutgoingEvent,
    RetryInput,
    Send,
    Wait,
    event_filter_match,
    event_types,
)
from .receiver import (
    BadRequest,
    Event,
    PayloadTooLarge,
    ReceiveError,
    Receiver,
    StoreUnavailable,
    Tenant,
    Unauthorized,
    UnknownTenant,
)
from .signature import (
    DEFAULT_MAX_BODY,
    DEFAULT_TOLERANCE,
    Signer,
    Verifier,
    VerifyResult,
    generate_keypair,
    generate_secret,
    header_pairs,
    sign,
    verify,
)

__all__ = [
    "__version__",
    "sign",
    "verify",
    "Signer",
    "Verifier",
    "VerifyResult",
    "generate_secret",
    "generate_keypair",
    "header_pairs",
    "DEFAULT_TOLERANCE",
    "DEFAULT_MAX_BODY",
    "Error",
    "InvalidArgument",
    "VerificationError",
    "MissingHeader",
    "MalformedHeader",
    "SignatureMismatch",
    "TimestampTooOld",
    "TimestampInFuture",
    "BodyTooLarge",
    "InvalidSecret",
    "UnknownScheme",
    "check_url",
    "URLRejected",
    "SeenStore",
    "StoreError",
    "StoreFull",
    "Worker",
    "TestResponse",
    "submit_events",
    "ConfigError",
    "EndpointTestFailed",
    "TransportError",
    "Receiver",
    "Tenant",
    "Event",
    "ReceiveError",
    "BadRequest",
    "Unauthorized",
    "UnknownTenant",
    "PayloadTooLarge",
    "StoreUnavailable",
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
    "EngineError",
    "EventError",
    "EndpointError",
    "BatchError",
    "CallbackError",
    "EngineFailed",
    "EngineReentered",
]
