"""A webhook as the API shows it (Bird/SparkPost fields) and as hookline
stores it (an endpoint configuration document, core/include/hookline/
endpoint_config.h), and the checks between the two.

    API                              hookline endpoint config
    target                           url
    events                           events (filters: types, "prefix.*", "*")
    custom_headers                   custom_headers
    auth_type "basic" +              auth {"type": "basic", "user", "password"}
      auth_credentials {username, password}
    auth_type "oauth2" +             auth {"type": "oauth2", "token_url",
      auth_request_details {url,           "client_id", "client_secret", "scope"}
        body {client_id, client_secret, scope}}
    active                           enable_endpoint / disable_endpoint (and the
                                     app's own routing: inactive ones get nothing)
    name                             the app's directory (hookline has no names)
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .errors import invalid

FIELDS = ("name", "target", "events", "active", "custom_headers", "auth_type",
          "auth_credentials", "auth_request_details")
REQUIRED_ON_CREATE = ("name", "target", "events")
AUTH_TYPES = ("none", "basic", "oauth2")
REDACTED = "<redacted>"
MAX_NAME = 256
MAX_TARGET = 2048
MAX_EVENTS = 100
MAX_HEADERS = 32
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")


def _str(v: Any, field: str, errors: List[dict], max_len: int, empty_ok: bool = False) -> None:
    if not isinstance(v, str):
        errors.append(invalid("invalid_type", "must be a string", field))
    elif (not v and not empty_ok) or len(v) > max_len:
        errors.append(invalid("invalid_value", "must be 1..%d characters" % max_len, field))


def _object(v: Any, field: str, allowed: Tuple[str, ...], errors: List[dict]) -> bool:
    if not isinstance(v, dict):
        errors.append(invalid("invalid_type", "must be an object", field))
        return False
    for k in v:
        if k not in allowed:
            errors.append(invalid("unknown_field", "unknown field (allowed: %s)"
                                  % ", ".join(allowed), "%s.%s" % (field, k)))
    return True


def check_body(body: Mapping[str, Any], *, create: bool,
               event_ok: Callable[[str], bool]) -> List[dict]:
    """Every problem of a create (all of name, target, events) or update
    (any subset) body, each naming its field. `event_ok(filter)` says
    whether an events entry is allowed (catalogue or custom types)."""
    errors: List[dict] = []
    for k in body:
        if k not in FIELDS:
            errors.append(invalid("unknown_field", "unknown field (allowed: %s)"
                                  % ", ".join(FIELDS), k))
    if create:
        for k in REQUIRED_ON_CREATE:
            if k not in body:
                errors.append(invalid("missing_field", "required", k))
    elif not any(k in body for k in FIELDS):
        errors.append(invalid("missing_field", "give at least one of: %s" % ", ".join(FIELDS)))
    if "name" in body:
        _str(body["name"], "name", errors, MAX_NAME)
    if "target" in body:
        _str(body["target"], "target", errors, MAX_TARGET)
    if "events" in body:
        ev = body["events"]
        if not isinstance(ev, list):
            errors.append(invalid("invalid_type", "must be an array of event types", "events"))
        elif not ev or len(ev) > MAX_EVENTS:
            errors.append(invalid("invalid_value", "must list 1..%d event types" % MAX_EVENTS,
                                  "events"))
        else:
            for i, e in enumerate(ev):
                f = "events[%d]" % i
                if not isinstance(e, str):
                    errors.append(invalid("invalid_type", "must be a string", f))
                elif not event_ok(e):
                    errors.append(invalid("unknown_event_type", "%r is neither in the event "
                                          "catalogue nor a custom type of this workspace" % e, f))
    if "active" in body and not isinstance(body["active"], bool):
        errors.append(invalid("invalid_type", "must be true or false", "active"))
    if "custom_headers" in body:
        h = body["custom_headers"]
        if not isinstance(h, dict):
            errors.append(invalid("invalid_type", "must be an object", "custom_headers"))
        elif len(h) > MAX_HEADERS:
            errors.append(invalid("invalid_value", "at most %d headers" % MAX_HEADERS,
                                  "custom_headers"))
        else:
            for k, v in h.items():
                f = "custom_headers.%s" % k
                if not HEADER_NAME.match(k):
                    errors.append(invalid("invalid_value", "not a header name", f))
                _str(v, f, errors, 1024, empty_ok=True)
    if "auth_type" in body and body["auth_type"] not in AUTH_TYPES:
        errors.append(invalid("invalid_value", "must be one of: %s" % ", ".join(AUTH_TYPES),
                              "auth_type"))
    if "auth_credentials" in body:
        c = body["auth_credentials"]
        if _object(c, "auth_credentials", ("username", "password"), errors):
            for k in ("username", "password"):
                if k in c:
                    _str(c[k], "auth_credentials." + k, errors, 1024)
    if "auth_request_details" in body:
        d = body["auth_request_details"]
        if _object(d, "auth_request_details", ("url", "body"), errors):
            if "url" in d:
                _str(d["url"], "auth_request_details.url", errors, MAX_TARGET)
            if "body" in d and _object(d["body"], "auth_request_details.body",
                                       ("client_id", "client_secret", "scope"), errors):
                for k, v in d["body"].items():
                    if k in ("client_id", "client_secret", "scope"):
                        _str(v, "auth_request_details.body." + k, errors, 1024)
    return errors


def hookline_auth(body: Mapping[str, Any], current: Mapping[str, Any]) -> Tuple[dict, List[dict]]:
    """The hookline "auth" object for the body, starting from the current
    one (unredacted; {"type": "none"} on create): a PUT may change only the
    password, or only the type when the credentials come with it."""
    kind = body.get("auth_type", current.get("type", "none"))
    errors: List[dict] = []
    if kind == "none":
        return {"type": "none"}, errors
    if kind == "basic":
        cur = current if current.get("type") == "basic" else {}
        creds = dict(body.get("auth_credentials") or {})
        user = creds.get("username", cur.get("user"))
        password = creds.get("password", cur.get("password"))
        for name, v in (("username", user), ("password", password)):
            if not v:
                errors.append(invalid("missing_field", "auth_type basic needs it",
                                      "auth_credentials." + name))
        return {"type": "basic", "user": user, "password": password}, errors
    cur = current if current.get("type") == "oauth2" else {}
    details = dict(body.get("auth_request_details") or {})
    form = dict(details.get("body") or {})
    auth = {"type": "oauth2",
            "token_url": details.get("url", cur.get("token_url")),
            "client_id": form.get("client_id", cur.get("client_id")),
            "client_secret": form.get("client_secret", cur.get("client_secret"))}
    scope = form.get("scope", cur.get("scope"))
    if scope:
        auth["scope"] = scope
    for field, key in (("auth_request_details.url", "token_url"),
                       ("auth_request_details.body.client_id", "client_id"),
                       ("auth_request_details.body.client_secret", "client_secret")):
        if not auth[key]:
            errors.append(invalid("missing_field", "auth_type oauth2 needs it", field))
    return auth, errors


def field_of_hookline_error(message: str) -> Optional[str]:
    """Which API field a hookline configuration error is about (its message
    names hookline's field)."""
    m = message.lower()
    if "header" in m:
        return "custom_headers"
    if "auth" in m or "oauth" in m or "token" in m:
        return "auth_type"
    if "filter" in m or "events" in m:
        return "events"
    if "url" in m:
        return "target"
    return None


def render(workspace_id: str, row: Mapping[str, Any], cfg: Mapping[str, Any],
           last: Mapping[str, Optional[str]]) -> Dict[str, Any]:
    """The API view of a webhook from its directory row and its REDACTED
    hookline configuration (credentials and header values stay hidden)."""
    auth = cfg.get("auth") or {"type": "none"}
    creds: Dict[str, Any] = {}
    details: Dict[str, Any] = {}
    if auth["type"] == "basic":
        creds = {"username": auth.get("user"), "password": REDACTED}
    elif auth["type"] == "oauth2":
        form = {"client_id": auth.get("client_id"), "client_secret": REDACTED}
        if auth.get("scope"):
            form["scope"] = auth["scope"]
        details = {"url": auth.get("token_url"), "body": form}
    return {
        "id": row["id"],
        "name": row["name"],
        "target": cfg["url"],
        "events": list(cfg.get("events") or []),
        "active": bool(row["active"]),
        "custom_headers": {k: REDACTED for k in (cfg.get("custom_headers") or {})},
        "auth_type": auth["type"],
        "auth_credentials": creds,
        "auth_request_details": details,
        "last_successful": last.get("last_successful"),
        "last_failure": last.get("last_failure"),
        "links": links(workspace_id, row["id"]),
    }


def links(workspace_id: str, webhook_id: str) -> List[Dict[str, Any]]:
    base = "/api/workspaces/%s/webhooks/%s" % (workspace_id, webhook_id)
    return [
        {"href": base, "rel": "urn.hookline.webhooks.webhook", "method": ["GET", "PUT", "DELETE"]},
        {"href": base + "/validate", "rel": "urn.hookline.webhooks.validate", "method": ["POST"]},
        {"href": base + "/batch-status", "rel": "urn.hookline.webhooks.batch_status",
         "method": ["GET"]},
        {"href": base + "/rotate-secret", "rel": "urn.hookline.webhooks.rotate_secret",
         "method": ["POST"]},
    ]
