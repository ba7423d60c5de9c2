"""bench_sign.py - bench_sign.c's job in Python: build the body of 100
events of about 500 bytes (json.dumps of a list of dicts) and sign it with a
reusable hookline.Signer. Prints batches per second.

Usage: python bench_sign.py [--quick]
"""

import json
import sys
import time

import hookline

SECRET = "whsec_AQgPFh0kKzI5QEdOVVxjanF4f4aNlJuiqbC3vsXM09o="


def event(n):
    return {
        "id": "evt_%022d" % n,
        "type": "email.delivered",
        "created_at": "2026-05-07T12:00:00.000Z",
        "data": {
            "message_id": "<%d.bench@mail.example.com>" % n,
            "from": "news@example.com",
            "to": "someone%d@example.org" % n,
            "subject": "Your weekly digest: 12 new articles you may like",
            "smtp_response": "250 2.0.0 OK 1778155200 a1b2c3d4e5f6 - gsmtp",
            "ip": "192.0.2.10",
            "pool": "shared-1",
            "tags": ["digest", "weekly"],
            "metadata": {"campaign": "cmp_0042", "user": "u_%d" % n},
            "padding": "x" * 48,
        },
    }


def main():
    quick = "--quick" in sys.argv[1:]
    signer = hookline.Signer(SECRET)
    iters = 50 if quick else 2000
    best = float("inf")
    n = 0
    for _ in range(2 if quick else 5):
        t0 = time.perf_counter()
        for _ in range(iters):
            body = json.dumps([event(n + k) for k in range(100)], separators=(",", ":")).encode()
            n += 100
            signer.sign(body, timestamp=1778155200)
        best = min(best, (time.perf_counter() - t0) / iters)
    print("M\tsign.py\t%.0f\tbatch/s" % (1 / best))


if __name__ == "__main__":
    main()
