"""Sphinx configuration of the fastctx documentation (`nox -s docs`).

The site documents the installed package (`pip install .` or the wheel `nox` builds): the API
reference is read from the compiled core and its docstrings, and the performance page's plot
and tables are measured while the site builds, by `fastctx bench --quick --plot`.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastctx
from fastctx import _core_py

HERE = Path(__file__).resolve().parent
GENERATED = HERE / "_generated"

project = "fastctx"
author = "The fastctx developers"
copyright = "the fastctx developers"
release = version = fastctx.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"fastctx {release}"
html_theme_options = {
    "source_edit_link": None,
    "navigation_with_keys": True,
}

autodoc_member_order = "bysource"
# fastctx.distributed imports Dask's distributed (the `dask` extra), which the docs build need not
# install: its names are documented from a stand-in.
autodoc_mock_imports = ["distributed"]
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# No network while the site builds: Python's own objects are linked only where an inventory
# file is at hand (none by default), and unresolved references to them are not errors.
intersphinx_mapping: dict[str, Any] = {}
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(typing|collections\.abc|types|jinja2|contextvars|enum)\..*"),
    (r"py:class", r"(Any|Self|F|T|JSONValue|Callable|Mapping|Iterable|Sequence|Overrides|"
                  r"Token|ContextVar|datetime\..*|fastctx\._.*|_.*)"),
    (r"py:class", r"(str|int|float|bool|dict|list|tuple|object|None|bytes|type|"
                  r"Exception|LookupError|ValueError|TypeError|BaseException|"
                  r"enum\.Enum|Enum|str, enum\.Enum)"),
    (r"py:obj", r"(None|True|False|Ellipsis)"),
    # fastctx.distributed: its type variable, and Dask's classes (not installed to build)
    (r"py:(class|obj)", r"(fastctx\.distributed\.R|distributed\..*)"),
    (r"py:exc", r"(LookupError|ValueError|TypeError)"),
]


# -- the performance page: measured while the site builds ----------------------------------

def _bench() -> None:
    """`fastctx bench --quick`: its tables and its plot, for docs/performance.md."""
    GENERATED.mkdir(exist_ok=True)
    plot = GENERATED / "bench.png"
    if os.environ.get("FASTCTX_DOCS_REUSE_BENCH") and plot.exists() \
            and (GENERATED / "bench.txt").exists():
        return  # a developer iterating on the text: keep the last measurement
    result = subprocess.run(
        [sys.executable, "-m", "fastctx", "bench", "--quick", "--no-instructions",
         "--plot", str(plot), "--json", str(GENERATED / "bench.json")],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"fastctx bench --quick --plot failed:\n{result.stderr}")
    (GENERATED / "bench.txt").write_text(result.stdout.rstrip("\n") + "\n", encoding="utf-8")
    (GENERATED / "implementation.txt").write_text(fastctx.IMPLEMENTATION, encoding="utf-8")


_bench()


# -- the API reference: the compiled core's methods, with the twin's words -------------------

def _twin_attribute(obj: Any, name: str) -> Any:
    owner = getattr(obj, "__objclass__", None) or getattr(obj, "__self__", None)
    if owner is fastctx.WorkflowContext and fastctx.IMPLEMENTATION == "cython":
        return getattr(_core_py.WorkflowContext, name.rsplit(".", 1)[-1], None)
    return None


def _docstring(app: Any, what: str, name: str, obj: Any, options: Any,
               lines: list[str]) -> None:
    """A method of the compiled type gets the twin's docstring where it has none of its own or
    only points at the twin's: the two cores behave alike (the suite runs every API test on
    both)."""
    if lines and not any("the twin" in line for line in lines):
        return
    twin = _twin_attribute(obj, name)
    doc = inspect.getdoc(twin) if twin is not None else None
    if doc:
        lines[:] = doc.splitlines()


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _docstring)
