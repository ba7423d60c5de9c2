"""Python verification cost: the hookline extension against a verifier
written with the standard library only (hmac, base64, compare_digest).

Usage: python bench_verify.py VECTOR_DIR [--quick]
Reads the vectors bench_verify (C) wrote; prints "M <key> <ns> ns" lines.
Every vector was signed at TS and is verified with now = TS.
"""

import base64
import hashlib
import hmac
import sys
import time

import hookline

TS = 1778155200
SIZES = (256, 1024, 16384, 1048576)
SCHEMES = ("standard", "hookline", "stripe", "github")


def load(vdir, scheme, size):
    with open("%s/%s_%d.body" % (vdir, scheme, size), "rb") as f:
        body = f.read()
    headers = {}
    with open("%s/%s_%d.headers" % (vdir, scheme, size), encoding="ascii") as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition(": ")
            headers[name] = value
    with open("%s/%s.secret" % (vdir, scheme), encoding="ascii") as f:
        secret = f.read()
    return body, headers, secret


def stdlib_verifier(secret):
    """The Standard Webhooks check as a careful user writes it with the
    standard library: the key decoded once, then per request the headers,
    the timestamp window, the HMAC, base64 and compare_digest."""
    key = base64.b64decode(secret[len("whsec_"):])

    def verify(body, headers, now):
        msg_id = headers["webhook-id"]
        ts = headers["webhook-timestamp"]
        if abs(now - int(ts)) > 300:
            raise ValueError("timestamp")
        signed = b"%s.%s.%s" % (msg_id.encode(), ts.encode(), body)
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
        for entry in headers["webhook-signature"].split(" "):
            version, _, sig = entry.partition(",")
            if version == "v1" and hmac.compare_digest(sig.encode(), expected):
                return msg_id
        raise ValueError("signature")

    return verify


def best_ns(fn, iters, rounds):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            fn()
        per = (time.perf_counter_ns() - t0) / iters
        best = min(best, per)
    return best


def main():
    vdir = sys.argv[1]
    quick = "--quick" in sys.argv[2:]
    rounds = 2 if quick else 7
    for scheme in SCHEMES:
        for size in SIZES:
            if quick and size != 1024:
                continue
            if scheme in ("hookline", "github") and size != 1024:
                continue  # the 1 KiB row only (stripe: all, for the Node peer)
            body, headers, secret = load(vdir, scheme, size)
            iters = max(10, int((2e5 if quick else 3e6) / (size + 1500)))
            v = hookline.Verifier(secret, scheme=scheme)
            # every path must accept the vector
            v.verify(body, headers, now=TS)
            hookline.verify(body, headers, secret, scheme=scheme, now=TS)
            m = {
                "py.Verifier": best_ns(lambda: v.verify(body, headers, now=TS), iters, rounds),
                "py.verify": best_ns(
                    lambda: hookline.verify(body, headers, secret, scheme=scheme, now=TS),
                    iters,
                    rounds,
                ),
            }
            if scheme == "standard":
                ref = stdlib_verifier(secret)
                ref(body, headers, TS)
                m["py.stdlib"] = best_ns(lambda: ref(body, headers, TS), iters, rounds)
            for key, ns in m.items():
                print("M\t%s.%s.%d\t%.1f\tns" % (key, scheme, size, ns), flush=True)


if __name__ == "__main__":
    main()
