"""The Flask application: routes, tenancy, limits and the catalogue check,
all over hookline's Python API (hookline.Worker, hookline.check_url,
hookline.event_types, hookline.event_filter_match)."""

from __future__ import annotations

import datetime
import logging
import re
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import hookline
from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import webhooks
from .config import Settings
from .delivery import Delivery
from .directory import Directory
from .errors import ApiError, invalid, not_found, parse_json_object

log = logging.getLogger("hookline_mgmt")

WS = "/api/workspaces/<workspace_id>"
HOOK = WS + "/webhooks/<webhook_id>"
DAY = 86400.0
BATCH_STATUS_DEFAULT = 1000
BATCH_STATUS_MAX = 10000
NAME_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # hookline's event type/id alphabet
EVENT_FIELDS = ("type", "data", "id")


def iso(t: Optional[float]) -> Optional[str]:
    if t is None:
        return None
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _merge(base: Dict[str, Any], over: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class State:
    """What the app owns: settings, the directory, the Worker and its thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = Directory(settings.app_db)
        self.delivery = Delivery(settings)
        self.worker = self.delivery.worker
        # Held across "hookline change + directory change" pairs (create,
        # update, delete) and event routing, so they never interleave.
        self.admin_lock = threading.Lock()
        self._check_consistency()
        if settings.run_worker:
            self.delivery.start()

    def close(self) -> None:
        self.delivery.close()
        self.directory.close()

    def _check_consistency(self) -> None:
        """The two stores are written one after the other: say so when a
        crash left an endpoint without its webhook row or the reverse (an
        operator decides; nothing is deleted here)."""
        rows = self.directory.all_webhook_ids()
        endpoints = {e["id"] for e in self.worker.endpoints()}
        for eid in sorted(endpoints - rows):
            log.warning("hookline endpoint %s has no webhook row (remove it with "
                        "`hookline endpoint remove`)", eid)
        for wid in sorted(rows - endpoints):
            log.warning("webhook %s has no hookline endpoint (delete it through the API)", wid)

    # -- policy helpers
    def known_types(self, ws: str) -> set:
        return set(hookline.event_types()) | {t["name"] for t in self.directory.event_types(ws)}

    def filter_ok(self, ws: str, pattern: str) -> bool:
        """An events entry: a known type, "*", or "prefix.*" covering one."""
        known = self.known_types(ws)
        if pattern == "*":
            return True
        if pattern.endswith(".*") and NAME_RE.match(pattern[:-2]):
            return any(hookline.event_filter_match(pattern, t) for t in known)
        return pattern in known

    def check_url(self, url: str, field: str) -> str:
        try:
            return hookline.check_url(url, **self.settings.url_policy())
        except hookline.URLRejected as e:
            raise ApiError(400, e.code, str(e), field) from None

    def last_outcomes(self, webhook_id: str) -> Dict[str, Optional[str]]:
        out: Dict[str, Optional[str]] = {"last_successful": None, "last_failure": None}
        for a in self.worker.attempts(endpoint=webhook_id, since=time.time() - DAY, limit=500,
                                      newest_first=True):
            key = "last_successful" if a["delivered"] else "last_failure"
            if out[key] is None:
                out[key] = iso(a["at"])
        return out

    def view(self, ws: str, row: Dict[str, Any]) -> Dict[str, Any]:
        return webhooks.render(ws, row, self.worker.endpoint(row["id"]),
                               self.last_outcomes(row["id"]))


def _hookline_error(e: hookline.Error) -> ApiError:
    """A refusal of hookline's while saving an endpoint, as a 400."""
    if isinstance(e, hookline.URLRejected):
        return ApiError(400, e.code, str(e), "target")
    if isinstance(e, hookline.EndpointTestFailed):
        r = getattr(e, "response", None) or {}
        status = r.get("status") or 0
        if status:
            msg = ("the target answered HTTP %d to the test POST; it must answer 2xx "
                   "(nothing was saved)" % status)
        else:
            msg = ("the test POST to the target failed (%s): %s (nothing was saved)"
                   % (r.get("failure_class") or "error", r.get("message") or str(e)))
        body = (r.get("body_excerpt") or b"").decode("utf-8", "replace")
        return ApiError(400, e.code, msg, "target",
                        response={"status": status, "failure": r.get("failure_class"),
                                  "headers": {k.lower(): v for k, v in r.get("headers", ())},
                                  "body": body})
    if isinstance(e, (hookline.ConfigError, hookline.InvalidArgument, hookline.TransportError)):
        return ApiError(400, e.code, str(e), webhooks.field_of_hookline_error(str(e)))
    raise e


def create_app(settings: Optional[Settings] = None, **overrides: Any) -> Flask:
    """The WSGI app. `settings` (or Settings.from_env(**overrides)). Call
    app.extensions["hookline_mgmt"].close() to stop delivery and close the
    stores."""
    settings = settings or Settings.from_env(**overrides)
    app = Flask("hookline_mgmt", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    state = State(settings)
    app.extensions["hookline_mgmt"] = state
    directory, worker = state.directory, state.worker

    # ------------------------------------------------------------ errors
    @app.errorhandler(ApiError)
    def api_error(e: ApiError):
        resp = jsonify(e.body())
        resp.status_code = e.status
        if e.status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="hookline"'
        return resp

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed",
                413: "payload_too_large"}.get(e.code or 500, "http_%s" % e.code)
        resp = jsonify({"errors": [{"message": e.description, "code": code}]})
        resp.status_code = e.code or 500
        return resp

    @app.errorhandler(hookline.StoreError)
    def store_error(e: hookline.StoreError):
        # the disk is full, the database is away...: try again later
        log.error("store: %s (%s)", e, e.code)
        resp = jsonify({"errors": [{"message": "the store is unavailable, try again later",
                                    "code": e.code}]})
        resp.status_code = 503
        resp.headers["Retry-After"] = "30"
        return resp

    @app.errorhandler(Exception)
    def internal_error(e: Exception):
        log.exception("unhandled error")
        resp = jsonify({"errors": [{"message": "internal error", "code": "internal_error"}]})
        resp.status_code = 500
        return resp

    # -------------------------------------------------------------- auth
    @app.before_request
    def authenticate():
        if not request.path.startswith("/api/"):
            return None
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        ws = directory.authenticate(key) if scheme.lower() == "bearer" and key else None
        if ws is None:
            raise ApiError(401, "unauthorized",
                           "a valid API key is required: Authorization: Bearer <key>")
        # Another workspace's URL: 404, exactly as for one that does not exist.
        if (request.view_args or {}).get("workspace_id", ws) != ws:
            raise not_found()
        g.workspace_id = ws
        return None

    def raw_body() -> bytes:
        limit = settings.max_body_bytes
        too_large = ApiError(413, "payload_too_large", "the body is larger than %d bytes" % limit)
        if (request.content_length or 0) > limit:
            raise too_large
        data = request.stream.read(limit + 1)  # also bounds a body without Content-Length
        if len(data) > limit:
            raise too_large
        return data

    def body_json() -> Dict[str, Any]:
        return parse_json_object(raw_body())

    def owned(webhook_id: str) -> Dict[str, Any]:
        row = directory.webhook(g.workspace_id, webhook_id)
        if row is None:
            raise not_found()
        return row

    # ---------------------------------------------------------- webhooks
    @app.get(WS + "/webhooks")
    def list_webhooks(workspace_id: str):
        return {"results": [state.view(workspace_id, r)
                            for r in directory.webhooks(workspace_id)]}

    @app.post(WS + "/webhooks")
    def create_webhook(workspace_id: str):
        body = body_json()
        errors = webhooks.check_body(body, create=True,
                                     event_ok=lambda p: state.filter_ok(workspace_id, p))
        auth, auth_errors = webhooks.hookline_auth(body, {"type": "none"}) if not errors \
            else ({}, [])
        if errors or auth_errors:
            raise ApiError.many(400, errors + auth_errors)
        target = state.check_url(body["target"], "target")
        if auth["type"] == "oauth2":
            auth["token_url"] = state.check_url(auth["token_url"], "auth_request_details.url")
        active = body.get("active", True)
        config = _merge(settings.endpoint_defaults, {
            "url": target, "events": body["events"], "active": active,
            "custom_headers": body.get("custom_headers", {}), "auth": auth})
        wid = str(uuid.uuid4())
        with state.admin_lock:
            if directory.count_webhooks(workspace_id) >= settings.max_webhooks_per_workspace:
                raise ApiError(400, "limit_exceeded", "at most %d webhooks per workspace"
                               % settings.max_webhooks_per_workspace)
            try:  # SSRF check with resolution, then the test POST: 2xx or nothing saved
                stored = worker.add_endpoint(wid, config, test=True)
            except hookline.Error as e:
                raise _hookline_error(e) from None
            try:
                directory.add_webhook(wid, workspace_id, body["name"], active)
            except Exception:
                worker.remove_endpoint(wid)
                raise
        return {"results": {"id": wid,
                            # shown once: hookline keeps it, the API never shows it again
                            "secret": stored["secrets"][0]["secret"],
                            "links": webhooks.links(workspace_id, wid)}}

    @app.get(HOOK)
    def get_webhook(workspace_id: str, webhook_id: str):
        return {"results": state.view(workspace_id, owned(webhook_id))}

    @app.put(HOOK)
    def update_webhook(workspace_id: str, webhook_id: str):
        row = owned(webhook_id)
        body = body_json()
        errors = webhooks.check_body(body, create=False,
                                     event_ok=lambda p: state.filter_ok(workspace_id, p))
        if errors:
            raise ApiError.many(400, errors)
        with state.admin_lock:
            if directory.webhook(workspace_id, webhook_id) is None:  # deleted meanwhile
                raise not_found()
            current = worker.endpoint(webhook_id, reveal=True)
            config = {k: v for k, v in current.items() if k not in ("id", "info", "secrets")}
            changed = False
            target_changed = False
            if "target" in body:
                target = state.check_url(body["target"], "target")
                target_changed = target != current["url"]
                config["url"] = target
                changed |= target_changed
            if "events" in body:
                config["events"] = body["events"]
                changed = True
            if "custom_headers" in body:
                config["custom_headers"] = body["custom_headers"]
                changed = True
            if any(k in body for k in ("auth_type", "auth_credentials", "auth_request_details")):
                auth, auth_errors = webhooks.hookline_auth(body, current.get("auth") or {})
                if auth_errors:
                    raise ApiError.many(400, auth_errors)
                if auth["type"] == "oauth2":
                    auth["token_url"] = state.check_url(auth["token_url"],
                                                        "auth_request_details.url")
                config["auth"] = auth
                changed = True
            if changed:  # a new target is tested again (2xx or nothing changes)
                try:
                    worker.update_endpoint(webhook_id, config, test=target_changed)
                except hookline.Error as e:
                    raise _hookline_error(e) from None
            active = body.get("active", bool(row["active"]))
            if active != bool(row["active"]):
                (worker.enable_endpoint if active else worker.disable_endpoint)(webhook_id)
            directory.update_webhook(webhook_id, body.get("name", row["name"]), active)
            row = owned(webhook_id)
        return {"results": state.view(workspace_id, row)}

    @app.delete(HOOK)
    def delete_webhook(workspace_id: str, webhook_id: str):
        owned(webhook_id)
        with state.admin_lock:
            directory.delete_webhook(webhook_id)
            try:  # undelivered batches go to hookline's dead-letter queue
                worker.remove_endpoint(webhook_id)
            except hookline.EndpointError:
                pass
        return Response(status=204)

    @app.post(HOOK + "/validate")
    def validate_webhook(workspace_id: str, webhook_id: str):
        owned(webhook_id)
        try:
            t = worker.test_endpoint(webhook_id)
        except hookline.Error as e:
            raise ApiError(400, e.code, str(e)) from None
        headers: Dict[str, str] = {}
        for name, value in t.headers:  # a repeated header: its values joined, as HTTP allows
            key = name.lower()
            headers[key] = headers[key] + ", " + value if key in headers else value
        if t.ok:
            msg = "Test POST to the target succeeded (HTTP %d)" % t.status
        elif t.status:
            msg = "Test POST to the target failed: it answered HTTP %d, not 2xx" % t.status
        else:
            msg = "Test POST to the target failed (%s): %s" % (t.failure_class, t.message)
        return {"results": {"msg": msg, "response": {
            "status": t.status, "headers": headers,
            "body": t.body_excerpt.decode("utf-8", "replace")}}}

    @app.get(HOOK + "/batch-status")
    def batch_status(workspace_id: str, webhook_id: str):
        owned(webhook_id)
        raw = request.args.get("limit", str(BATCH_STATUS_DEFAULT))
        if not raw.isdigit() or not 1 <= int(raw) <= BATCH_STATUS_MAX:
            raise ApiError(400, "invalid_value", "limit must be an integer in 1..%d"
                           % BATCH_STATUS_MAX, "limit")
        unknown = [k for k in request.args if k != "limit"]
        if unknown:
            raise ApiError(400, "unknown_field", "unknown query parameter", unknown[0])
        records = worker.attempts(endpoint=webhook_id, since=time.time() - DAY,
                                  limit=int(raw), newest_first=True)
        return {"results": [{
            "batch_id": a["batch_id"],
            "ts": iso(a["at"]),
            "attempts": a["attempt"],
            "response_code": str(a["status"]) if a["status"] else None,
            "failure_code": None if a["delivered"] else a["failure_class"],
            "latency": int(round(a["latency"] * 1000)),  # milliseconds
        } for a in records]}

    @app.post(HOOK + "/rotate-secret")
    def rotate_secret(workspace_id: str, webhook_id: str):
        owned(webhook_id)
        raw = raw_body()
        body = parse_json_object(raw) if raw.strip() else {}
        errors = [invalid("unknown_field", "unknown field (allowed: grace_seconds)", k)
                  for k in body if k != "grace_seconds"]
        grace = body.get("grace_seconds", settings.default_rotation_grace)
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or \
                not 0 <= grace <= settings.max_rotation_grace:
            errors.append(invalid("invalid_value", "a number of seconds in 0..%d"
                                  % settings.max_rotation_grace, "grace_seconds"))
        if errors:
            raise ApiError.many(400, errors)
        secret = worker.rotate_secret(webhook_id, grace=float(grace))
        return {"results": {"secret": secret,
                            "previous_secrets_valid_until": iso(time.time() + grace)}}

    # ------------------------------------------------------------ events
    @app.get(WS + "/event-types")
    def list_event_types(workspace_id: str):
        out = [{"name": t, "custom": False} for t in hookline.event_types()]
        out += [{"name": t["name"], "description": t["description"], "custom": True}
                for t in directory.event_types(workspace_id)]
        return {"results": out}

    @app.post(WS + "/event-types")
    def add_event_type(workspace_id: str):
        body = body_json()
        errors = [invalid("unknown_field", "unknown field (allowed: name, description)", k)
                  for k in body if k not in ("name", "description")]
        name = body.get("name")
        if "name" not in body:
            errors.append(invalid("missing_field", "required", "name"))
        elif not isinstance(name, str) or not NAME_RE.match(name) or "*" in name:
            errors.append(invalid("invalid_value", "1..128 characters of [A-Za-z0-9._:-]", "name"))
        desc = body.get("description", "")
        if not isinstance(desc, str) or len(desc) > 1024:
            errors.append(invalid("invalid_value", "a string of at most 1024 characters",
                                  "description"))
        if errors:
            raise ApiError.many(400, errors)
        if name in hookline.event_types() or not directory.add_event_type(workspace_id, name,
                                                                          desc):
            raise ApiError(409, "already_exists", "the event type exists already", "name")
        return {"results": {"name": name, "description": desc, "custom": True}}, 201

    @app.post(WS + "/events")
    def send_events(workspace_id: str):
        body = body_json()
        errors = [invalid("unknown_field", "unknown field (allowed: events)", k)
                  for k in body if k != "events"]
        events = body.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= settings.max_events_per_request:
            errors.append(invalid("invalid_value", "an array of 1..%d events"
                                  % settings.max_events_per_request, "events"))
            events = []
        known = state.known_types(workspace_id)
        for i, e in enumerate(events):
            f = "events[%d]" % i
            if not isinstance(e, dict):
                errors.append(invalid("invalid_type", "must be an object", f))
                continue
            errors += [invalid("unknown_field", "unknown field (allowed: type, data, id)",
                               "%s.%s" % (f, k)) for k in e if k not in EVENT_FIELDS]
            if "type" not in e:
                errors.append(invalid("missing_field", "required", f + ".type"))
            elif not isinstance(e["type"], str) or e["type"] not in known:
                errors.append(invalid("unknown_event_type", "neither in the event catalogue "
                                      "nor a custom type of this workspace", f + ".type"))
            if "id" in e and (not isinstance(e["id"], str) or not NAME_RE.match(e["id"])):
                errors.append(invalid("invalid_value", "1..128 characters of [A-Za-z0-9._:-]",
                                      f + ".id"))
        if errors:
            raise ApiError.many(400, errors)
        results: List[Dict[str, Any]] = []
        with state.admin_lock:
            # Routing is the app's: only this workspace's active webhooks
            # whose filters match; hookline then delivers to exactly those.
            hooks = [(r["id"], worker.endpoint(r["id"])["events"])
                     for r in directory.webhooks(workspace_id) if r["active"]]
            items = []
            for e in events:
                eid = e.get("id") or "evt_" + uuid.uuid4().hex
                targets = [hid for hid, filters in hooks
                           if any(hookline.event_filter_match(p, e["type"]) for p in filters)]
                for hid in targets:
                    items.append({"type": e["type"], "data": e.get("data"), "id": eid,
                                  "endpoint": hid})
                results.append({"id": eid, "type": e["type"], "webhooks": len(targets)})
            if items:
                try:
                    worker.enqueue_many(items)
                except hookline.EventError as ex:
                    raise ApiError(400, ex.code, str(ex), "events") from None
        return {"results": {"events": results}}, 202

    return app


def routes(app: Flask) -> List[tuple]:
    """(METHOD, OpenAPI path) of every route the app serves."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for m in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((m, path))
    return sorted(out)
