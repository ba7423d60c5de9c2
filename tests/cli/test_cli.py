#!/usr/bin/env python3
"""The hookline command, end to end: every command against a real outbox
file and a real receiver (tests/servers/receiver.py on 127.0.0.2), checking
output, --json lines and exit codes (0 ok, 1 failure, 2 usage).

Usage: test_cli.py PATH_TO_HOOKLINE. Prints "N passed, M failed".
"""
import base64
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOOKLINE = sys.argv[1]
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond)))
    print("%s %s%s" % ("ok    " if cond else "FAILED", name, "" if cond else ": " + str(detail)))


def run(*args, stdin=None, env_extra=None):
    env = dict(os.environ, NO_COLOR="1")
    env.update(env_extra or {})
    p = subprocess.run([HOOKLINE, *args], input=stdin, capture_output=True, text=True,
                       timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def main():
    tmp = tempfile.mkdtemp()
    log = os.path.join(tmp, "requests.log")
    rx = subprocess.Popen([sys.executable, str(ROOT / "tests/servers/receiver.py"), "--host",
                           "127.0.0.2", "--log", log], stdout=subprocess.PIPE, text=True)
    try:
        port = int(rx.stdout.readline().split()[1])
        base = "http://127.0.0.2:%d" % port
        g = ["--db", os.path.join(tmp, "outbox.db"), "--allow-http", "--allow-cidr",
             "127.0.0.2/32", "--allow-port", str(port)]

        # usage
        check("no command is a usage error", run()[0] == 2)
        check("unknown command is a usage error", run("frobnicate")[0] == 2)
        check("unknown option is a usage error", run("send", "--nope")[0] == 2)
        for cmd in ("demo", "endpoint", "send", "run", "status", "attempts", "dlq", "secret",
                    "sign", "verify"):
            rc, out, _ = run(cmd, "--help")
            check("%s --help" % cmd, rc == 0 and "hookline %s" % cmd in out, out)

        # secrets, signing, verifying a saved request
        rc, out, _ = run("secret", "generate")
        secret = out.strip()
        check("secret generate", rc == 0 and secret.startswith("whsec_"), out)
        body = os.path.join(tmp, "body.json")
        pathlib.Path(body).write_text('{"id":"evt_1","type":"email.outbound.opened"}')
        rc, out, _ = run("sign", "--secret", secret, "--id", "msg_1", "--body", body)
        headers = os.path.join(tmp, "headers.txt")
        pathlib.Path(headers).write_text(out)
        check("sign prints three headers", rc == 0 and len(out.splitlines()) == 3, out)
        rc, out, _ = run("verify", "--secret", secret, "--headers", headers, "--body", body, "--json")
        check("verify a saved request", rc == 0 and lines(out)[0]["event_id"] == "evt_1", out)
        pathlib.Path(body).write_text('{"id":"evt_1","type":"email.outbound.clicked"}')
        rc, _, err = run("verify", "--secret", secret, "--headers", headers, "--body", body)
        check("verify refuses a tampered body (exit 1)", rc == 1 and "signature_mismatch" in err, err)

        # registration: SSRF, test POST, secret shown once
        rc, _, err = run("endpoint", "add", "meta", "--url", "http://169.254.169.254:%d/latest" % port, *g)
        check("endpoint add refuses the metadata address", rc == 1 and "address_denied" in err, err)
        rc, _, err = run("endpoint", "add", "down", "--url", base + "/status/500", *g)
        check("endpoint add refuses when the test POST fails", rc == 1, err)
        rc, out, err = run("endpoint", "add", "e1", "--url", base + "/ok", "--events",
                           "email.outbound.*", "--json", *g)
        added = lines(out)
        check("endpoint add", rc == 0 and added[-1]["endpoint"] == "e1" and
              added[-1]["secrets"][0]["secret"].startswith("whsec_"), out + err)
        rc, out, _ = run("endpoint", "list", "--json", *g)
        check("endpoint list --json", rc == 0 and [e["endpoint"] for e in lines(out)] == ["e1"], out)
        rc, out, _ = run("endpoint", "show", "e1", *g)
        check("endpoint show redacts secrets", rc == 0 and "<redacted>" in out and "whsec_" not in out, out)
        rc, out, _ = run("endpoint", "show", "e1", "--reveal", *g)
        check("endpoint show --reveal", rc == 0 and "whsec_" in out, out)

        # sending: good lines enqueued, bad ones reported by number
        ndjson = "\n".join([
            '{"type":"email.outbound.delivered","data":{"to":"a@example.org"}}',
            '{"type":',
            '{"type":"email.outbound.opened","id":"evt_given","created_at":"2026-05-07T12:00:00Z"}',
            '{"type":"email.outbound.clicked","colour":"blue"}',
            '{"type":"email.outbound.bounced","data":[1,2,3]}',
        ]) + "\n"
        rc, out, err = run("send", *g, stdin=ndjson)
        check("send reports bad lines by number (exit 1)",
              rc == 1 and "line 2:" in err and "line 4:" in err and "enqueued 3 events" in err, err)

        rc, out, err = run("run", "--until-idle", "--duration", "60", "--json", *g)
        attempts = [l for l in lines(out) if l.get("event") == "attempt"]
        check("run delivers and logs one JSON line per attempt",
              rc == 0 and attempts and all(a["status"] == 200 for a in attempts), out + err)
        check("attempt lines carry no secret", secret not in out and "whsec_" not in out, out)
        got = [json.loads(l) for l in pathlib.Path(log).read_text().splitlines()]
        delivered = [r for r in got if r["path"] == "/ok"]
        events = [e for r in delivered
                  for e in json.loads(base64.b64decode(r["body"])) if isinstance(e, dict)]
        check("the receiver got the three events",
              sorted(e["type"] for e in events if e["type"] != "webhook.test") ==
              ["email.outbound.bounced", "email.outbound.delivered", "email.outbound.opened"],
              events)
        rc, out, _ = run("attempts", "--json", *g)
        rows = lines(out)
        check("attempts --json", rc == 0 and rows and rows[0]["response_code"] == 200, out)
        rc, out, _ = run("status", rows[0]["batch_id"], "--json", *g)
        check("status of a delivered batch", rc == 0 and lines(out)[0]["state"] == "delivered", out)
        rc, _, err = run("status", "bat_nope", *g)
        check("status of an unknown batch fails", rc == 1 and "batch_unknown" in err, err)

        # failures to the dead-letter queue, then redrive
        cfg = os.path.join(tmp, "e2.json")
        pathlib.Path(cfg).write_text(json.dumps({
            "url": base + "/status/503", "events": ["domain.*"],
            "retry": {"schedule_ms": [50], "jitter_pct": 0, "deadline_ms": 400}}))
        rc, _, err = run("endpoint", "add", "e2", "--config", cfg, "--skip-test", *g)
        check("endpoint add --config --skip-test", rc == 0, err)
        run("send", *g, stdin='{"type":"domain.verified","data":{"domain":"example.org"}}\n')
        rc, out, err = run("run", "--until-idle", "--duration", "30", "--json", *g)
        rc, out, err = run("dlq", "list", "--json", *g)
        dead = lines(out)
        check("a failing endpoint's batch is dead-lettered at its deadline",
              rc == 0 and len(dead) == 1 and dead[0]["dead_reason"] == "deadline", out + err)
        rc, out, _ = run("dlq", "show", dead[0]["batch_id"], "--json", *g)
        check("dlq show has the body", rc == 0 and lines(out)[0]["body"][0]["type"] == "domain.verified", out)
        check("dlq redrive needs an id or --all", run("dlq", "redrive", *g)[0] == 2)
        rc, _, err = run("dlq", "redrive", dead[0]["batch_id"], *g)
        rc2, out, _ = run("dlq", "list", "--json", *g)
        check("dlq redrive empties the queue", rc == 0 and rc2 == 0 and lines(out) == [], err + out)
        run("run", "--until-idle", "--duration", "30", *g)
        rc, _, _ = run("dlq", "purge", "--all", *g)
        check("dlq purge --all", rc == 0 and lines(run("dlq", "list", "--json", *g)[1]) == [])

        # sending beside a running worker, and a clean stop on SIGTERM
        import signal
        import time
        worker = subprocess.Popen([HOOKLINE, "run", "--duration", "60", "--json", *g],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(os.environ, NO_COLOR="1"))
        time.sleep(0.5)
        rc, _, err = run("send", *g, stdin='{"type":"email.outbound.sent","id":"evt_live"}\n')
        check("send works while hookline run owns the file", rc == 0, err)
        rc, _, err = run("endpoint", "list", *g)
        check("other commands say a worker owns the file", rc == 1 and "store_busy" in err, err)
        seen = False
        for _ in range(100):
            if "evt_live" in "".join(
                    base64.b64decode(json.loads(l)["body"]).decode("utf-8", "replace")
                    for l in pathlib.Path(log).read_text().splitlines()):
                seen = True
                break
            time.sleep(0.1)
        check("the running worker delivered the event sent beside it", seen)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
        check("hookline run stops cleanly on SIGTERM", worker.returncode == 0, err)

        # endpoint test, replay check, rotation, disable, remove
        rc, _, err = run("endpoint", "add", "naive", "--url", base + "/replay", *g)
        rc, _, err = run("endpoint", "test", "naive", "--replay-check", *g)
        check("replay check flags a receiver that accepts stale requests", rc == 1 and "ACCEPTED" in err, err)
        rc, out, _ = run("endpoint", "rotate-secret", "e1", "--grace", "60", "--json", *g)
        new = lines(out)[0]["secret"] if rc == 0 else ""
        check("rotate-secret prints the new secret", rc == 0 and new.startswith("whsec_") and new != secret, out)
        rc, out, _ = run("endpoint", "show", "e1", "--reveal", "--json", *g)
        check("the old secret keeps signing during the grace period",
              rc == 0 and len(lines(out)[0]["config"]["secrets"]) >= 2, out)
        check("endpoint disable", run("endpoint", "disable", "e1", *g)[0] == 0)
        rc, out, _ = run("endpoint", "list", "--json", *g)
        check("a disabled endpoint is listed as such",
              any(e["endpoint"] == "e1" and e["disabled"] == "user" for e in lines(out)), out)
        check("endpoint remove", run("endpoint", "remove", "e1", *g)[0] == 0)
        check("removing twice fails", run("endpoint", "remove", "e1", *g)[0] == 1)
    finally:
        rx.kill()
        rx.wait()
    failed = sum(1 for _, ok in results if not ok)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
