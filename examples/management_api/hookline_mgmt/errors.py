"""One error body for every failure, in the style of the Bird/SparkPost API:

    {"errors": [{"message": "...", "code": "unknown_field", "field": "colour"}]}

`code` is stable (hookline's own codes pass through: "address_denied",
"endpoint_test_failed", ...); `field` names the offending body field or
query parameter (dotted for nested ones) and is absent when none applies.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: Optional[str] = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.errors: List[Dict[str, Any]] = [_entry(code, message, field, extra)]

    @classmethod
    def many(cls, status: int, errors: List[Dict[str, Any]]) -> "ApiError":
        e = cls(status, errors[0]["code"], errors[0]["message"], errors[0].get("field"))
        e.errors = errors
        return e

    def body(self) -> Dict[str, Any]:
        return {"errors": self.errors}


def _entry(code: str, message: str, field: Optional[str], extra: Dict[str, Any]) -> Dict[str, Any]:
    e: Dict[str, Any] = {"message": message, "code": code}
    if field is not None:
        e["field"] = field
    e.update(extra)
    return e


def invalid(code: str, message: str, field: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    """One entry of a 400 answer (collect several, raise ApiError.many)."""
    return _entry(code, message, field, extra)


def not_found() -> ApiError:
    # The same answer whether the thing does not exist or belongs to another
    # workspace: ids must not leak across tenants.
    return ApiError(404, "not_found", "no such resource")


def parse_json_object(raw: bytes) -> Dict[str, Any]:
    """The request body as a JSON object; malformed JSON, a repeated key or
    a non-object answer 400."""

    def no_repeats(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ApiError(400, "invalid_json", "the key %r appears twice" % k, field=k)
            d[k] = v
        return d

    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=no_repeats)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise ApiError(400, "invalid_json", "malformed JSON: %s at line %d column %d"
                       % (e.msg, e.lineno, e.colno)) from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "the body must be a JSON object")
    return value
