"""The compiled core reports its methods' signatures (``help()``, ``inspect.signature``, the API
reference), and they are the twin's: same names, kinds and defaults."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from fastctx import _core_py

API_PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"
PUBLIC = sorted(name for name, value in vars(_core_py.WorkflowContext).items()
                if not name.startswith("_") and callable(getattr(value, "__func__", value))
                and not isinstance(value, property))


def bare(signature: inspect.Signature) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults; no annotations (the compiled core has none); no self."""
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()
            if p.name not in ("self", "cls")]


@pytest.mark.c_extension
@pytest.mark.parametrize("name", PUBLIC)
def test_compiled_methods_report_the_twins_signature(name: str) -> None:
    from fastctx import _core

    compiled = inspect.signature(getattr(_core.WorkflowContext, name))
    twin = inspect.signature(getattr(_core_py.WorkflowContext, name))
    assert bare(compiled) == bare(twin)


def test_public_methods_listed() -> None:
    assert {"clone", "with_item", "render_template", "render_json", "evaluate",
            "evaluate_condition", "publish_from_result", "export", "from_export",
            "rebuild"} <= set(PUBLIC)


@pytest.mark.skipif(not API_PAGE.exists(), reason="docs/ is not beside the tests")
def test_api_page_constructor_signature_is_the_twins() -> None:
    written = re.search(r"autoclass:: fastctx\.WorkflowContext(\(.*\))", API_PAGE.read_text(
        encoding="utf-8"))
    assert written is not None
    twin = inspect.signature(_core_py.WorkflowContext.__init__)
    shown = twin.replace(parameters=[p.replace(annotation=inspect.Parameter.empty)
                                     for p in list(twin.parameters.values())[1:]],
                         return_annotation=inspect.Signature.empty)
    assert written.group(1) == str(shown)
