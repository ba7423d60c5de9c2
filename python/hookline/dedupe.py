"""The receiver's seen-id store: drop batches and events already processed.

    store = hookline.SeenStore("/var/lib/app/seen.db", ttl=86400)   # durable
    store = hookline.SeenStore()                                     # in memory
    if store.check_and_add(event_id):      # True: new, now marked
        try:
            handle(event)
        except Exception:
            store.remove(event_id)         # let the sender's retry through
            raise

A thin layer over the C store (hookline/dedupe.h; the SQLite driver for a
path): it reads the clock when no time is given and converts seconds to the
milliseconds the core counts in.
"""

from __future__ import annotations

import math
import os
import time
from typing import Dict, Optional, Union

from . import _hookline

Id = Union[str, bytes]

#: Longest id in bytes (UTF-8 for str ids).
ID_MAX: int = _hookline.SEEN_ID_MAX
#: Default number of live ids the in-memory store holds.
DEFAULT_CAPACITY: int = _hookline.SEEN_DEFAULT_CAPACITY
#: Default dedupe window, seconds (SparkPost/Bird retry for 8 h; 24 h covers it).
DEFAULT_TTL: float = 86400.0


def _ms(seconds: float, what: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds, not %s" % (what, type(seconds).__name__))
    if not math.isfinite(seconds) or seconds < 0:
        raise _hookline.InvalidArgument("%s must be a finite number of seconds >= 0" % what)
    return int(math.floor(seconds * 1000))


def _now_ms(now: Optional[float]) -> int:
    if now is None:
        return time.time_ns() // 1_000_000
    return _ms(now, "now")


class SeenStore:
    """A set of seen ids with expiry, in memory (``path=None``) or durable in
    an SQLite file shared safely by every process that opens it.

    ``ttl`` (seconds) is how long an id stays seen; ``capacity`` bounds the
    in-memory store, which then refuses new ids with :class:`hookline.StoreFull`
    (``full="refuse"``, the default: no duplicate can slip through) or forgets
    the id closest to its expiry (``full="evict"``). Storage failures raise
    :class:`hookline.StoreError` with a ``.code`` such as ``"store_io"``.
    Safe to share between threads (calls are serialised).

    ``path`` is the SQLite file (created when missing; None: in memory);
    ``busy_timeout`` (seconds) is how long an SQLite call waits for another
    process's lock. The store owns its C state and file handle: close it
    (or use ``with``) to release them before garbage collection.

    Raises (from the constructor) :class:`InvalidArgument`
    ("invalid_argument") for bad options, :class:`StoreError` ("store_io",
    "store_corrupt", "store_schema", ...) when the file cannot be opened,
    ``TypeError`` for arguments of the wrong type.
    """

    __slots__ = ("_store", "_path", "_ttl")

    def __init__(
        self,
        path: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        ttl: float = DEFAULT_TTL,
        capacity: int = DEFAULT_CAPACITY,
        full: str = "refuse",
        busy_timeout: float = 5.0,
    ) -> None:
        if full not in ("refuse", "evict"):
            raise _hookline.InvalidArgument("full must be 'refuse' or 'evict', not %r" % (full,))
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError("capacity must be int")
        ttl_ms = _ms(ttl, "ttl")
        if ttl_ms == 0:
            raise _hookline.InvalidArgument("ttl must be at least 1 ms")
        self._path = None if path is None else os.fspath(path)
        self._ttl = ttl
        self._store = _hookline.SeenStore(
            self._path, ttl_ms, capacity, full == "evict", _ms(busy_timeout, "busy_timeout")
        )

    @property
    def path(self) -> Optional[str]:
        """The SQLite file, or None for the in-memory store."""
        return self._path

    @property
    def ttl(self) -> float:
        """Seconds an id stays seen unless check_and_add is given a ttl."""
        return self._ttl

    @property
    def backend(self) -> str:
        """"memory", "sqlite", or "closed"."""
        return self._store.backend

    def check_and_add(self, id: Id, now: Optional[float] = None, *, ttl: Optional[float] = None) -> bool:
        """Atomically: True when ``id`` was not seen (or had expired) - it is
        now marked until ``now + ttl`` - and False for a duplicate. Always a
        bool; failures raise.

        ``id`` is a str or bytes; ``now`` Unix seconds (default the clock);
        ``ttl`` seconds (default the store's). Raises :class:`StoreFull`
        ("store_full": memory store, ``full="refuse"``), :class:`StoreError`
        ("store_io", "store_busy", ...), :class:`InvalidArgument`
        ("invalid_argument": a closed store, an empty id, a zero ttl).
        """
        ttl_ms = 0 if ttl is None else _ms(ttl, "ttl")
        if ttl is not None and ttl_ms == 0:
            raise _hookline.InvalidArgument("ttl must be at least 1 ms")
        return self._store.check_and_add(id, _now_ms(now), ttl_ms)

    def contains(self, id: Id, now: Optional[float] = None) -> bool:
        """True when ``id`` is marked and not expired at ``now`` (Unix
        seconds, default the clock); does not mark it.

        Raises :class:`StoreError` ("store_io", ...), :class:`InvalidArgument`
        (a closed store).
        """
        return self._store.contains(id, _now_ms(now))

    def __contains__(self, id: object) -> bool:
        """``id in store``: :meth:`contains` at the current time (False for
        anything but str or bytes)."""
        if not isinstance(id, (str, bytes)):
            return False
        return self.contains(id)

    def remove(self, id: Id) -> bool:
        """Forget ``id`` (a failed handler un-marks it so the retry is
        processed). True when it was held.

        Raises :class:`StoreError` ("store_io", ...), :class:`InvalidArgument`
        (a closed store).
        """
        return self._store.remove(id)

    def prune(self, now: Optional[float] = None) -> int:
        """Reclaim every id expired at ``now`` (Unix seconds, default the
        clock); returns how many. (Stores also prune on their own.)

        Raises :class:`StoreError` ("store_io", ...), :class:`InvalidArgument`
        (a closed store).
        """
        return self._store.prune(_now_ms(now))

    def stats(self) -> Dict[str, int]:
        """Counters (a new dict): live, added, duplicates, expired, evicted.

        Raises :class:`InvalidArgument` (a closed store).
        """
        return self._store.stats()

    def close(self) -> None:
        """Close the store and its file now (idempotent). Later calls raise
        :class:`InvalidArgument`. Raises nothing itself.
        """
        self._store.close()

    def __enter__(self) -> "SeenStore":
        """``with SeenStore(...) as store:`` closes the store at the end."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store (see :meth:`close`)."""
        self.close()

    def __repr__(self) -> str:
        return "hookline.SeenStore(%r, backend=%r)" % (self._path, self.backend)
