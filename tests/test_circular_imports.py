"""Every module of fastctx imports on its own, and the package's modules import no cycle.

``test_module_imports_alone``: each module (the ``.py`` ones and the compiled core, when it
is there) is the first thing a fresh interpreter imports, with warnings as errors, so an
import that only works after another module was imported, or that warns, fails.
``fastctx.__main__`` runs the command line when imported: it is run as ``python -m fastctx
--version`` instead. ``fastctx.distributed`` needs the ``dask`` extra: where Dask's
``distributed`` is not installed, its import must fail with an ImportError naming the extra.

``test_no_import_cycle``: the graph of the package's imports of its own modules, read from the
source (``ast`` for the ``.py`` modules, module level and inside functions; a regular
expression for the Cython ``.pyx``), must have no cycle. Imports under ``if TYPE_CHECKING:``
do not run, and are left out; so are the imports out of a module whose name contains
``pickle``: a pickle reconstructor looks the implementation up when it is called, long after
every module was imported. A cycle is reported with the import statements that make it.

The package is the imported ``fastctx`` (``Path(fastctx.__file__).parent``), so this also
checks an installed wheel, which ships ``_core.pyx`` as package data.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastctx

PACKAGE = fastctx.__name__
PACKAGE_DIR = Path(fastctx.__file__).resolve().parent


# -- the package's modules ---------------------------------------------------------------------


def module_name(package: str, package_dir: Path, path: Path) -> str:
    """The dotted name of the module in ``path`` (a package's ``__init__`` is the package)."""
    parts = [package, *path.relative_to(package_dir).parts]
    parts[-1] = parts[-1].split(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield path


def source_modules(package: str, package_dir: Path) -> dict[str, Path]:
    """The modules whose source is in the package: ``.py`` and Cython ``.pyx`` files."""
    return {module_name(package, package_dir, path): path for path in _files(package_dir)
            if path.suffix in (".py", ".pyx")}


def compiled_modules(package: str, package_dir: Path) -> list[str]:
    """The extension modules built into the package directory (``_core.cpython-*.so``...)."""
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    return sorted({module_name(package, package_dir, path) for path in _files(package_dir)
                   if any(path.name.endswith(suffix) for suffix in suffixes)})


# -- (a) every module imported alone -----------------------------------------------------------


def _child_env() -> dict[str, str]:
    """The environment of the child interpreter: it must import this very copy of fastctx.

    Its parent directory goes first on PYTHONPATH, unless it is site-packages (where the
    child finds it anyway, and which must not come before the standard library)."""
    env = dict(os.environ)
    where = PACKAGE_DIR.parent
    site = {Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")}
    if where not in site:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(where), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _alone_cases() -> list[object]:
    python = [name for name, path in source_modules(PACKAGE, PACKAGE_DIR).items()
              if path.suffix == ".py"]
    return [*(pytest.param(name, id=name) for name in sorted(python)),
            *(pytest.param(name, id=name, marks=pytest.mark.c_extension)
              for name in compiled_modules(PACKAGE, PACKAGE_DIR))]


#: Modules that need an optional extra: without the package the extra installs, importing
#: them must fail with an ImportError that says which extra to install.
NEEDS_EXTRA = {f"{PACKAGE}.distributed": ("distributed", f"pip install '{PACKAGE}[dask]'")}


@pytest.mark.parametrize("module", _alone_cases())
def test_module_imports_alone(module: str) -> None:
    if module == f"{PACKAGE}.__main__":
        args = ["-m", PACKAGE, "--version"]
    else:
        args = ["-c", f"import {module}"]
    proc = subprocess.run([sys.executable, "-W", "error", *args], env=_child_env(),
                          capture_output=True, text=True, timeout=120)
    if module in NEEDS_EXTRA and importlib.util.find_spec(NEEDS_EXTRA[module][0]) is None:
        hint = NEEDS_EXTRA[module][1]
        assert proc.returncode == 1 and "ImportError" in proc.stderr and hint in proc.stderr, \
            f"python -W error {' '.join(args)} without the extra:\n{proc.stderr}"
        return
    assert proc.returncode == 0, \
        f"python -W error {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"


# -- (b) no cycle in the package's imports -----------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import statement of ``importer`` that imports ``target``."""

    importer: str
    target: str
    path: Path
    line: int

    def where(self, root: Path) -> str:
        text = self.path.read_text(encoding="utf-8").splitlines()[self.line - 1].strip()
        return f"{self.path.relative_to(root)}:{self.line}: {text}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except the bodies of ``if TYPE_CHECKING:``, in
    the order of the source."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return sorted(found, key=lambda node: (node.lineno, node.col_offset))


#: ``from X import a, b`` / ``from X import (a,\n b)`` and ``import a.b, c`` in Cython source
#: (``cimport`` lines do not match: they import C declarations, not modules).
_PYX_FROM = re.compile(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_PYX_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]+)", re.M)


def _names(text: str) -> list[str]:
    """``a as b, c`` (comments and parentheses allowed): ``["a", "c"]``."""
    text = re.sub(r"#[^\n]*", "", text).strip().strip("()")
    return [part.split()[0] for part in text.split(",") if part.strip()]


def _statements(path: Path) -> list[tuple[int, str | None, int, list[str]]]:
    """``(line, from_module, level, names)`` for each import statement in ``path``, in the
    order of the source; ``from_module`` is None for ``import a.b``."""
    source = path.read_text(encoding="utf-8")
    found: list[tuple[int, str | None, int, list[str]]] = []
    if path.suffix == ".pyx":
        for match in _PYX_FROM.finditer(source):
            module = match.group(1)
            level = len(module) - len(module.lstrip("."))
            found.append((source.count("\n", 0, match.start()) + 1, module.lstrip("."), level,
                          _names(match.group(2))))
        for match in _PYX_IMPORT.finditer(source):
            found.append((source.count("\n", 0, match.start()) + 1, None, 0,
                          _names(match.group(1))))
        return sorted(found, key=lambda statement: statement[0])
    for node in _import_nodes(ast.parse(source, str(path))):
        names = [alias.name for alias in node.names]
        if isinstance(node, ast.Import):
            found.append((node.lineno, None, 0, names))
        else:
            found.append((node.lineno, node.module or "", node.level, names))
    return found


def _inside(module: str, package: str) -> bool:
    """``module`` is ``package`` or one of its modules."""
    return module == package or module.startswith(f"{package}.")


def _parents(module: str) -> list[str]:
    """``a.b.c``: ``["a", "a.b"]``."""
    parts = module.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def import_graph(package: str, package_dir: Path) -> dict[str, list[Import]]:
    """For each module of the package, the imports of the package's own modules it runs."""
    modules = source_modules(package, package_dir)
    graph: dict[str, list[Import]] = {}
    for importer, path in modules.items():
        graph[importer] = []
        if "pickle" in importer:
            continue  # reconstructors import when called, not when imported
        is_package = path.stem == "__init__"
        for line, from_module, level, names in _statements(path):
            targets: set[str] = set()
            if from_module is None:  # import a.b.c
                targets.update(name for name in names if name in modules)
            else:
                base = importer.split(".") if is_package else importer.split(".")[:-1]
                if level > 1:
                    base = base[:len(base) - (level - 1)]
                source = ".".join(filter(None, [*base, from_module])) if level else from_module
                # from S import x: S.x when x is a module of S; S itself when x is a name
                # defined in S, or whenever S is not a package the importer is already in.
                submodules = {f"{source}.{name}" for name in names} & modules.keys()
                targets.update(submodules)
                if len(submodules) < len(names) or not _inside(importer, source):
                    targets.add(source)
            # Importing a.b.c runs the packages a and a.b first: those the importer is not in.
            targets.update(parent for target in list(targets)
                           for parent in _parents(target) if not _inside(importer, parent))
            graph[importer].extend(Import(importer, target, path, line)
                                   for target in sorted(targets & modules.keys())
                                   if target != importer)
    return graph


def cycles(graph: dict[str, list[Import]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in graph.get(node, []):
            if edge.target not in index:
                visit(edge.target)
                low[node] = min(low[node], low[edge.target])
            elif edge.target in on_stack:
                low[node] = min(low[node], index[edge.target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_cycle(graph: dict[str, list[Import]], component: list[str]) -> list[Import]:
    """The imports of one shortest cycle through the first module of ``component``."""
    start = component[0]
    members = set(component)
    came_by: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in graph[node]:
            if edge.target == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, came_by[path[0].importer])
                return path
            if edge.target in members and edge.target not in came_by:
                came_by[edge.target] = edge
                queue.append(edge.target)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def describe_cycles(graph: dict[str, list[Import]], root: Path) -> str:
    lines = []
    for component in cycles(graph):
        lines.append(f"import cycle among {len(component)} modules: {', '.join(component)}")
        lines.append("  one cycle:")
        lines += [f"    {edge.importer} -> {edge.target}   ({edge.where(root)})"
                  for edge in shortest_cycle(graph, component)]
        lines.append("  every import between them:")
        lines += [f"    {edge.importer} -> {edge.target}   ({edge.where(root)})"
                  for member in component for edge in graph[member]
                  if edge.target in component]
    return "\n".join(lines)


def test_no_import_cycle() -> None:
    graph = import_graph(PACKAGE, PACKAGE_DIR)
    assert f"{PACKAGE}._core" in graph, f"no _core.pyx in {PACKAGE_DIR}"
    found = describe_cycles(graph, PACKAGE_DIR.parent)
    assert not found, "\n" + found


def test_the_graph_and_the_cycle_finder(tmp_path: Path) -> None:
    """The reading of imports that test_no_import_cycle relies on, on a package made here."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\nfrom . import b\n__version__ = '1'\n",
        "a.py": "from typing import TYPE_CHECKING\nimport json\nA = 1\n"
                "if TYPE_CHECKING:\n    from .d import D\nelse:\n    from . import c\n",
        "b.py": "def f():\n    from .sub.e import E\n    import pkg.c\n",
        "c.py": "from pkg import __version__\nfrom ._pickle import restore\n",
        "d.py": "from .a import A\n",
        "_pickle.py": "def restore():\n    from .a import A\n",
        "core.pyx": "from pkg.d import (\n    x,  # a comment\n    y,\n)\n"
                    "from cpython.object cimport PyObject\nimport pkg.sub.e as e\n",
        "sub/__init__.py": "",
        "sub/e.py": "from .. import _pickle\nfrom . import missing_name\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph("pkg", pkg)
    edges = {name: sorted(edge.target for edge in graph[name]) for name in graph}
    assert edges == {
        "pkg": ["pkg.a", "pkg.b"],
        "pkg.a": ["pkg.c"],  # not .d: under TYPE_CHECKING
        "pkg.b": ["pkg.c", "pkg.sub", "pkg.sub.e"],  # inside a function; pkg.sub runs first
        "pkg.c": ["pkg", "pkg._pickle"],  # __version__ is a name defined in pkg
        "pkg.d": ["pkg.a"],
        "pkg._pickle": [],  # its imports are left out
        "pkg.core": ["pkg.d", "pkg.sub", "pkg.sub.e"],
        "pkg.sub": [],
        "pkg.sub.e": ["pkg._pickle", "pkg.sub"],  # missing_name: a name in pkg.sub
    }
    assert cycles(graph) == [["pkg", "pkg.a", "pkg.b", "pkg.c"]]
    cycle = shortest_cycle(graph, ["pkg", "pkg.a", "pkg.b", "pkg.c"])
    assert [(edge.importer, edge.target) for edge in cycle] == \
        [("pkg", "pkg.a"), ("pkg.a", "pkg.c"), ("pkg.c", "pkg")]
    shown = describe_cycles(graph, tmp_path)
    assert "pkg/a.py:7: from . import c" in shown
    assert "pkg/c.py:1: from pkg import __version__" in shown
