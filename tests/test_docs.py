"""The docs stay true: the package's doctests pass, every example of the documentation runs,
and the README and the docs point only at files that exist.

Each page of ``docs/`` is one program, run in the order its blocks appear: ``python`` blocks
are executed, ``pycon`` blocks checked as doctests (one namespace for both: their asserts and
outputs are the page's claims), ``console`` blocks (``$ fastctx ...`` and what it prints) run.
The pages are not in an installed package: these tests are skipped where ``docs/`` is not
beside ``tests/`` (a wheel tested from a copy).
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import fastctx
import fastctx._engine
import fastctx.engines.orquesta
import fastctx.limits

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) if DOCS.is_dir() else []
BLOCK = re.compile(r"^```(python|pycon|console)\n(.*?)^```", re.DOTALL | re.MULTILINE)
#: Pages with examples: a page in this list must have at least one block that runs.
WITH_EXAMPLES = {"index.md", "getting-started.md", "concepts.md", "templates.md",
                 "integration.md", "extending.md", "security.md", "threads.md", "forks.md",
                 "secrets.md"}


@pytest.mark.parametrize("module", [fastctx, fastctx.limits, fastctx._engine,
                                    fastctx.engines.orquesta], ids=lambda m: m.__name__)
def test_doctests(module: object) -> None:
    failed, attempted = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert attempted > 0
    assert failed == 0


def run_page(path: Path, text: str, given: dict[str, object] | None = None) -> int:
    """Run the page's examples in order (``given``: names they start with); return how many
    blocks ran."""
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}", **(given or {})}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    blocks = failed = 0
    for match in BLOCK.finditer(text):
        kind, code = match.groups()
        line = text.count("\n", 0, match.start()) + 2
        name = f"{path.name}, line {line}"
        if kind == "python":
            exec(compile(code, name, "exec"), namespace)  # our own docs
        elif kind == "console":
            run_console(name, code)
        else:
            test = parser.get_doctest(code, namespace, name, str(path), line - 1)
            failed += runner.run(test, clear_globs=False).failed
            namespace.update(test.globs)  # a DocTest runs in a copy of the namespace
        blocks += 1
    assert failed == 0, f"{path.name}: {failed} example(s) failed (above)"
    return blocks


def run_console(name: str, block: str) -> None:
    """``$ fastctx ...`` lines, each followed by what it prints (stdout and stderr together),
    run from the repository root with this interpreter's fastctx."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            commands[-1][1].append(line)
    for command, expected in commands:
        argv = shlex.split(command)
        assert argv[0] == "fastctx", f"{name}: only fastctx commands run here: {command}"
        done = subprocess.run([sys.executable, "-m", "fastctx", *argv[1:]], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert (done.stdout + done.stderr).rstrip("\n").splitlines() == expected, \
            f"{name}: {command}\n{done.stdout}{done.stderr}"


#: Pages whose examples another test runs: distributed.md's start Dask clusters (the `dask`
#: extra), tests/test_distributed.py runs them.
ELSEWHERE = {"distributed.md"}


@pytest.mark.skipif(not PAGES, reason="docs/ is not beside the tests")
@pytest.mark.parametrize("page", [page for page in PAGES if page.name not in ELSEWHERE],
                         ids=lambda p: p.name)
def test_page_examples_run(page: Path) -> None:
    blocks = run_page(page, page.read_text(encoding="utf-8"))
    if page.name in WITH_EXAMPLES:
        assert blocks > 0, f"{page.name} has no example left to run"


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_example_runs() -> None:
    assert run_page(README, README.read_text(encoding="utf-8")) > 0


@pytest.mark.skipif(not PAGES, reason="docs/ is not beside the tests")
@pytest.mark.parametrize("page", ["forks.md", "secrets.md", "threads.md"])
def test_core_pages_run_on_both_cores(page: str, wc_class: type) -> None:
    """The pages about the context's own behaviour run on each core, not only on the one
    this process selected (their asserts are the page's claims)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    text = text.replace("from fastctx import WorkflowContext", "WorkflowContext = _wc")
    text = text.replace("from fastctx import MergeConflict, WorkflowContext",
                        "from fastctx import MergeConflict\nWorkflowContext = _wc")
    text = text.replace('Engine("', f'Engine("{wc_class.implementation}-')  # one per core
    assert run_page(DOCS / page, text, {"_wc": wc_class}) > 0


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.skipif(not README.exists() or not PAGES, reason="not in a source tree")
@pytest.mark.parametrize("document", [README, ROOT / "CHANGES.rst", ROOT / "tools" / "README.md",
                                      *PAGES], ids=lambda p: p.name)
def test_links_point_at_files_that_exist(document: Path) -> None:
    """Every relative link, and every repository path a page names in backquotes, exists."""
    text = document.read_text(encoding="utf-8")
    assert "SPEC.md" not in text
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (document.parent / target).exists(), f"{document.name} links to {target}"
    for path in re.findall(r"`((?:docs|tests|tools|benchmarks|examples|src|\.ci|\.github)/"
                           r"[\w./-]+\.\w+)`", text):
        assert (ROOT / path).exists(), f"{document.name} names {path}, which does not exist"
