"""Known-answer vectors (tests/vectors/signatures.json, made by
tests/vectors/gen_signatures.py with Python's hmac and PyNaCl) and an
independent reference signer (conftest.py, Python's hmac only)."""

import base64
import binascii
import json

import pytest

import hookline
from conftest import BODY, MSG_ID, SECRETS, TS, VECTORS, reference_key, reference_sign


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        data = json.load(f)
    assert data["vectors"], "no vectors in %s" % VECTORS
    return data["vectors"]


def body_of(v) -> bytes:
    if "body_b64" in v:
        return base64.b64decode(v["body_b64"])
    return v["body"].encode("utf-8")


VECS = load_vectors()
IDS = [v["name"] for v in VECS]


@pytest.mark.parametrize("v", VECS, ids=IDS)
def test_vector_signs_exactly(v):
    headers = hookline.sign(
        body_of(v),
        v["secrets"],
        scheme=v["scheme"],
        msg_id=v["msg_id"],
        timestamp=v["timestamp"],
        secret_encoding=v["secret_encoding"],
    )
    assert headers == v["headers"]


@pytest.mark.parametrize("v", VECS, ids=IDS)
def test_vector_signer_handle(v):
    signer = hookline.Signer(v["secrets"], scheme=v["scheme"], secret_encoding=v["secret_encoding"])
    for _ in range(2):  # keyed state is reusable
        assert signer.sign(body_of(v), msg_id=v["msg_id"], timestamp=v["timestamp"]) == v["headers"]


@pytest.mark.parametrize("v", VECS, ids=IDS)
def test_vector_verifies(v):
    secrets = v.get("verify_secrets", v["secrets"])
    kw = dict(scheme=v["scheme"], secret_encoding=v["secret_encoding"])
    result = hookline.verify(body_of(v), v["headers"], secrets, now=v["timestamp"], **kw)
    assert isinstance(result, hookline.VerifyResult)
    assert result.secret_index in range(len(secrets))
    if v["scheme"] == "github":
        assert result.timestamp is None
    else:
        assert result.timestamp == v["timestamp"]
    if v["scheme"] == "standard":
        assert result.msg_id == v["msg_id"]
    else:
        assert result.msg_id is None
    verifier = hookline.Verifier(secrets, **kw)
    assert verifier.verify(body_of(v), v["headers"], now=v["timestamp"]) == result
    # the same headers with any other body are refused
    with pytest.raises(hookline.SignatureMismatch):
        hookline.verify(body_of(v) + b" ", v["headers"], secrets, now=v["timestamp"], **kw)


def _vector_key(v, secret):
    enc = v["secret_encoding"]
    if enc == "base64":
        return base64.b64decode(secret + "=" * (-len(secret) % 4))
    if enc == "raw":
        return secret.encode()
    if enc == "hex":
        return binascii.unhexlify(secret)
    return reference_key(v["scheme"], secret)


HMAC_VECS = [v for v in VECS if not any(s.startswith(("whsk_", "whpk_")) for s in v["secrets"])]


@pytest.mark.parametrize("v", HMAC_VECS, ids=[v["name"] for v in HMAC_VECS])
def test_vector_matches_reference_signer(v):
    """The vector file agrees with the reference signer written in this suite."""
    keys = [_vector_key(v, s) for s in v["secrets"]]
    expected = reference_sign(v["scheme"], keys, body_of(v), msg_id=v["msg_id"] or "", ts=v["timestamp"])
    assert expected == v["headers"]


ED_VECS = [v for v in VECS if any(s.startswith("whsk_") for s in v["secrets"])]


@pytest.mark.parametrize("v", ED_VECS, ids=[v["name"] for v in ED_VECS])
def test_vector_ed25519_reference(v):
    """v1a signatures check out with an Ed25519 implementation other than
    hookline's own use of OpenSSL (python3-cryptography, when present)."""
    ed = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ed25519")
    content = b"%s.%d.%s" % (v["msg_id"].encode(), v["timestamp"], body_of(v))
    entries = dict(e.split(",", 1) for e in v["headers"]["webhook-signature"].split(" "))
    (sk,) = [s for s in v["secrets"] if s.startswith("whsk_")]
    raw = base64.b64decode(sk[5:])
    key = ed.Ed25519PrivateKey.from_private_bytes(raw[:32])
    key.public_key().verify(base64.b64decode(entries["v1a"]), content)


BODIES = {
    "empty": b"",
    "json": BODY,
    "binary": bytes(range(256)) * 3,
    "large": b"\x00\xffhookline" * 100_000,  # ~1 MB: the GIL-released path
}


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_sign_matches_reference(scheme, body):
    secrets = SECRETS[scheme][:1] if scheme == "github" else SECRETS[scheme]
    keys = [reference_key(scheme, s) for s in secrets]
    expected = reference_sign(scheme, keys, body)
    got = hookline.sign(body, list(secrets), scheme=scheme, msg_id=MSG_ID, timestamp=TS)
    assert got == expected
    # and what the reference signer writes, hookline verifies
    result = hookline.verify(body, expected, list(secrets), scheme=scheme, now=TS)
    assert result.secret_index == 0


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_raw_bytes_secret_is_the_key(scheme, body):
    """bytes secrets are key material as is, in every scheme."""
    key = bytes(range(7, 39))
    expected = reference_sign(scheme, [key], body)
    assert hookline.sign(body, key, scheme=scheme, msg_id=MSG_ID, timestamp=TS) == expected
    hookline.verify(body, expected, key, scheme=scheme, now=TS)
