#!/usr/bin/env python3
"""Compile and run every ```c runnable block of README.md and docs/*.md.

Each block is a whole program. It is built against the in-tree library
(headers from core/include, libhookline.so from the build tree) with the
project's strict warnings, run, and must exit 0.

Usage: run_c_blocks.py BUILD_DIR
"""
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```c runnable\n(.*?)^```", re.S | re.M)


def main() -> int:
    build = pathlib.Path(sys.argv[1]).resolve()
    libdir = build / "core"
    docs = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    blocks = [(d, i + 1, m.group(1)) for d in docs for i, m in enumerate(FENCE.finditer(d.read_text()))]
    if not blocks:
        print("no c runnable blocks found")
        return 1
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for doc, n, code in blocks:
            name = "%s-%d" % (doc.stem, n)
            src = pathlib.Path(tmp) / (name + ".c")
            exe = pathlib.Path(tmp) / name
            src.write_text(code)
            cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(ROOT / "core" / "include"),
                  str(src), "-o", str(exe), "-L", str(libdir), "-lhookline",
                  "-Wl,-rpath," + str(libdir)]
            built = subprocess.run(cc, capture_output=True, text=True)
            if built.returncode != 0:
                print("FAILED %s: does not compile\n%s" % (name, built.stderr))
                failed += 1
                continue
            ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
            if ran.returncode != 0:
                print("FAILED %s: exit %d\n%s%s" % (name, ran.returncode, ran.stdout, ran.stderr))
                failed += 1
            else:
                print("ok     %s: %s" % (name, ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ""))
    print("%d passed, %d failed" % (len(blocks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
