"""The docs stay true: the package's doctests pass and the README's examples run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import fastctx
import fastctx._engine
import fastctx.engines.orquesta
import fastctx.limits

README = Path(__file__).resolve().parent.parent / "README.md"
EXTENDING = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


@pytest.mark.parametrize("module", [fastctx, fastctx.limits, fastctx._engine,
                                    fastctx.engines.orquesta], ids=lambda m: m.__name__)
def test_doctests(module: object) -> None:
    failed, attempted = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert attempted > 0
    assert failed == 0


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_usage_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    usage = blocks[0]  # "Using it": self-contained
    namespace: dict[str, object] = {}
    exec(compile(usage, "README.md", "exec"), namespace)  # our own README
    assert namespace["task_input"] == {"cmd": "ping -c 3 web1", "host": "web1",
                                       "token": "s3cr3t"}


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_api_names_exist() -> None:
    """Every method the README's API block names is there."""
    text = README.read_text(encoding="utf-8")
    api = text[text.index("### API"):text.index("### Namespaces")]
    for name in set(re.findall(r"(?<![\w.])(?:ctx|WorkflowContext)\.(\w+)", api)):
        assert hasattr(fastctx.WorkflowContext, name), name


@pytest.mark.skipif(not EXTENDING.exists(), reason="docs/ is not beside the tests")
def test_extending_examples_run() -> None:
    """The Python blocks of docs/extending.md run in order, as one program (their asserts
    are the page's claims)."""
    blocks = re.findall(r"```python\n(.*?)```", EXTENDING.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 8
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/extending.md, block {number}", "exec"), namespace)


DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.skipif(not DOCS.exists(), reason="docs/ is not beside the tests")
@pytest.mark.parametrize("page", ["forks.md", "secrets.md", "threads.md"])
def test_page_examples_run(page: str, wc_class: type) -> None:
    """The Python blocks of a docs page run in order, as one program, on each core (their
    asserts are the page's claims)."""
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(encoding="utf-8"),
                        re.DOTALL)
    assert blocks
    namespace: dict[str, object] = {}
    for number, block in enumerate(blocks):
        code = block.replace("from fastctx import WorkflowContext", "WorkflowContext = _wc")
        code = code.replace("from fastctx import MergeConflict, WorkflowContext",
                            "from fastctx import MergeConflict\nWorkflowContext = _wc")
        code = code.replace('Engine("', f'Engine("{wc_class.implementation}-')  # one per core
        namespace["_wc"] = wc_class
        exec(compile(code, f"docs/{page}, block {number}", "exec"), namespace)
