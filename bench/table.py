"""table.py - turn the measurements of one bench/run.sh run into its table.

Usage: python3 table.py MEASUREMENTS_FILE MACHINE_FILE

Each benchmark prints "M <key> <value> <unit>" lines; this file alone knows
which measurement is compared with which and what the target is (issue 8),
so every ratio is between two figures of the same run. A row whose
measurements are missing is printed as "not measured".
"""

import sys

SIZES = (256, 1024, 16384, 1048576)
SCHEMES = ("standard", "hookline", "stripe", "github")


def size_name(n):
    return "%d MiB" % (n >> 20) if n >= 1 << 20 else "%d KiB" % (n >> 10) if n >= 1024 else "%d B" % n


def rows(m):
    """(group, what, key, reference label, reference key, target) per row.
    target: ("<=", x) the value/reference ratio must be at most x;
    (">=", x) at least x; None: information only."""
    out = []
    for scheme in SCHEMES:
        for size in SIZES:
            tag = "%s.%d" % (scheme, size)
            g = "verify C %s %s" % (scheme, size_name(size))
            out.append((g, "hl_verifier_verify", "c.verifier." + tag, "OpenSSL floor", "c.floor." + tag, ("<=", 1.05)))
            out.append((g, "hl_verify (one-shot)", "c.oneshot." + tag, "OpenSSL floor", "c.floor." + tag, ("<=", 2.0)))
    for scheme in SCHEMES:
        for size in SIZES:
            tag = "%s.%d" % (scheme, size)
            g = "verify Python %s %s" % (scheme, size_name(size))
            out.append((g, "hookline.Verifier.verify", "py.Verifier." + tag, "C floor", "c.floor." + tag, ("<=", 1.6)))
            out.append((g, "hookline.verify (one-shot)", "py.verify." + tag, "C floor", "c.floor." + tag, None))
            ref = "py.Verifier." + tag
            out.append((g, "peer: stdlib hmac+base64", "py.stdlib." + tag, "hookline.Verifier", ref, (">=", 1.0)))
            out.append((g, "peer: node standardwebhooks", "node.standardwebhooks." + tag, "hookline.Verifier", ref, (">=", 1.0)))
            out.append((g, "peer: node svix", "node.svix." + tag, "hookline.Verifier", ref, (">=", 1.0)))
            out.append((g, "peer: node stripe", "node.stripe." + tag, "hookline.Verifier", ref, (">=", 1.0)))
    for scheme in SCHEMES:
        for size in SIZES:
            tag = "%s.%d" % (scheme, size)
            g = "verify Lua %s %s" % (scheme, size_name(size))
            for label, what in (("lua54", "Lua 5.4 verifier:verify"), ("luajit", "LuaJIT verifier:verify (C API)"),
                                ("luajit_ffi", "LuaJIT resty.hookline (FFI)")):
                out.append((g, what, "%s.%s" % (label, tag), "C floor", "c.floor." + tag, ("<=", 1.6)))
    out.append(("nginx + wrk, bare 204", "guarded location req/s", "nginx.guarded", "unguarded req/s", "nginx.plain", (">=", 0.85)))
    out.append(("nginx + wrk, proxied to an app", "guarded location req/s", "nginx.guarded_proxy", "unguarded req/s",
                "nginx.plain_proxy", (">=", 0.85)))
    for b in (1, 10, 100):
        g = "deliver worker -> nginx, batch %d" % b
        out.append((g, "events/s", "deliver.ev.%d" % b, "wrk req/s", "deliver.wrk", (">=", 0.5) if b == 1 else None))
        out.append((g, "batches/s", "deliver.batch.%d" % b, "wrk req/s", "deliver.wrk", None))
    for sync in ("full", "normal"):
        g = "outbox enqueue, sync %s" % sync.upper()
        out.append((g, "batched (1000/txn) ev/s", "outbox.batched." + sync, "target", 100000.0,
                    (">=", 1.0) if sync == "full" else None))
        out.append((g, "batched (1000/txn) ev/s", "outbox.batched." + sync, "raw sqlite3", "outbox.floor." + sync, None))
        out.append((g, "single (1/txn) ev/s", "outbox.single." + sync, "batched", "outbox.batched." + sync, None))
    # PostgreSQL (issue 9): information rows, the server runs with fsync=off
    # unless the key ends in .fsync (bench/README.md)
    for tag, label in (("", "fsync off"), (".fsync", "fsync on")):
        g = "pg enqueue, %s" % label
        out.append((g, "batched (1000/txn) ev/s", "pg.enqueue.batched" + tag, "raw libpq", "pg.floor.batched" + tag, None))
        out.append((g, "single (1/txn) ev/s", "pg.enqueue.single" + tag, "raw libpq", "pg.floor.single" + tag, None))
        out.append((g, "raw libpq 1000/txn ev/s", "pg.floor.batched" + tag, "SQLite batched FULL", "outbox.batched.full", None))
    out.append(("pg claim (route + ingest), 1 worker", "ev/s", "pg.claim", "pg enqueue batched", "pg.enqueue.batched", None))
    for b in (1, 100):
        g = "pg deliver -> nginx, batch %d" % b
        for w in (1, 3):
            out.append((g, "%d worker%s ev/s" % (w, "s" if w > 1 else ""), "pg.deliver.%d.%d" % (b, w),
                        "SQLite worker", "pg.sqlite.%d" % b, None))
    out.append(("outbox enqueue", "engine alone (no store) ev/s", "outbox.memory", "batched FULL", "outbox.batched.full", None))
    out.append(("sign 100 x 500 B", "C hl_signer_sign batch/s", "sign.c", None, None, None))
    out.append(("sign 100 x 500 B", "Python Signer.sign batch/s", "sign.py", "C batch/s", "sign.c", None))
    for n in ("1e4", "1e5", "1e6"):
        g = "engine %s pending" % n
        out.append((g, "enqueue ns/event", "engine.enqueue." + n, "at 1e4", "engine.enqueue.1e4", ("<=", 1.5)))
        out.append((g, "next_action+report ns/event", "engine.drain." + n, "at 1e4", "engine.drain.1e4", ("<=", 1.5)))
        out.append((g, "RSS bytes/event", "engine.rss." + n, "at 1e4", "engine.rss.1e4", None))
    out.append(("callgrind engine 1e5 pending", "instructions/event (enqueue + deliver)", "cg.engine.1e5",
                "at 1e4", "cg.engine.1e4", ("<=", 1.1)))
    for path in ("floor", "verifier", "oneshot"):
        out.append(("callgrind standard 1 KiB", "instructions: " + path, "cg." + path, "floor", "cg.floor",
                    ("<=", 1.05) if path == "verifier" else ("<=", 2.0) if path == "oneshot" else None))
    return out


