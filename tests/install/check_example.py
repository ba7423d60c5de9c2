"""check_example.py VERIFY_REQUEST [VECTORS] - run examples/verify_request
(however it was built) against the known-answer vectors: each verifies at
its timestamp, and fails when the body is tampered with, when it is stale,
when a signature header is sent twice, and when the secret is wrong.
Prints one line per check; exits non-zero on any failure."""
import base64
import json
import os
import subprocess
import sys
import tempfile

binary = sys.argv[1]
vectors_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "..", "vectors", "signatures.json")
vectors = json.load(open(vectors_path))["vectors"]
failures = 0
checked = 0


def run(secrets, scheme, body, header_lines, now):
    with tempfile.TemporaryDirectory() as d:
        body_path = os.path.join(d, "body")
        headers_path = os.path.join(d, "headers")
        with open(body_path, "wb") as f:
            f.write(body)
        with open(headers_path, "wb") as f:
            # As an HTTP server dump: request line, CRLF, other headers.
            f.write(b"POST /hooks HTTP/1.1\r\nHost: example.test\r\n")
            for name, value in header_lines:
                f.write(("%s: %s\r\n" % (name, value)).encode())
            f.write(b"Content-Type: application/json\r\n\r\n")
        env = dict(os.environ, HOOKLINE_SECRET=" ".join(secrets), HOOKLINE_SCHEME=scheme)
        p = subprocess.run([binary, body_path, headers_path, str(now)], env=env,
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr


def expect(what, got, status, text):
    global failures, checked
    checked += 1
    code, out = got
    if code == status and text in out:
        print("ok     %s" % what)
    else:
        failures += 1
        print("FAILED %s: exit %d, want %d with %r: %s" % (what, code, status, text, out.strip()))


for v in vectors:
    # The example reads secrets in the scheme's default encoding, space-separated.
    if v.get("secret_encoding", "default") != "default":
        continue
    secrets = v.get("verify_secrets") or v["secrets"]
    if any(" " in s for s in secrets):
        continue
    body = base64.b64decode(v["body_b64"]) if "body_b64" in v else v["body"].encode()
    headers = list(v["headers"].items())
    now = v.get("timestamp") or 1700000000
    name, scheme = v["name"], v["scheme"]
    want = "verified: msg_id=%s" % (v["msg_id"] if scheme == "standard" else "-")
    expect(name + ": verifies", run(secrets, scheme, body, headers, now), 0, want)
    expect(name + ": tampered body", run(secrets, scheme, body + b" ", headers, now), 1,
           "rejected: signature_mismatch")
    if scheme != "github":
        expect(name + ": stale", run(secrets, scheme, body, headers, now + 3600), 1,
               "rejected: timestamp_too_old")
    sig_name = [n for n, _ in headers if "signature" in n][0]
    twice = headers + [(sig_name.upper(), dict(headers)[sig_name])]
    expect(name + ": signature header twice", run(secrets, scheme, body, twice, now), 1,
           "rejected: header_malformed")

code, out = run(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "standard", b"{}", [], 0)
expect("no signature headers", (code, out), 1, "rejected: header_missing")
p = subprocess.run([binary], capture_output=True, text=True, timeout=30)
expect("usage", (p.returncode, p.stderr), 2, "usage:")

print("%d passed, %d failed" % (checked - failures, failures))
if checked < 20:
    print("too few vectors were usable")
    sys.exit(1)
sys.exit(1 if failures else 0)
