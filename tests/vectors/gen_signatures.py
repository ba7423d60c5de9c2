#!/usr/bin/env python3
"""Generate tests/vectors/signatures.json: known-answer vectors for every scheme.

Independent of hookline: HMAC-SHA256 comes from Python's hmac/hashlib and
Ed25519 from PyNaCl (libsodium), not from OpenSSL. Two vectors reproduce
values published by the schemes' owners: Svix's Standard Webhooks example
and GitHub's X-Hub-Signature-256 example; the script asserts them.

Run by hand (needs Debian's python3-nacl) when adding vectors:
    /usr/bin/python3 tests/vectors/gen_signatures.py > tests/vectors/signatures.json
"""
import base64
import hashlib
import hmac
import json

import nacl.signing

EVENT = json.dumps({
    "id": "evt_01HZX3J5Q0W9M8E4R7T2Y6U1IO",
    "type": "email.outbound.delivered",
    "created_at": "2026-05-07T12:00:00Z",
    "data": {"message_id": "<20260507120000.1@mail.example.com>", "recipient": "ana@example.org"},
}, separators=(",", ":"))


def mac(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def decode_std_secret(text: str) -> bytes:
    t = text[len("whsec_"):] if text.startswith("whsec_") else text
    t += "=" * (-len(t) % 4)
    return base64.b64decode(t.replace("-", "+").replace("_", "/"))


def standard(secrets, msg_id, ts, body: bytes):
    content = msg_id.encode() + b"." + str(ts).encode() + b"." + body
    parts = []
    for s in secrets:
        if s.startswith("whsk_"):
            raw = base64.b64decode(s[5:])
            sig = nacl.signing.SigningKey(raw[:32]).sign(content).signature
            parts.append("v1a," + b64(sig))
        else:
            parts.append("v1," + b64(mac(decode_std_secret(s), content)))
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": " ".join(parts)}


def hookline(secrets, ts, body, key_of=bytes.fromhex):
    content = str(ts).encode() + b"." + body
    sigs = [mac(key_of(s), content).hex() for s in secrets]
    return {"x-webhook-timestamp": str(ts), "x-webhook-signature": ",".join(sigs)}


def stripe(secrets, ts, body):
    content = str(ts).encode() + b"." + body
    sigs = ["v1=" + mac(s.encode(), content).hex() for s in secrets]
    return {"stripe-signature": "t=%d,%s" % (ts, ",".join(sigs))}


def github(secret, body):
    return {"x-hub-signature-256": "sha256=" + mac(secret.encode(), body).hex()}


SEED = bytes(range(1, 33))
PUB = bytes(nacl.signing.SigningKey(SEED).verify_key)
WHSK32 = "whsk_" + b64(SEED)
WHSK64 = "whsk_" + b64(SEED + PUB)
WHPK = "whpk_" + b64(PUB)
STD_SECRET = "whsec_" + b64(bytes(range(100, 132)))
STD_SECRET_2 = "whsec_" + b64(hashlib.sha256(b"rotation").digest())
HEX_SECRET = hashlib.sha256(b"hookline hex secret").hexdigest()
HEX_SECRET_2 = hashlib.sha256(b"hookline hex secret 2").hexdigest()
TS = 1778155200  # 2026-05-07T12:00:00Z

vectors = []


def add(name, scheme, secrets, headers, body, ts, msg_id=None, encoding="default",
        verify_secrets=None, note=None):
    v = {"name": name, "scheme": scheme, "secrets": secrets, "secret_encoding": encoding,
         "msg_id": msg_id, "timestamp": ts, "headers": headers}
    try:
        v["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        v["body_b64"] = b64(body)
    if verify_secrets:
        v["verify_secrets"] = verify_secrets
    if note:
        v["note"] = note
    vectors.append(v)


body = EVENT.encode()
# Published by Svix for Standard Webhooks (their docs and test suites).
svix = standard(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330, b'{"test": 2432232314}')
assert svix["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", svix
add("standard-svix-published", "standard", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], svix,
    b'{"test": 2432232314}', 1614265330, "msg_p5jXN8AQM9LWM0D4loKWxJek",
    note="the example published by Svix")
add("standard-email-event", "standard", [STD_SECRET],
    standard([STD_SECRET], "msg_01HZX3J5Q0W9", TS, body), body, TS, "msg_01HZX3J5Q0W9")
bare = STD_SECRET[len("whsec_"):]
add("standard-bare-base64", "standard", [bare], standard([bare], "msg_bare", TS, body), body, TS,
    "msg_bare")
unpadded = STD_SECRET_2.rstrip("=")
add("standard-unpadded-secret", "standard", [unpadded],
    standard([unpadded], "msg_unpadded", TS, body), body, TS, "msg_unpadded")
add("standard-rotation", "standard", [STD_SECRET, STD_SECRET_2],
    standard([STD_SECRET, STD_SECRET_2], "msg_rot", TS, body), body, TS, "msg_rot")
add("standard-ed25519-seed", "standard", [WHSK32], standard([WHSK32], "msg_ed", TS, body), body,
    TS, "msg_ed", verify_secrets=[WHPK])
add("standard-ed25519-seed-and-public", "standard", [WHSK64],
    standard([WHSK64], "msg_ed64", TS, body), body, TS, "msg_ed64", verify_secrets=[WHPK])
add("standard-hmac-and-ed25519", "standard", [STD_SECRET, WHSK64],
    standard([STD_SECRET, WHSK64], "msg_mix", TS, body), body, TS, "msg_mix",
    verify_secrets=[WHPK])
binary = bytes(range(256)) * 4
add("standard-binary-body", "standard", [STD_SECRET], standard([STD_SECRET], "msg_bin", TS, binary),
    binary, TS, "msg_bin")
add("standard-empty-body", "standard", [STD_SECRET], standard([STD_SECRET], "msg_empty", TS, b""),
    b"", TS, "msg_empty")
add("hookline-email-event", "hookline", [HEX_SECRET], hookline([HEX_SECRET], TS, body), body, TS)
add("hookline-rotation", "hookline", [HEX_SECRET, HEX_SECRET_2],
    hookline([HEX_SECRET, HEX_SECRET_2], TS, body), body, TS)
add("hookline-uppercase-hex-secret", "hookline", [HEX_SECRET.upper()],
    hookline([HEX_SECRET], TS, body), body, TS)
add("hookline-empty-body", "hookline", [HEX_SECRET], hookline([HEX_SECRET], TS, b""), b"", TS)
add("hookline-base64-encoding", "hookline", [b64(bytes.fromhex(HEX_SECRET))],
    hookline([HEX_SECRET], TS, body), body, TS, encoding="base64")
add("hookline-raw-encoding", "hookline", ["plain text key"],
    hookline(["plain text key"], TS, body, key_of=str.encode), body, TS, encoding="raw")
add("stripe-event", "stripe", ["whsec_test_secret"], stripe(["whsec_test_secret"], TS, body), body, TS)
add("stripe-rotation", "stripe", ["whsec_old", "whsec_new"], stripe(["whsec_old", "whsec_new"], TS, body),
    body, TS)
# Published by GitHub in "Validating webhook deliveries".
gh = github("It's a Secret to Everybody", b"Hello, World!")
assert gh["x-hub-signature-256"] == \
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", gh
add("github-published", "github", ["It's a Secret to Everybody"], gh, b"Hello, World!", None,
    note="the example published by GitHub")
add("github-event", "github", ["gh-secret"], github("gh-secret", body), body, None)

print(json.dumps({
    "about": "Known-answer vectors. Each signs to exactly `headers` with `secrets` at msg_id and "
             "timestamp, and verifies at now = timestamp with `verify_secrets` (default: "
             "`secrets`). Generated by gen_signatures.py with Python's hmac and PyNaCl.",
    "vectors": vectors}, indent=1))
