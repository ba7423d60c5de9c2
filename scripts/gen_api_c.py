#!/usr/bin/env python3
"""Generate docs/api/c.md, the C API reference, from the public headers.

The headers are the source of truth (every function is documented there);
this renders them as one browsable page: each header's overview, then each
documented declaration with its comment. `--check` fails when the committed
page is out of date (ctest runs it), so the reference cannot drift.

Usage: gen_api_c.py [--check]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api" / "c.md"
HEADERS = sorted((ROOT / "core" / "include" / "hookline").glob("*.h")) + sorted(
    (ROOT / "drivers").glob("*/include/hookline/*.h"))

COMMENT = re.compile(r"/\*(.*?)\*/", re.S)


def clean(comment: str) -> str:
    lines = []
    for line in comment.strip("\n").splitlines():
        line = re.sub(r"^\s*\* ?", "", line.rstrip())
        lines.append(line)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) == 1:
        lines[0] = lines[0].strip()
    return "\n".join(lines)


def declarations(text: str):
    """(comment, declaration) pairs: a block comment followed by code up to
    the end of the declaration (';' at depth 0, or a #define line)."""
    pos = 0
    for m in COMMENT.finditer(text):
        if m.start() < pos:
            continue
        rest = text[m.end():]
        stripped = rest.lstrip("\n")
        if not stripped or stripped.startswith(("/*", "#ifndef", "#endif", "#ifdef", "#include",
                                                 "#if ", "#else", "}", "\n")):
            continue
        if stripped.startswith("extern") or stripped.startswith("#define HOOKLINE_"):
            continue
        if stripped.startswith("#define"):
            decl, consumed = [], 0
            for line in stripped.splitlines(keepends=True):
                decl.append(line)
                consumed += len(line)
                if not line.rstrip().endswith("\\"):
                    break
            # consecutive #define lines belong to the same comment
            for line in stripped[consumed:].splitlines(keepends=True):
                if line.startswith("#define"):
                    decl.append(line)
                    consumed += len(line)
                else:
                    break
            code = "".join(decl)
        else:
            depth, end = 0, None
            for i, ch in enumerate(stripped):
                if ch in "{(":
                    depth += 1
                elif ch in "})":
                    depth -= 1
                elif ch == ";" and depth == 0:
                    end = i + 1
                    # functions documented together: keep following HL_API lines
                    nxt = stripped[end:]
                    while True:
                        mm = re.match(r"\s*\n(HL_API[^;]*;)", nxt, re.S)
                        if not mm:
                            break
                        end += mm.end()
                        nxt = stripped[end:]
                    break
            if end is None:
                continue
            code = stripped[:end]
        pos = m.end() + (len(rest) - len(stripped)) + len(code)
        yield clean(m.group(1)), code.rstrip()


def render() -> str:
    out = ["# C API reference", "",
           "Generated from the public headers by `scripts/gen_api_c.py` (ctest checks it is",
           "current). Conventions: every symbol starts with `hl_`; functions return an",
           "`hl_code` (`HL_OK` = 0) and take an optional `hl_error *err` last; `_new` /",
           "`_free` pairs own opaque handles (`_free(NULL)` does nothing); option structs",
           "start with a version and have an `_INIT` macro.", ""]
    for h in HEADERS:
        rel = h.relative_to(ROOT)
        text = h.read_text()
        first = COMMENT.search(text)
        out += ["## `%s`" % "/".join(rel.parts[-2:]), "", "Source: `%s`" % rel, ""]
        if first:
            out += [clean(first.group(1)), ""]
            text = text[first.end():]
        for comment, code in declarations(text):
            out += ["```c", code, "```", "", comment, ""]
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    page = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != page:
            print("docs/api/c.md is out of date: run scripts/gen_api_c.py")
            return 1
        print("docs/api/c.md is current (%d lines)" % page.count("\n"))
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(page)
    print("wrote %s (%d lines)" % (OUT.relative_to(ROOT), page.count("\n")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
