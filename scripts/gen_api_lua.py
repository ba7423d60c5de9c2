#!/usr/bin/env python3
"""Generate docs/api/lua.md, the Lua API reference, from doc comments.

Lua cannot introspect documentation, so the sources carry it, next to the
code it describes (LDoc's markers, a simpler grammar):

  C binding (bindings/lua/*.c)          Lua (lua/lib/resty/**/*.lua)
    /*** engine:flush(endpoint)           --- resty.hookline.new(opts)
     * Text (Markdown) ...                -- Text (Markdown) ...
     */                                   function _M.new(opts)

The first line of a block is either a signature -- `module.fn(args)` for a
module function, `class:method(args)` for a method of a userdata/table
class, optionally followed by ` -> returns` -- or `@area <module>: <title>`,
which opens a section (its remaining lines are the section's overview).
Entries are rendered in source order within the files listed in FILES.
Lines indented by two or more spaces are kept as a preformatted block.

`--check` fails when the committed page is out of date (ctest
docs_api_lua_current). lua/tests/test_api_docs.lua and
lua/tests/resty/test_api_docs.lua compare the entries of the page with the
functions the real modules export, both ways.

Usage: gen_api_lua.py [--check]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api" / "lua.md"
FILES = [
    "bindings/lua/hookline_lua.c",
    "bindings/lua/signature_lua.c",
    "bindings/lua/ssrf_lua.c",
    "bindings/lua/dedupe_lua.c",
    "bindings/lua/engine_lua.c",
    "bindings/lua/worker_lua.c",
    "lua/lib/resty/hookline.lua",
    "lua/lib/resty/hookline/guard.lua",
]

C_BLOCK = re.compile(r"/\*\*\*(.*?)\*/", re.S)
SIGNATURE = re.compile(r"^([A-Za-z_][\w.]*(?::[A-Za-z_]\w*)?)\s*\(")


def c_blocks(text: str):
    for m in C_BLOCK.finditer(text):
        lines = []
        for line in m.group(1).splitlines():
            lines.append(re.sub(r"^\s*\* ?", "", line.rstrip()))
        yield lines


def lua_blocks(text: str):
    block = None
    for line in text.splitlines():
        if line.startswith("---") and not line.startswith("----"):
            if block is not None:
                yield block
            block = [line[3:].strip()]
        elif block is not None and line.startswith("--"):
            block.append(re.sub(r"^-- ?", "", line.rstrip()))
        else:
            if block is not None:
                yield block
            block = None
    if block is not None:
        yield block


def entries():
    """(kind, head, body lines, source) for every doc block; kind is
    'area' or 'entry'. Raises ValueError on a malformed block."""
    out = []
    for rel in FILES:
        text = (ROOT / rel).read_text()
        blocks = c_blocks(text) if rel.endswith(".c") else lua_blocks(text)
        for lines in blocks:
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            if not lines:
                raise ValueError("%s: empty doc block" % rel)
            head, body = lines[0].strip(), lines[1:]
            if head.startswith("@area "):
                out.append(("area", head[len("@area "):].strip(), body, rel))
                continue
            # a signature may continue on lines starting with "->" or ","
            while body and body[0].strip().startswith(("->", ",")):
                head += " " + body.pop(0).strip()
            if not SIGNATURE.match(head):
                raise ValueError("%s: doc block does not start with a signature: %r" % (rel, head))
            if not any(line.strip() for line in body):
                raise ValueError("%s: %s has no description" % (rel, head))
            out.append(("entry", head, body, rel))
    return out


def name_of(head: str) -> str:
    return SIGNATURE.match(head).group(1)


def markdown(body):
    """Body lines to Markdown: runs indented by 2+ spaces become a
    preformatted block, the rest is kept as written."""
    out, pre = [], []

    def flush():
        while pre and not pre[-1].strip():
            pre.pop()
        if pre:
            width = min(len(l) - len(l.lstrip()) for l in pre if l.strip())
            if out and out[-1].strip():
                out.append("")
            out.extend(["```text"] + [l[width:] for l in pre] + ["```", ""])
            pre.clear()

    for line in body:
        if line.startswith("  ") and line.strip():
            pre.append(line)
        elif not line.strip() and pre:
            pre.append("")
        else:
            flush()
            if line.strip() or (out and out[-1].strip()):
                out.append(line)
    while pre and not pre[-1].strip():
        pre.pop()
    flush()
    while out and not out[-1].strip():
        out.pop()
    return out


def anchor(text: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped, spaces to -."""
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).replace(" ", "-")


def render() -> str:
    items = entries()
    out = ["# Lua API reference", "",
           "Generated by `scripts/gen_api_lua.py` from the `/***` doc comments of",
           "bindings/lua/*.c and the `---` doc comments of lua/lib/resty (ctest",
           "`docs_api_lua_current` checks the page is current; lua/tests/test_api_docs.lua",
           "checks that every function the modules export is documented here, and that",
           "everything documented here exists, under Lua 5.4 and LuaJIT).", "",
           "Two faces:", "",
           "- `require \"hookline\"` — the C-API module, for Lua 5.4 and LuaJIT (built",
           "  once per runtime). Objects are userdata with a named metatable",
           "  (`hookline.verifier`, ...); `:close()`, `__close` and `__gc` share one",
           "  idempotent cleanup, so `obj:close()` twice is harmless and a closed object",
           "  answers `nil, message, \"invalid_argument\"`.",
           "- `require \"resty.hookline\"` and `require \"resty.hookline.guard\"` — pure",
           "  Lua over `libhookline.so` through LuaJIT's FFI, for OpenResty (FFI calls",
           "  are JIT-compiled; nothing blocks an nginx worker). lua-resty conventions:",
           "  `_VERSION`, `new(opts)`, methods with `:`.", "",
           "Error convention (both faces): a failing call returns `nil, message, code`,",
           "where `code` is the core's stable lowercase error name (`\"signature_mismatch\"`,",
           "`\"timestamp_too_old\"`, `\"invalid_argument\"`, ... — the names listed in",
           "[c.md](c.md) under `hl_code`, the same strings Python's `.code` carries).",
           "Wrong argument types are reported the same way (`\"invalid_argument\"`),",
           "except that the worker's functions and methods and `hookline.event_filter_match`",
           "raise a Lua error for an id, path or pattern that is not a string. Times are Unix seconds (fractions allowed) and durations",
           "seconds, everywhere.", "",
           "## Contents", ""]
    for kind, head, _, _ in items:
        if kind == "area":
            out.append("- [%s](#%s)" % (head, anchor(head)))
    out.append("")
    for kind, head, body, rel in items:
        if kind == "area":
            out += ["## %s" % head, "", "Source: `%s`" % rel, ""]
            text = markdown(body)
            if text:
                out += text + [""]
        else:
            out += ["### `%s`" % head, ""] + markdown(body) + [""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    try:
        page = render()
    except ValueError as e:
        print("gen_api_lua.py: %s" % e)
        return 1
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != page:
            print("docs/api/lua.md is out of date: run scripts/gen_api_lua.py")
            return 1
        print("docs/api/lua.md is current (%d lines)" % page.count("\n"))
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(page)
    print("wrote %s (%d lines)" % (OUT.relative_to(ROOT), page.count("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
