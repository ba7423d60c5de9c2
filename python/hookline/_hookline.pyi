# Stubs for the C extension hookline._hookline (use the hookline package).
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

_Text = Union[str, bytes]
_Secrets = Union[str, bytes, Sequence[_Text]]
_Body = Union[bytes, bytearray, memoryview]
_Result = Tuple[Optional[str], Optional[int], int, Optional[str], Optional[str], Optional[str]]

__version__: str
MAX_SECRETS: int
DEFAULT_TOLERANCE: int
DEFAULT_MAX_BODY: int
NOGIL_MIN: int

class Error(Exception):
    code: str

class InvalidArgument(Error, ValueError): ...
class VerificationError(Error, ValueError): ...
class MissingHeader(VerificationError): ...
class MalformedHeader(VerificationError): ...
class InvalidSecret(VerificationError): ...
class SignatureMismatch(VerificationError): ...
class TimestampTooOld(VerificationError): ...
class TimestampInFuture(VerificationError): ...
class BodyTooLarge(VerificationError): ...
class UnknownScheme(VerificationError): ...
class URLRejected(Error, ValueError): ...

def generate_secret(scheme: str, /) -> str: ...
def generate_keypair() -> Tuple[str, str]: ...
def generate_id(prefix: Optional[str] = ...) -> str: ...
def sign(
    body: _Body,
    secrets: _Secrets,
    scheme: str,
    msg_id: Optional[str],
    timestamp: int,
    secret_encoding: str,
) -> Dict[str, str]: ...
def verify(
    body: _Body,
    headers: Iterable[Tuple[_Text, _Text]],
    secrets: _Secrets,
    scheme: str,
    tolerance: int,
    now: int,
    max_body: Optional[int],
    secret_encoding: str,
) -> _Result: ...

class Signer:
    def __init__(self, secrets: _Secrets, scheme: str, secret_encoding: str) -> None: ...
    def sign(self, body: _Body, msg_id: Optional[str], timestamp: int) -> Dict[str, str]: ...

class Verifier:
    def __init__(
        self,
        secrets: _Secrets,
        scheme: str,
        tolerance: int,
        max_body: Optional[int],
        secret_encoding: str,
    ) -> None: ...
    def verify(
        self, body: _Body, headers: Iterable[Tuple[_Text, _Text]], now: int
    ) -> _Result: ...

def _check_url(
    url: Union[str, bytes],
    allow_http: bool,
    allow_ports: Optional[List[int]],
    allow_cidrs: List[str],
    allow_hosts: List[str],
    deny_names: List[str],
    resolve: bool,
    /,
) -> str: ...
