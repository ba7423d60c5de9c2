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

from ._hookline import BodyTooLarge as BodyTooLarge
from ._hookline import Error as Error
from ._hookline import InvalidArgument as InvalidArgument
from ._hookline import InvalidSecret as InvalidSecret
from ._hookline import MalformedHeader as MalformedHeader
from ._hookline import MissingHeader as MissingHeader
from ._hookline import SignatureMismatch as SignatureMismatch
from ._hookline import StoreError as StoreError
from ._hookline import StoreFull as StoreFull
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
