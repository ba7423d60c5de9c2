"""hookline.SeenStore: memory and SQLite backends, expiry with an explicit
clock, persistence across reopen, two handles and two processes on one file,
threads, and storage errors with stable codes."""

import multiprocessing
import os
import subprocess
import threading

import pytest

import hookline

T = 1778155200.0


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    path = None if request.param == "memory" else tmp_path / "seen.db"
    with hookline.SeenStore(path, ttl=60) as s:
        yield s


def test_new_then_duplicate(store):
    assert store.check_and_add("evt_1", T) is True
    assert store.check_and_add("evt_1", T + 1) is False
    assert store.check_and_add(b"evt_1", T + 1) is False  # str is its UTF-8 bytes
    assert store.contains("evt_1", T + 59.999)
    assert not store.contains("evt_1", T + 60)
    assert store.check_and_add("evt_1", T + 60) is True  # expired: new again


def test_contains_operator_uses_the_clock(store):
    assert "live" not in store
    assert store.check_and_add("live") is True
    assert "live" in store
    assert 42 not in store


def test_own_ttl_and_remove(store):
    assert store.check_and_add("short", T, ttl=0.5)
    assert store.check_and_add("short", T + 0.5)
    assert store.remove("short") is True
    assert store.remove("short") is False
    assert store.check_and_add("short", T + 0.6)


def test_unicode_and_binary_ids(store):
    assert store.check_and_add("évt-ü", T)
    assert not store.check_and_add("évt-ü".encode(), T)
    assert store.check_and_add(b"a\x00b", T)
    assert store.check_and_add(b"a\x00c", T)
    assert store.check_and_add(b"\xff", T)


@pytest.mark.parametrize("bad", ["", b"", "x" * 256])
def test_bad_ids(store, bad):
    with pytest.raises(hookline.InvalidArgument) as info:
        store.check_and_add(bad, T)
    assert info.value.code == "invalid_argument"


def test_bad_arguments(store):
    with pytest.raises(TypeError):
        store.check_and_add(42, T)
    with pytest.raises(hookline.InvalidArgument):
        store.check_and_add("x", -1)
    with pytest.raises(hookline.InvalidArgument):
        store.check_and_add("x", float("nan"))
    with pytest.raises(TypeError):
        store.check_and_add("x", "now")
    with pytest.raises(hookline.InvalidArgument):
        store.check_and_add("x", T, ttl=0)


def test_close_is_idempotent(store):
    store.close()
    store.close()
    assert store.backend == "closed"
    with pytest.raises(hookline.InvalidArgument):
        store.check_and_add("x", T)


def test_stats_and_prune(store):
    for i in range(10):
        assert store.check_and_add("e%d" % i, T, ttl=1)
    assert not store.check_and_add("e0", T)
    st = store.stats()
    assert st["added"] == 10 and st["duplicates"] == 1 and st["live"] == 10
    assert store.prune(T + 2) == 10
    assert store.stats()["live"] == 0


def test_memory_full_refuses_or_evicts():
    s = hookline.SeenStore(capacity=2, ttl=100)
    assert s.backend == "memory" and s.path is None
    assert s.check_and_add("a", T) and s.check_and_add("b", T)
    with pytest.raises(hookline.StoreFull) as info:
        s.check_and_add("c", T)
    assert info.value.code == "store_full"
    assert isinstance(info.value, hookline.StoreError)
    assert isinstance(info.value, hookline.Error)
    assert not s.check_and_add("a", T)  # live ids kept
    e = hookline.SeenStore(capacity=2, ttl=100, full="evict")
    assert e.check_and_add("a", T, ttl=1) and e.check_and_add("b", T)
    assert e.check_and_add("c", T)
    assert not e.contains("a", T)
    assert e.stats()["evicted"] == 1
    with pytest.raises(hookline.InvalidArgument):
        hookline.SeenStore(full="drop")
    with pytest.raises(hookline.InvalidArgument):
        hookline.SeenStore(capacity=0)
    with pytest.raises(hookline.InvalidArgument):
        hookline.SeenStore(ttl=0)


def test_sqlite_persists_across_reopen(tmp_path):
    path = tmp_path / "persist.db"
    with hookline.SeenStore(path, ttl=60) as s:
        assert s.backend == "sqlite" and s.path == str(path)
        assert s.check_and_add("batch_1", T)
    with hookline.SeenStore(str(path), ttl=60) as s:
        assert not s.check_and_add("batch_1", T + 1)
        assert s.check_and_add("batch_1", T + 60)


def test_sqlite_two_handles(tmp_path):
    path = tmp_path / "shared.db"
    with hookline.SeenStore(path) as a, hookline.SeenStore(path) as b:
        assert a.check_and_add("x", T)
        assert not b.check_and_add("x", T)
        assert b.remove("x")
        assert a.check_and_add("x", T)


def _race(path, ids, out):
    with hookline.SeenStore(path, ttl=60) as s:
        out.put(sum(s.check_and_add(i, T) for i in ids))


def test_sqlite_two_processes_each_id_new_once(tmp_path):
    path = str(tmp_path / "race.db")
    hookline.SeenStore(path).close()
    ids = ["id-%d" % i for i in range(300)]
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_race, args=(path, order, out)) for order in (ids, ids[::-1])]
    for p in procs:
        p.start()
    total = out.get(timeout=60) + out.get(timeout=60)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert total == len(ids)


def test_threads_share_one_store(tmp_path):
    for path in (None, tmp_path / "threads.db"):
        s = hookline.SeenStore(path)
        results = []
        lock = threading.Lock()

        def work():
            n = sum(s.check_and_add("t-%d" % i, T) for i in range(200))
            with lock:
                results.append(n)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(results) == 200
        s.close()


def test_sqlite_errors_have_stable_codes(tmp_path):
    with pytest.raises(hookline.StoreError) as info:
        hookline.SeenStore("/nonexistent-hookline-dir/seen.db")
    assert info.value.code == "store_io"
    with pytest.raises(hookline.StoreError) as info:
        hookline.SeenStore(tmp_path)  # a directory
    assert info.value.code == "store_io"
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"junk" * 2048)
    with pytest.raises(hookline.StoreError) as info:
        hookline.SeenStore(junk)
    assert info.value.code == "store_corrupt"
    assert "not a database" in str(info.value)
    with pytest.raises(hookline.InvalidArgument):
        hookline.SeenStore("")


def test_sqlite_read_only_file(tmp_path):
    path = tmp_path / "ro.db"
    hookline.SeenStore(path).close()
    immutable = os.geteuid() == 0
    if immutable:
        # Root writes through file modes; the immutable attribute stops it.
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("no immutable attribute on this file system")
    else:
        path.chmod(0o444)
    try:
        with pytest.raises(hookline.StoreError) as info:
            hookline.SeenStore(path)
        assert info.value.code == "store_readonly"
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
