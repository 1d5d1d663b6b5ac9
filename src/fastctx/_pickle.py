"""Pickle reconstructors shared by both cores, so a pickle made by one loads in the other.

Clones pickled together share one ``Stores`` object, which pickle's memo restores once.
"""

from __future__ import annotations

from typing import Any


def restore_stores(*state: Any) -> Any:
    from ._impl import core

    return core.Stores(*state)


def restore_context(stores: Any, item: Any, index: Any, last: Any) -> Any:
    from ._context import WorkflowContext

    return WorkflowContext._restore(stores, item, index, last)
