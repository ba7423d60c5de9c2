"""Settings of the management API, from keyword arguments or the environment.

Defaults are the production ones: https only, public addresses only, port
443. Tests (and a developer's laptop) open exactly what they need with
allow_http / allow_cidrs / allow_ports, as the `hookline` command's
--allow-http / --allow-cidr do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional


def _is_url(store: str) -> bool:
    return "://" in store


@dataclass
class Settings:
    # The hookline store, passed to hookline.Worker as it is: a SQLite file
    # path, or a postgresql:// URL (the shared PostgreSQL store).
    store: str = "hookline-outbox.db"
    # The app's own tables (workspaces, API keys, webhook names, custom event
    # types): a SQLite file. Default: beside a SQLite store, else
    # ./hookline-mgmt.sqlite.
    app_db: Optional[str] = None
    # SSRF policy, used for the registration check and every delivery.
    allow_http: bool = False
    allow_cidrs: List[str] = field(default_factory=list)
    allow_ports: Optional[List[int]] = None
    # Merged into every endpoint's hookline configuration (batching,
    # retries, timeout...); the API's own fields win.
    endpoint_defaults: Dict[str, Any] = field(default_factory=dict)
    # Limits (policy lives here, not in hookline).
    max_webhooks_per_workspace: int = 50
    max_events_per_request: int = 1000
    max_body_bytes: int = 1 << 20
    max_rotation_grace: float = 7 * 86400.0
    default_rotation_grace: float = 86400.0
    # Delivery beside the API: a background thread stepping the Worker.
    run_worker: bool = True
    step_wait: float = 0.1

    def __post_init__(self) -> None:
        if self.app_db is None:
            # beside a SQLite store; in the working directory with a URL store
            self.app_db = "hookline-mgmt.sqlite" if _is_url(self.store) \
                else self.store + ".mgmt.sqlite"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **overrides: Any) -> "Settings":
        """HOOKLINE_STORE, MGMT_APP_DB, MGMT_ALLOW_HTTP=1, MGMT_ALLOW_CIDRS
        (comma-separated), MGMT_ALLOW_PORTS (comma-separated),
        MGMT_ENDPOINT_DEFAULTS (JSON), MGMT_RUN_WORKER=0."""
        kw: Dict[str, Any] = {}
        if env.get("HOOKLINE_STORE"):
            kw["store"] = env["HOOKLINE_STORE"]
        if env.get("MGMT_APP_DB"):
            kw["app_db"] = env["MGMT_APP_DB"]
        if env.get("MGMT_ALLOW_HTTP"):
            kw["allow_http"] = env["MGMT_ALLOW_HTTP"] not in ("0", "false", "no")
        if env.get("MGMT_ALLOW_CIDRS"):
            kw["allow_cidrs"] = [c.strip() for c in env["MGMT_ALLOW_CIDRS"].split(",") if c.strip()]
        if env.get("MGMT_ALLOW_PORTS"):
            kw["allow_ports"] = [int(p) for p in env["MGMT_ALLOW_PORTS"].split(",") if p.strip()]
        if env.get("MGMT_ENDPOINT_DEFAULTS"):
            kw["endpoint_defaults"] = json.loads(env["MGMT_ENDPOINT_DEFAULTS"])
        if env.get("MGMT_RUN_WORKER"):
            kw["run_worker"] = env["MGMT_RUN_WORKER"] not in ("0", "false", "no")
        kw.update(overrides)
        return cls(**kw)

    def url_policy(self) -> Dict[str, Any]:
        """The keyword arguments hookline.check_url and hookline.Worker share."""
        return {"allow_http": self.allow_http, "allow_cidrs": list(self.allow_cidrs),
                "allow_ports": None if self.allow_ports is None else list(self.allow_ports)}
