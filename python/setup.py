"""Build the hookline extension: the C core and the binding glue in one module.

The core (../core/src/*.c) is compiled into hookline._hookline, so the
installed package needs only the system's libcrypto and libjansson, nothing
from the CMake build tree. Sources are globbed so new core files are picked
up without editing this file.
"""

import glob
import subprocess
import os
import re
import shutil

from setuptools import Extension, setup
from setuptools.command.build import build as _build
from setuptools.command.build_ext import build_ext as _build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORE_INCLUDE = os.path.join(ROOT, "core", "include")
CORE_SRC = os.path.join(ROOT, "core", "src")
GLUE = os.path.join(ROOT, "bindings", "python")
# Drivers the extension needs: the system resolver for check_url(resolve=True).
NET = os.path.join(ROOT, "drivers", "net")
# Drivers compiled in too (the SQLite seen-id store), linked with -lsqlite3.
DRIVER_SQLITE = os.path.join(ROOT, "drivers", "sqlite")
DRIVER_SQLITE_INCLUDE = os.path.join(DRIVER_SQLITE, "include")
# The sending side (hookline.Worker): libcurl dispatcher and the worker.
DRIVER_CURL = os.path.join(ROOT, "drivers", "curl")
DRIVER_WORKER = os.path.join(ROOT, "drivers", "worker")
DRIVERS = [NET, DRIVER_SQLITE, DRIVER_CURL, DRIVER_WORKER]
# The PostgreSQL store (hookline.Worker("postgresql://...")), when libpq is
# installed (pkg-config libpq); without it the worker refuses such URLs.
DRIVER_POSTGRES = os.path.join(ROOT, "drivers", "postgres")


def libpq():
    """(include dirs, found) from pkg-config."""
    try:
        out = subprocess.run(["pkg-config", "--cflags-only-I", "libpq"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return [], False
    return [f[2:] for f in out.split() if f.startswith("-I")], True


PQ_INCLUDE, HAVE_PQ = libpq()
if HAVE_PQ:
    DRIVERS.append(DRIVER_POSTGRES)


def version():
    with open(os.path.join(CORE_INCLUDE, "hookline", "common.h"), encoding="utf-8") as f:
        m = re.search(r'#define\s+HL_VERSION_STRING\s+"([^"]+)"', f.read())
    if not m:
        raise RuntimeError("HL_VERSION_STRING not found in core/include/hookline/common.h")
    return m.group(1)


def sources():
    # Absolute paths: relative "../core" paths would make distutils put the
    # object files outside the build directory.
    found = (
        sorted(glob.glob(os.path.join(CORE_SRC, "*.c")))
        + [f for d in DRIVERS for f in sorted(glob.glob(os.path.join(d, "*.c")))]
        + sorted(glob.glob(os.path.join(GLUE, "*.c")))
    )
    if not found:
        raise RuntimeError("no C sources under %s and %s" % (CORE_SRC, GLUE))
    return found


def headers():
    return sorted(
        glob.glob(os.path.join(CORE_INCLUDE, "**", "*.h"), recursive=True)
        + glob.glob(os.path.join(CORE_SRC, "*.h"))
        + [f for d in DRIVERS for f in glob.glob(os.path.join(d, "include", "hookline", "*.h"))]
        + [f for d in DRIVERS for f in glob.glob(os.path.join(d, "*.h"))]
        + glob.glob(os.path.join(GLUE, "*.h"))
        + [os.path.join(GLUE, "exports.map")]
    )


class build(_build):
    """Start from an empty build directory every time.

    pip builds in the source tree (python/build/); a directory left by an
    earlier build could otherwise leak removed modules into the wheel or
    keep an extension built against older headers."""

    def run(self):
        for d in (self.build_lib, self.build_temp):
            if d and os.path.isdir(d):
                shutil.rmtree(d)
        super().run()


class build_ext(_build_ext):
    def finalize_options(self):
        super().finalize_options()
        self.force = True  # never trust timestamps of a stale build


extension = Extension(
    "hookline._hookline",
    sources=sources(),
    depends=headers(),
    include_dirs=[CORE_INCLUDE, CORE_SRC]
    + [os.path.join(d, "include") for d in DRIVERS]
    + [DRIVER_CURL, GLUE] + PQ_INCLUDE,
    define_macros=[("HL_WITH_POSTGRES", "1")] if HAVE_PQ else [],
    # curl: the SSRF check's URL parsing and the dispatcher; sqlite3: the
    # seen-id store and the outbox
    libraries=["crypto", "jansson", "curl", "sqlite3"] + (["pq"] if HAVE_PQ else []),
    extra_link_args=["-Wl,--version-script=" + os.path.join(GLUE, "exports.map")],
    extra_compile_args=[
        "-std=c11",
        "-fvisibility=hidden",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers",
    ],
)

setup(
    version=version(),
    packages=["hookline"],
    package_data={"hookline": ["py.typed", "*.pyi"]},
    include_package_data=False,
    ext_modules=[extension],
    cmdclass={"build": build, "build_ext": build_ext},
)
