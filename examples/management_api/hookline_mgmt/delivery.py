"""The app's one hookline.Worker and the thread that delivers with it.

Why in-process: the API needs the Worker anyway (registration's test POST,
validate, secret rotation and the attempt log are Worker calls), and only
one Worker may own a store. Stepping it in a thread of the same process keeps
one owner and no command queue. hookline.Worker serialises calls from
several threads itself (one call at a time; run_once and the test POSTs
release the GIL while they wait on the network), so request handlers and the
delivery thread share it directly. A step waits at most `step_wait` seconds,
which bounds how long a request waits for the Worker - except behind a
registration test POST, which holds the Worker up to the endpoint's timeout.

The alternative - `hookline run` as a separate process and the app handing
events over with hookline.submit_events - needs endpoint changes to go
through the outbox's command queue, which the Python API does not expose.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

import hookline

from .config import Settings

log = logging.getLogger("hookline_mgmt.delivery")


class Delivery:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The store string goes to hookline as it is (a SQLite path, or a
        # postgresql:// URL for the shared PostgreSQL store).
        self.worker = hookline.Worker(settings.store, **settings.url_policy())
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.steps = 0
        self.errors = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="hookline-delivery",
                                            daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        wait = self.settings.step_wait
        while not self._stop.is_set():
            try:
                progress = self.worker.run_once(wait)
            except hookline.Error as e:  # storage trouble: the Worker rebuilds itself
                self.errors += 1
                log.warning("delivery step failed: %s (%s)", e, e.code)
                self._stop.wait(1.0)
                continue
            self.steps += 1
            # Nothing to do: rest, so request threads get the Worker at once.
            # Otherwise a very short pause lets a waiting request thread in
            # (the Worker's lock is not fair).
            self._stop.wait(wait if progress["idle"] else 0.001)

    def close(self, drain_timeout: float = 5.0) -> None:
        """Stop the thread, let attempts in flight finish, close the store."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if not self.worker.closed:
            try:
                self.worker.drain(drain_timeout)
            finally:
                self.worker.close()
