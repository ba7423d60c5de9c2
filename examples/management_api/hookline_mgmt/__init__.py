"""The webhook management API (Bird/SparkPost shape) on hookline: see
examples/management_api/README.md and docs/management-api.md."""

from .app import create_app, routes
from .config import Settings
from .directory import Directory

__all__ = ["create_app", "routes", "Settings", "Directory"]
