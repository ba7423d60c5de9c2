"""Shared fixtures and an independent reference signer.

The reference signer below uses only Python's hmac/hashlib/base64 (never
hookline), so a test that compares hookline's output with it checks the wire
format against a second implementation of the spec.
"""

import base64
import binascii
import hashlib
import hmac
import os
import pathlib
import tempfile

import pytest

try:
    from hypothesis import configuration, settings

    # Nothing written into the source tree: no example database, and the
    # Unicode cache goes to the temp dir unless the caller chose a place.
    if not os.getenv("HYPOTHESIS_STORAGE_DIRECTORY"):
        configuration.set_hypothesis_home_dir(
            os.path.join(tempfile.gettempdir(), "hookline-hypothesis")
        )
    settings.register_profile("hookline", database=None, deadline=None)
    settings.load_profile("hookline")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "signatures.json"

# Fixed secrets used across the tests (32 key bytes each).
KEY_A = bytes(range(32))
KEY_B = bytes(range(100, 132))
STD_A = "whsec_" + base64.b64encode(KEY_A).decode()
STD_B = "whsec_" + base64.b64encode(KEY_B).decode()
HEX_A = KEY_A.hex()
HEX_B = KEY_B.hex()
TEXT_A = "whsec_stripe_or_github_text_secret_A"
TEXT_B = "whsec_stripe_or_github_text_secret_B"
TS = 1778155200
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
BODY = b'{"id":"evt_1","type":"email.delivered","created_at":"2026-05-07T12:00:00Z"}'

SECRETS = {
    "standard": (STD_A, STD_B),
    "hookline": (HEX_A, HEX_B),
    "stripe": (TEXT_A, TEXT_B),
    "github": (TEXT_A, TEXT_B),
}


def _mac(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def reference_key(scheme: str, secret: str) -> bytes:
    """The HMAC key a secret's text stands for, per scheme (default encoding)."""
    if scheme == "standard":
        text = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
        text += "=" * (-len(text) % 4)
        return base64.b64decode(text.replace("-", "+").replace("_", "/"))
    if scheme == "hookline":
        return binascii.unhexlify(secret)
    return secret.encode()


def reference_sign(scheme, keys, body: bytes, msg_id=MSG_ID, ts=TS):
    """The headers a correct signer writes, from raw HMAC keys."""
    if scheme == "standard":
        content = b"%s.%d.%s" % (msg_id.encode(), ts, body)
        sig = " ".join("v1," + base64.b64encode(_mac(k, content)).decode() for k in keys)
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}
    if scheme == "hookline":
        content = b"%d.%s" % (ts, body)
        return {
            "x-webhook-timestamp": str(ts),
            "x-webhook-signature": ",".join(_mac(k, content).hex() for k in keys),
        }
    if scheme == "stripe":
        content = b"%d.%s" % (ts, body)
        return {
            "stripe-signature": "t=%d," % ts
            + ",".join("v1=" + _mac(k, content).hex() for k in keys)
        }
    if scheme == "github":
        (key,) = keys
        return {"x-hub-signature-256": "sha256=" + _mac(key, body).hex()}
    raise AssertionError(scheme)


@pytest.fixture(params=sorted(SECRETS))
def scheme(request):
    return request.param


@pytest.fixture(params=["hookline", "standard", "stripe"])
def timed_scheme(request):
    """Schemes with a signed timestamp and several signatures (not github)."""
    return request.param
