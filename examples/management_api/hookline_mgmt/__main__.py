"""python -m hookline_mgmt serve [--host H] [--port P]
python -m hookline_mgmt create-workspace NAME   -> {"workspace_id", "api_key"} (shown once)
python -m hookline_mgmt create-key WORKSPACE_ID -> another key for it (shown once)

Settings come from the environment (hookline_mgmt.config.Settings.from_env):
HOOKLINE_STORE, MGMT_APP_DB, MGMT_ALLOW_HTTP, MGMT_ALLOW_CIDRS, MGMT_ALLOW_PORTS,
MGMT_ENDPOINT_DEFAULTS, MGMT_RUN_WORKER."""

import argparse
import json
import signal
import sys
import threading

from werkzeug.serving import make_server

from .app import create_app
from .config import Settings
from .directory import Directory


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hookline_mgmt")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the API and deliver webhooks")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    c = sub.add_parser("create-workspace", help="a workspace and its first API key")
    c.add_argument("name")
    k = sub.add_parser("create-key", help="another API key for a workspace")
    k.add_argument("workspace_id")
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    if args.cmd in ("create-workspace", "create-key"):
        d = Directory(settings.app_db)
        try:
            if args.cmd == "create-workspace":
                print(json.dumps(d.create_workspace(args.name)))
            elif not d.workspace_exists(args.workspace_id):
                print("no such workspace", file=sys.stderr)
                return 1
            else:
                print(json.dumps({"workspace_id": args.workspace_id,
                                  "api_key": d.create_api_key(args.workspace_id)}))
        finally:
            d.close()
        return 0
    app = create_app(settings)
    server = make_server(args.host, args.port, app, threaded=True)
    print("PORT %d" % server.server_port, flush=True)
    stop = lambda *_: threading.Thread(target=server.shutdown).start()  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        app.extensions["hookline_mgmt"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
