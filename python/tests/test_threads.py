"""The GIL is released around the HMAC of large bodies: threads verifying
and signing concurrently must still each get the right answer, and a shared
Verifier/Signer (one-thread-at-a-time in C) must stay consistent."""

import threading

import hookline
from conftest import MSG_ID, STD_A, STD_B, TS

N_THREADS = 8
ROUNDS = 6
BIG = 256 * 1024  # above the GIL-release threshold


def bodies():
    # distinct large bodies; odd ones get tampered after signing
    return [bytes([i]) * BIG + b"%d" % i for i in range(N_THREADS)]


def run_threads(target):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive()
    if errors:
        raise errors[0]


def test_threshold_is_what_the_test_exercises():
    assert BIG >= hookline._hookline.NOGIL_MIN


def check_round(verify, i, body, headers):
    if i % 2:
        tampered = body[:-1] + b"!"
        try:
            verify(tampered, headers)
        except hookline.SignatureMismatch:
            return
        raise AssertionError("tampered body verified in thread %d" % i)
    r = verify(body, headers)
    assert r.msg_id == "%s%d" % (MSG_ID, i)
    assert r.secret_index == 1  # receivers hold [STD_B, STD_A]; STD_A signed


def test_concurrent_one_shot_verify():
    bs = bodies()
    signed = [hookline.sign(b, STD_A, msg_id="%s%d" % (MSG_ID, i), timestamp=TS) for i, b in enumerate(bs)]

    def work(i):
        for _ in range(ROUNDS):
            check_round(lambda b, h: hookline.verify(b, h, [STD_B, STD_A], now=TS), i, bs[i], signed[i])
            # the signer gives the same answer every time in every thread
            assert hookline.sign(bs[i], STD_A, msg_id="%s%d" % (MSG_ID, i), timestamp=TS) == signed[i]

    run_threads(work)


def test_shared_verifier_and_signer():
    bs = bodies()
    signer = hookline.Signer([STD_A])
    verifier = hookline.Verifier([STD_B, STD_A])
    expected = [signer.sign(b, msg_id="%s%d" % (MSG_ID, i), timestamp=TS) for i, b in enumerate(bs)]

    def work(i):
        for _ in range(ROUNDS):
            h = signer.sign(bs[i], msg_id="%s%d" % (MSG_ID, i), timestamp=TS)
            assert h == expected[i]
            check_round(lambda b, hh: verifier.verify(b, hh, now=TS), i, bs[i], h)
            r = verifier.verify(bs[i], h, now=TS)
            assert r.secret_index == 1

    run_threads(work)