def fmt(v, unit):
    if unit == "ns":
        return "%.2f us" % (v / 1e3) if v >= 1e3 else "%.0f ns" % v
    if unit in ("req/s", "batch/s", "ev/s"):
        return "%.0f %s" % (v, unit)
    return "%.0f %s" % (v, unit) if unit else "%.0f" % v


def main():
    m, units = {}, {}
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[0] == "M":
                m[parts[1]] = float(parts[2])
                units[parts[1]] = parts[3] if len(parts) > 3 else ""
    with open(sys.argv[2]) as f:
        print(f.read().rstrip())
    hdr = ("row", "measured", "reference", "ref value", "ratio", "target", "")
    table = []
    met = missed = 0
    for group, what, key, ref_label, ref_key, target in rows(m):
        if key not in m:
            # peers exist for one scheme only: skip silently when no
            # measurement of that kind was taken at all
            continue
        v = m[key]
        # a number instead of a key: an absolute target (issue 8's figure)
        const = isinstance(ref_key, float)
        ref = ref_key if const else m.get(ref_key) if ref_key else None
        ratio = v / ref if ref else None
        verdict = ""
        if target and ratio is not None:
            ok = ratio <= target[1] if target[0] == "<=" else ratio >= target[1]
            verdict = "met" if ok else "NOT MET"
            met += ok
            missed += not ok
        table.append((group + ": " + what, fmt(v, units[key]), ref_label or "",
                      fmt(ref, units[key] if const else units[ref_key]) if ref is not None else "",
                      "%.2f" % ratio if ratio is not None else "",
                      "%s %.2f" % target if target else "", verdict))
    widths = [max(len(r[i]) for r in table + [hdr]) for i in range(len(hdr))]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, hdr))
    print(line)
    print("-" * len(line))
    for r in table:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, r)))
    print("targets: %d met, %d NOT MET" % (met, missed))


if __name__ == "__main__":
    main()
