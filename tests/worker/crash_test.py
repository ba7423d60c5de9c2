#!/usr/bin/env python3
"""The crash test: a worker delivering thousands of events to a local
receiver is SIGKILLed at random moments several times and restarted;
afterwards every acknowledged event was received, nothing is missing, and
every duplicate is a whole batch sent again under the same batch id.

Usage: crash_test.py CRASH_CHILD [TOTAL] [KILLS]
(runs from the repository root; tests/servers/receiver.py is the receiver)."""
import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

child_bin = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
kills = int(sys.argv[3]) if len(sys.argv) > 3 else 6
chunk = 50
flaky = 5  # the receiver's path /flaky/crash/5: its first 5 requests get a 500
rng = random.Random(int(os.environ.get("HL_CRASH_SEED", "0")) or None)

tmp = tempfile.mkdtemp(prefix="hl_crash_")
db = os.path.join(tmp, "outbox.db")
journal = os.path.join(tmp, "journal")
log = os.path.join(tmp, "received.jsonl")

receiver = subprocess.Popen([sys.executable, "tests/servers/receiver.py", "--host", "127.0.0.2",
                             "--log", log], stdout=subprocess.PIPE, text=True)
try:
    line = receiver.stdout.readline()
    assert line.startswith("PORT "), line
    port = line.split()[1]
    args = [child_bin, db, port, journal, str(total), str(chunk)]

    killed = 0
    for round_ in range(kills):
        child = subprocess.Popen(args)
        time.sleep(rng.uniform(0.02, 0.5))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait()
    child = subprocess.Popen(args)
    rc = child.wait(timeout=180)
    assert rc == 0, "the last run exited with %d" % rc

    # what the application was told is enqueued, and chunks that may have
    # been enqueued twice (killed between the enqueue and its journal line)
    acked, intents = set(), []
    with open(journal) as f:
        for ln in f:
            kind, a, b = ln.split()
            ids = {"evt_%06d" % i for i in range(int(a), int(b))}
            if kind == "A":
                acked |= ids
            else:
                intents.append(ids)
    assert acked == {"evt_%06d" % i for i in range(total)}, "not every chunk was acknowledged"

    requests = []
    with open(log) as f:
        for ln in f:
            rec = json.loads(ln)
            headers = {k.lower(): v for k, v in rec["headers"]}
            body = base64.b64decode(rec["body"])
            events = [e["id"] for e in json.loads(body)]
            requests.append((headers["x-webhook-batch-id"], body, events))
    ok_requests = requests[flaky:]  # the receiver failed the first ones on purpose

    delivered = set()
    for _, _, events in ok_requests:
        delivered |= set(events)
    missing = acked - delivered
    assert not missing, "%d acknowledged events never delivered, e.g. %s" % (
        len(missing), sorted(missing)[:5])

    # duplicates: the same batch id always carries the same bytes, and an
    # event travels in one batch only - unless the application enqueued it twice
    body_of, batches_of = {}, {}
    for batch_id, body, events in requests:
        assert body_of.setdefault(batch_id, body) == body, "batch %s changed" % batch_id
        for e in events:
            batches_of.setdefault(e, set()).add(batch_id)
    twice = set()
    seen_intent = {}
    for ids in intents:
        key = min(ids)
        if key in seen_intent:
            twice |= ids
        seen_intent[key] = True
    split = {e for e, b in batches_of.items() if len(b) > 1 and e not in twice}
    assert not split, "events delivered in different batches: %s" % sorted(split)[:5]
    resent = len(requests) - len(body_of)
    print("crash test: %d events, %d kills, %d requests, %d batches, %d resent (same id), "
          "%d events re-enqueued by the application after a kill"
          % (total, killed, len(requests), len(body_of), resent, len(twice)))
finally:
    receiver.kill()
    receiver.wait()
    subprocess.run(["rm", "-rf", tmp])
