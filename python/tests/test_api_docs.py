"""docs/api/python.md is what scripts/gen_api_python.py makes of the stubs
and the installed package right now, and every public name, method and
property has a docstring of its own (callables: naming each parameter and
saying what they raise)."""

import importlib.util
import re

import hookline
from conftest import ROOT


def _generator():
    spec = importlib.util.spec_from_file_location("gen_api_python", ROOT / "scripts" / "gen_api_python.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def test_every_public_name_is_documented():
    problems = []
    GEN.render(problems)
    assert problems == [], "\n".join(problems)


def test_page_is_current():
    page = GEN.render([])
    committed = (ROOT / "docs" / "api" / "python.md").read_text()
    assert committed == page, (
        "docs/api/python.md is stale: run .venv/bin/python scripts/gen_api_python.py"
    )


def test_page_has_an_entry_per_public_name():
    page = (ROOT / "docs" / "api" / "python.md").read_text()
    headings = set(re.findall(r"^### \w+ `hookline\.(\w+)`", page, re.M))
    assert set(hookline.__all__) <= headings
    for module in GEN.FRAMEWORKS:
        assert "### function `%s.webhook`" % module in page


def test_undocumented_names_are_caught():
    """The check itself: a function without a docstring is reported."""

    def undocumented(x):
        pass

    problems = []
    GEN.render_function([], undocumented, "x.undocumented", "undocumented(x)", problems)
    assert problems == ["x.undocumented has no docstring"]
    undocumented.__doc__ = "Does something."
    problems = []
    node = GEN.ast.parse("def undocumented(x): ...").body[0]
    GEN.render_function([], undocumented, "x.undocumented", "undocumented(x)", problems, node)
    assert len(problems) == 2  # parameter x not named, no "Raises"
