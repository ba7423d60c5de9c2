"""The app's own records: workspaces, their API keys (hashed), the webhooks
each owns, and custom event types. hookline keeps what delivery needs
(URL, filters, headers, auth, secrets, batches, attempts); this keeps who
owns what, so every lookup is scoped by workspace.

API keys are "hlk_<key id>_<secret>"; only SHA-256 of the whole key is
stored, and a presented key is compared with hmac.compare_digest over the
hashes (a dummy hash when the key id is unknown, so both paths cost the same).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    key_hash TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL, active INTEGER NOT NULL, created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS webhooks_by_workspace ON webhooks(workspace_id, created_at);
CREATE TABLE IF NOT EXISTS event_types (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id), name TEXT NOT NULL,
    description TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (workspace_id, name));
"""

_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Directory:
    """Thread-safe (one connection behind a lock; calls are short)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _q(self, sql: str, args: tuple = ()) -> List[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- workspaces and keys
    def create_workspace(self, name: str) -> Dict[str, str]:
        """A new workspace and its first API key (returned once)."""
        ws = str(uuid.uuid4())
        self._q("INSERT INTO workspaces VALUES (?, ?, ?)", (ws, name, time.time()))
        return {"workspace_id": ws, "api_key": self.create_api_key(ws)}

    def workspace_exists(self, workspace_id: str) -> bool:
        return bool(self._q("SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)))

    def create_api_key(self, workspace_id: str) -> str:
        key_id = secrets.token_hex(8)
        key = "hlk_%s_%s" % (key_id, secrets.token_urlsafe(32))
        self._q("INSERT INTO api_keys VALUES (?, ?, ?, ?)",
                (key_id, workspace_id, _hash_key(key), time.time()))
        return key

    def authenticate(self, key: str) -> Optional[str]:
        """The workspace a presented API key belongs to, or None."""
        parts = key.split("_", 2)
        key_id = parts[1] if len(parts) == 3 and parts[0] == "hlk" else ""
        rows = self._q("SELECT workspace_id, key_hash FROM api_keys WHERE key_id = ?", (key_id,))
        stored = rows[0]["key_hash"] if rows else _DUMMY_HASH
        ok = hmac.compare_digest(_hash_key(key), stored)
        return rows[0]["workspace_id"] if ok and rows else None

    # -- webhooks
    def add_webhook(self, wid: str, workspace_id: str, name: str, active: bool) -> None:
        now = time.time()
        self._q("INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?)",
                (wid, workspace_id, name, int(active), now, now))

    def webhook(self, workspace_id: str, webhook_id: str) -> Optional[Dict[str, Any]]:
        """The webhook if THIS workspace owns it (else None: a 404, whoever owns it)."""
        rows = self._q("SELECT * FROM webhooks WHERE id = ? AND workspace_id = ?",
                       (webhook_id, workspace_id))
        return dict(rows[0]) if rows else None

    def webhooks(self, workspace_id: str) -> List[Dict[str, Any]]:
        return [dict(r) for r in self._q(
            "SELECT * FROM webhooks WHERE workspace_id = ? ORDER BY created_at, id",
            (workspace_id,))]

    def all_webhook_ids(self) -> set:
        return {r["id"] for r in self._q("SELECT id FROM webhooks")}

    def count_webhooks(self, workspace_id: str) -> int:
        return self._q("SELECT count(*) AS n FROM webhooks WHERE workspace_id = ?",
                       (workspace_id,))[0]["n"]

    def update_webhook(self, webhook_id: str, name: str, active: bool) -> None:
        self._q("UPDATE webhooks SET name = ?, active = ?, updated_at = ? WHERE id = ?",
                (name, int(active), time.time(), webhook_id))

    def delete_webhook(self, webhook_id: str) -> None:
        self._q("DELETE FROM webhooks WHERE id = ?", (webhook_id,))

    # -- custom event types
    def event_types(self, workspace_id: str) -> List[Dict[str, Any]]:
        return [dict(r) for r in self._q(
            "SELECT name, description FROM event_types WHERE workspace_id = ? ORDER BY name",
            (workspace_id,))]

    def add_event_type(self, workspace_id: str, name: str, description: str) -> bool:
        """False when the workspace already has it."""
        try:
            self._q("INSERT INTO event_types VALUES (?, ?, ?, ?)",
                    (workspace_id, name, description, time.time()))
        except sqlite3.IntegrityError:
            return False
        return True
