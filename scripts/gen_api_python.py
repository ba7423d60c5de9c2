#!/usr/bin/env python3
"""Generate docs/api/python.md, the Python API reference.

Two sources of truth, each for what it knows:
  - the stubs (python/hookline/__init__.pyi, read with `ast`) give every
    signature with its types, and the fields of the record classes;
  - the installed package gives the docstrings (written in the .py sources,
    and in the C extension for the exception classes) and the `.code` of
    every exception class.
The framework helpers (hookline.flask, hookline.django, hookline.asgi) have
no stubs: their signatures come from the source (inspect.signature).
Module constants are documented by `#:` comment lines just above their
assignment in the source.

It therefore runs with the package installed (the test venv):

  .venv/bin/python scripts/gen_api_python.py           # rewrite the page
  .venv/bin/python scripts/gen_api_python.py --check   # fail when stale

python/tests/test_api_docs.py runs the check, and fails when a public name,
method or property has no docstring of its own (problems()).
"""
import ast
import importlib
import inspect
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "api" / "python.md"
FRAMEWORKS = ["hookline.flask", "hookline.django", "hookline.asgi"]

# Sections by the module that defines a name (exceptions go to "Errors").
SECTIONS = [
    ("hookline.signature", "Signing and verifying"),
    ("hookline.receiver", "Receiving"),
    ("hookline.dedupe", "Deduplication"),
    ("hookline.worker", "Sending: the worker"),
    ("hookline.engine", "Sending: the engine (sans-IO)"),
    ("hookline.ssrf", "SSRF URL check"),
    ("errors", "Errors"),
    ("other", "Other names"),
]

# Dunder methods worth a line of their own (others are implementation).
DUNDERS = {"__contains__", "__enter__", "__exit__", "__iter__", "__len__"}


def _stub(name):
    return ast.parse((ROOT / "python" / "hookline" / name).read_text())


