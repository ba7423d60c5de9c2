"""The installed package: public names, stubs in step with the code,
version from the C library, and no dependency on the build tree."""

import ast
import inspect
import pathlib
import re
import shutil
import subprocess

import pytest

import hookline
from hookline import _hookline
from conftest import ROOT

PKG = pathlib.Path(hookline.__file__).parent

PUBLIC = {
    "sign", "verify", "Signer", "Verifier", "VerifyResult", "generate_secret",
    "generate_keypair", "Error", "VerificationError", "MissingHeader", "MalformedHeader",
    "SignatureMismatch", "TimestampTooOld", "TimestampInFuture", "BodyTooLarge",
    "InvalidSecret", "UnknownScheme", "__version__", "SeenStore", "StoreError", "StoreFull",
    "Engine", "Send", "Wait", "Idle", "Decision", "RetryInput", "EngineError", "EventError",
    "EndpointError", "BatchError", "CallbackError", "EngineFailed", "EngineReentered",
    "event_types", "event_filter_match",
}


def test_public_names():
    assert PUBLIC <= set(hookline.__all__)
    for name in hookline.__all__:
        assert hasattr(hookline, name), name


def test_version_is_the_c_library_version():
    header = (ROOT / "core" / "include" / "hookline" / "common.h").read_text()
    expected = re.search(r'HL_VERSION_STRING "([^"]+)"', header).group(1)
    assert hookline.__version__ == _hookline.__version__ == expected


def _stub_names(path):
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return {n for n in names if not n.startswith("_") or n == "__version__"}


def test_typing_files_are_installed():
    assert (PKG / "py.typed").is_file()
    assert (PKG / "__init__.pyi").is_file() and (PKG / "_hookline.pyi").is_file()


def test_public_stub_matches_all():
    stub = _stub_names(PKG / "__init__.pyi") - {"Any", "Callable", "Container", "Dict",
                                                 "Iterable", "List", "Mapping", "Optional",
                                                 "Sequence", "Tuple", "Union"}
    assert stub == set(hookline.__all__)


def test_extension_stub_matches_module():
    stub = _stub_names(PKG / "_hookline.pyi") - {"Any", "Callable", "Dict", "Iterable", "List",
                                                  "Optional", "Sequence", "Tuple", "Union"}
    runtime = {n for n in dir(_hookline) if not n.startswith("_") or n == "__version__"}
    assert stub == runtime


def test_stub_signatures_match_keyword_names():
    tree = ast.parse((PKG / "__init__.pyi").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            runtime = inspect.signature(getattr(hookline, node.name))
            args = [a.arg for a in node.args.args + node.args.kwonlyargs]
            assert args == list(runtime.parameters), node.name


def test_installed_outside_the_source_tree():
    """pip installed a copy: the extension is not loaded from python/ or build/."""
    ext = pathlib.Path(_hookline.__file__).resolve()
    assert "site-packages" in ext.parts or "dist-packages" in ext.parts
    assert not str(ext).startswith(str(ROOT / "python" / "hookline"))


def test_core_is_linked_statically():
    ldd = shutil.which("ldd")
    if ldd is None:
        pytest.skip("no ldd")
    out = subprocess.run([ldd, _hookline.__file__], capture_output=True, text=True, check=True).stdout
    assert "libhookline" not in out
    assert "libcrypto" in out and "libjansson" in out
    assert "not found" not in out


def test_exception_instances_carry_stable_codes():
    codes = {
        hookline.MissingHeader: "header_missing",
        hookline.MalformedHeader: "header_malformed",
        hookline.SignatureMismatch: "signature_mismatch",
        hookline.TimestampTooOld: "timestamp_too_old",
        hookline.TimestampInFuture: "timestamp_in_future",
        hookline.BodyTooLarge: "body_too_large",
        hookline.InvalidSecret: "secret_malformed",
        hookline.UnknownScheme: "scheme_unknown",
        hookline.InvalidArgument: "invalid_argument",
        hookline.StoreError: "store_io",
        hookline.StoreFull: "store_full",
        hookline.EventError: "event_invalid",
        hookline.EndpointError: "endpoint_unknown",
        hookline.BatchError: "batch_unknown",
        hookline.CallbackError: "callback",
        hookline.EngineFailed: "engine_failed",
        hookline.EngineReentered: "engine_reentered",
    }
    for cls, code in codes.items():
        assert cls.code == code


def test_extension_exports_only_its_init():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("no nm")
    out = subprocess.run([nm, "-D", "--defined-only", _hookline.__file__], capture_output=True,
                         text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert exported == {"PyInit__hookline"}
