#!/usr/bin/env python3
"""Rewrite the source list of lua/hookline-0.1.0-1.rockspec from the tree:
the Lua glue, the drivers the module compiles in (net, sqlite, curl, worker), and every core source.
(lua/tests/run.sh fails when a core source is missing from the rockspec.)"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEC = ROOT / "lua" / "hookline-0.1.0-1.rockspec"


def main() -> None:
    srcs = (sorted(ROOT.glob("bindings/lua/*.c")) + [ROOT / "drivers/net/resolver_getaddrinfo.c"]
            + sorted(ROOT.glob("drivers/sqlite/*.c")) + sorted(ROOT.glob("drivers/curl/*.c"))
            + sorted(ROOT.glob("drivers/worker/*.c")) + sorted(ROOT.glob("core/src/*.c")))
    lines = "".join('            "../%s",\n' % p.relative_to(ROOT) for p in srcs)
    text = SPEC.read_text()
    new = re.sub(r"(         sources = \{\n)(.*?)(         \},\n)", lambda m: m.group(1) + lines + m.group(3),
                 text, count=1, flags=re.S)
    SPEC.write_text(new)
    print("rockspec lists %d sources" % len(srcs))


if __name__ == "__main__":
    main()