def stub_index():
    """name -> stub node of __init__.pyi (and _hookline.pyi's classes for
    the names __init__.pyi imports from there)."""
    index = {}
    ext = {n.name: n for n in _stub("_hookline.pyi").body if isinstance(n, ast.ClassDef)}
    for node in _stub("__init__.pyi").body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            index[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            index[node.target.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module == "_hookline":
            for a in node.names:
                if a.name in ext:
                    index[a.asname or a.name] = ext[a.name]
    return index


def aliases():
    """The private type aliases the stub's signatures use (_Body, ...)."""
    out = []
    for node in _stub("__init__.pyi").body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id.startswith("_")):
            out.append("%s = %s" % (node.targets[0].id, ast.unparse(node.value)))
    return out


def runtime_defaults(obj):
    """name -> repr(default) of a callable's parameters (the stubs write
    `...`); {} when it has no inspectable signature."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return {}
    # a repr with an address would make the page change on every run
    return {p.name: repr(p.default) for p in params
            if p.default is not p.empty and " at 0x" not in repr(p.default)}


def format_args(args, defaults_of=None):
    """ast.unparse of a parameter list, but PEP 8's `name: T = default`,
    with the runtime's default value where the stub says `...`."""
    defaults_of = defaults_of or {}

    def one(a, default=None):
        text = a.arg
        if a.annotation is not None:
            text += ": " + ast.unparse(a.annotation)
        if default is not None:
            value = ast.unparse(default)
            if value == "..." and a.arg in defaults_of:
                value = defaults_of[a.arg]
            text += (" = " if a.annotation is not None else "=") + value
        return text

    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = [one(a, d) for a, d in zip(positional, defaults)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg is not None:
        parts.append("*" + one(args.vararg))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [one(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg is not None:
        parts.append("**" + one(args.kwarg))
    return ", ".join(parts)


def signature(node, name=None, drop_self=False, runtime=None):
    args = node.args
    if drop_self and args.args and args.args[0].arg in ("self", "cls"):
        args = ast.arguments(posonlyargs=args.posonlyargs, args=args.args[1:],
                             vararg=args.vararg, kwonlyargs=args.kwonlyargs,
                             kw_defaults=args.kw_defaults, kwarg=args.kwarg,
                             defaults=args.defaults)
    text = "%s(%s)" % (name or node.name,
                       format_args(args, runtime_defaults(runtime) if runtime is not None else None))
    if node.returns is not None:
        text += " -> %s" % ast.unparse(node.returns)
    return text


def own_doc(obj):
    """The docstring obj itself carries (not one inherited from a base
    class or from `object`), cleaned, or ''."""
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
    else:
        doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


def is_error(obj):
    return inspect.isclass(obj) and issubclass(obj, BaseException)


def constant_doc(name):
    """`#:` lines just above `NAME = ...` in the package's sources."""
    for path in sorted((ROOT / "python" / "hookline").glob("*.py")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"%s\s*(:[^=]*)?=" % re.escape(name), line):
                doc = []
                j = i - 1
                while j >= 0 and lines[j].lstrip().startswith("#:"):
                    doc.insert(0, lines[j].lstrip()[2:].strip())
                    j -= 1
                if doc:
                    return "\n".join(doc)
    return ""


def section_of(hookline, name):
    obj = getattr(hookline, name)
    if is_error(obj):
        return "errors"
    mod = getattr(obj, "__module__", None)
    if mod is None or not inspect.isclass(obj) and not callable(obj):
        # constants: by the module that assigns them
        for modname, _ in SECTIONS:
            if modname.startswith("hookline.") and name in vars(importlib.import_module(modname)):
                return modname
        return "other"
    return mod if any(mod == m for m, _ in SECTIONS) else "other"


def members(cls, node):
    """(kind, name, stub node, runtime object) for a class's documented
    members in stub order: properties, methods, classmethods."""
    out = []
    for item in node.body:
        if not isinstance(item, ast.FunctionDef):
            continue
        if item.name.startswith("_") and item.name not in DUNDERS:
            continue
        decorators = {ast.unparse(d) for d in item.decorator_list}
        raw = inspect.getattr_static(cls, item.name, None)
        if "property" in decorators:
            kind = "property"
        elif "classmethod" in decorators:
            kind = "classmethod"
        else:
            kind = "method"
        out.append((kind, item.name, item, raw))
    return out


def fields(node):
    return ["%s: %s" % (n.target.id, ast.unparse(n.annotation)) for n in node.body
            if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)]


def init_node(node):
    for n in node.body:
        if isinstance(n, ast.FunctionDef) and n.name == "__init__":
            return n
    return None


def member_doc(raw):
    if isinstance(raw, (classmethod, staticmethod)):
        raw = raw.__func__
    return own_doc(raw) if raw is not None else ""


def check_doc(problems, qual, doc, node):
    """A callable's docstring must name each of its parameters and say what
    it raises (a line with "Raises", or "Raises nothing")."""
    if not doc:
        return
    if node is not None:
        a = node.args
        params = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs
                  if x.arg not in ("self", "cls")]
        for extra in (a.vararg, a.kwarg):
            if extra is not None:
                params.append(extra.arg)
        missing = [p for p in params if not re.search(r"\b%s\b" % re.escape(p), doc)]
        if missing:
            problems.append("%s: the docstring does not mention %s" % (qual, ", ".join(missing)))
    if "Raises" not in doc:
        problems.append("%s: the docstring does not say what it raises (\"Raises ...\")" % qual)


def is_record(cls):
    """Dataclasses: records whose fields the page lists; their docstring
    describes the fields, not a constructor's contract."""
    import dataclasses
    return dataclasses.is_dataclass(cls)


def render_class(out, hookline, name, node, problems):
    cls = getattr(hookline, name)
    bases = [b.__name__ for b in cls.__bases__ if b is not object]
    kind = "exception" if is_error(cls) else "class"
    out += ["### %s `hookline.%s`" % (kind, name), ""]
    init = init_node(node) if node is not None else None
    code = []
    if init is not None and not is_error(cls):
        code.append(signature(init, name, drop_self=True, runtime=cls))
    elif bases:
        code.append("class %s(%s)" % (name, ", ".join(bases)))
    if is_error(cls):
        code.append("%s.code == %r" % (name, getattr(cls, "code", None)))
    if code:
        out += ["```python"] + code + ["```", ""]
    doc = own_doc(cls)
    if not doc:
        problems.append("hookline.%s has no docstring" % name)
    elif init is not None and not is_error(cls) and not is_record(cls):
        check_doc(problems, "hookline.%s" % name, doc, init)
    out += [doc, ""]
    if node is None:
        return
    flds = fields(node)
    if flds:
        out += ["Fields:", "", "```python"] + flds + ["```", ""]
    for kind, mname, item, raw in members(cls, node):
        qual = "%s.%s" % (name, mname)
        doc = member_doc(raw)
        if not doc:
            problems.append("hookline.%s has no docstring" % qual)
        elif kind != "property" and not mname.startswith("__"):
            check_doc(problems, "hookline.%s" % qual, doc, item)
        if kind == "property":
            ret = ast.unparse(item.returns) if item.returns is not None else "Any"
            out += ["#### property `%s`" % qual, "", "```python", "%s: %s" % (mname, ret), "```", ""]
        else:
            label = "classmethod" if kind == "classmethod" else "method"
            out += ["#### %s `%s`" % (label, qual), "", "```python",
                    signature(item, mname, drop_self=True, runtime=raw), "```", ""]
        out += [doc, ""]


def render_function(out, obj, qualname, sig, problems, node=None):
    out += ["### function `%s`" % qualname, "", "```python", sig, "```", ""]
    doc = own_doc(obj)
    if not doc:
        problems.append("%s has no docstring" % qualname)
    else:
        check_doc(problems, qualname, doc, node)
    out += [doc, ""]


def render(problems=None):
    """The page as text; appends what is undocumented to `problems`."""
    if problems is None:
        problems = []
    hookline = importlib.import_module("hookline")
    index = stub_index()
    out = ["# Python API reference", "",
           "Generated by `scripts/gen_api_python.py` from the typed stubs",
           "(python/hookline/*.pyi: the signatures) and the installed package (the",
           "docstrings); python/tests/test_api_docs.py fails when this page is stale or a",
           "public name lacks a docstring. Everything below is importable from `hookline`",
           "(`hookline.__all__`), except the framework helpers, which are imported from",
           "their own modules so that Flask, Django or Starlette is only needed when used.", "",
           "Conventions:", "",
           "- Every failure raises a subclass of `hookline.Error` whose instances carry",
           "  `.code`, the stable lowercase name of the C library's error code (the same",
           "  string the Lua bindings return as their third value); each class also has a",
           "  default `code` attribute, shown below.",
           "- Times are Unix seconds as floats (`now=None`: the clock; tests pass `now`),",
           "  durations are seconds.",
           "- Bytes-like bodies are never copied into Python strings; secrets are parsed",
           "  into C key material that is wiped when the owning object is closed or",
           "  collected (Python strings you passed cannot be wiped).",
           "- Objects that hold C state (`Signer`, `Verifier`, `SeenStore`, `Engine`,",
           "  `Worker`) serialise their calls with a lock, so they may be shared by threads;",
           "  calls that wait (network, DNS, SQLite locks) release the GIL.", "",
           "Type aliases used in the signatures:", "", "```python"] + aliases() + ["```", ""]
    names = [n for n in hookline.__all__]
    by_section = {key: [] for key, _ in SECTIONS}
    for name in names:
        by_section[section_of(hookline, name)].append(name)
    out += ["## Contents", ""]
    for key, title in SECTIONS:
        if by_section[key]:
            out.append("- [%s](#%s): %s" % (title, re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-"),
                                           ", ".join("`%s`" % n for n in by_section[key])))
    out.append("- [Framework helpers](#framework-helpers): %s" % ", ".join("`%s`" % m for m in FRAMEWORKS))
    out.append("")
    for key, title in SECTIONS:
        if not by_section[key]:
            continue
        out += ["## %s" % title, ""]
        if key.startswith("hookline."):
            mod = importlib.import_module(key)
            doc = own_doc(mod)
            if doc:
                out += ["Module overview (`%s`):" % key, "", "```text", doc, "```", ""]
        for name in by_section[key]:
            obj = getattr(hookline, name)
            node = index.get(name)
            if inspect.isclass(obj):
                render_class(out, hookline, name, node if isinstance(node, ast.ClassDef) else None,
                             problems)
            elif callable(obj):
                if not isinstance(node, ast.FunctionDef):
                    problems.append("hookline.%s has no stub" % name)
                    continue
                render_function(out, obj, "hookline.%s" % name, signature(node, runtime=obj),
                                problems, node)
            else:
                typ = ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign) else type(obj).__name__
                out += ["### constant `hookline.%s`" % name, "", "```python",
                        "%s: %s = %r" % (name, typ, obj), "```", ""]
                doc = constant_doc(name)
                if name == "__version__":
                    doc = doc or "The version of the C library the extension was built from (e.g. \"%s\")." % obj
                if not doc:
                    problems.append("hookline.%s has no #: comment" % name)
                out += [doc, ""]
    out += ["## Framework helpers", ""]
    for modname in FRAMEWORKS:
        mod = importlib.import_module(modname)
        out += ["### module `%s`" % modname, ""]
        doc = own_doc(mod)
        if not doc:
            problems.append("%s has no module docstring" % modname)
        out += ["```text", doc, "```", ""]
        public = getattr(mod, "__all__", None) or [
            n for n, v in vars(mod).items()
            if not n.startswith("_") and inspect.isfunction(v) and v.__module__ == modname]
        for fname in public:
            fn = getattr(mod, fname)
            sig = source_signature(fname, fn)
            fnode = ast.parse("def %s: ..." % sig).body[0]
            render_function(out, fn, "%s.%s" % (modname, fname), sig, problems, fnode)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip() + "\n"


def source_signature(name, fn):
    """name(params) -> return, with the annotations as written in the source
    (the helpers use `from __future__ import annotations`: strings)."""
    def ann(a):
        return a if isinstance(a, str) else inspect.formatannotation(a)

    sig = inspect.signature(fn)
    parts, star = [], False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.kind is p.VAR_POSITIONAL:
            star = True
        if p.annotation is not p.empty:
            text += ": " + ann(p.annotation)
        if p.default is not p.empty:
            text += " = " + repr(p.default)
        parts.append(text)
    text = "%s(%s)" % (name, ", ".join(parts))
    if sig.return_annotation is not sig.empty:
        text += " -> " + ann(sig.return_annotation)
    return text


def main() -> int:
    problems = []
    page = render(problems)
    for p in problems:
        print("undocumented: %s" % p)
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != page:
            print("docs/api/python.md is out of date: run .venv/bin/python scripts/gen_api_python.py")
            return 1
        print("docs/api/python.md is current (%d lines)" % page.count("\n"))
        return 1 if problems else 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(page)
    print("wrote %s (%d lines)" % (OUT.relative_to(ROOT), page.count("\n")))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
