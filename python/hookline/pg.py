"""Transactional enqueue into the PostgreSQL outbox (docs/postgres.md).

The application inserts its events in the SAME transaction as its own
data, on its own psycopg 3 connection: the event exists exactly when the
business change committed, and any `hookline run --store postgresql://...`
worker routes, batches, signs and delivers it.

    with conn.transaction():
        conn.execute("UPDATE orders SET state = 'sent' WHERE id = %s", (order_id,))
        hookline.pg.enqueue(conn, "email.outbound.sent", {"order": order_id})

Nothing here commits, rolls back or opens a connection: the caller's
transaction decides. The schema comes from `hookline migrate --store URL`.
"""
import json
from typing import Any, Optional, Tuple

from . import _hookline

__all__ = ["enqueue", "migrate"]


def migrate(url: str) -> Tuple[int, int]:
    """Create or upgrade the schema `hookline` at `url` (idempotent; what
    `hookline migrate --store URL` does). Returns (from_version, to_version)."""
    return _hookline.pg_migrate(url)

_SQL = "SELECT hookline.enqueue(%s, %s, %s, %s, %s)"


def enqueue(conn: Any, type: str, data: Any = None, *, id: Optional[str] = None,
            ordering_key: Optional[str] = None, endpoint: Optional[str] = None) -> int:
    """Insert one event into hookline.events inside the caller's current
    transaction (psycopg 3 connection or cursor). `data` is any JSON-able
    value (a str is taken as JSON text already). `id` None: the worker
    generates one ("evt_..."). `endpoint` None: routed to every endpoint
    whose filter matches `type`; else to that endpoint only. Returns the
    row's sequence number. The event is checked when a worker routes it
    (a bad type or id lands in hookline.rejected with the reason)."""
    if not isinstance(type, str) or not type:
        raise ValueError("event type must be a non-empty string")
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"),
                                                          ensure_ascii=False)
    row = conn.execute(_SQL, (type, text, id, ordering_key, endpoint)).fetchone()
    return int(row[0])
