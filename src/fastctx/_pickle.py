"""Pickle reconstructors shared by both cores, so a pickle made by one loads in the other.

A pickle names these functions, not a core: loading one builds the stores and the context
with the core this process selected (``fastctx._impl``). That look-up happens when a pickle
is loaded, not when this module is imported: it is the one import that points back up, from
the reconstructors to the dispatcher (both cores import this module).

Clones pickled together share one ``Stores`` object, which pickle's memo restores once.
"""

from __future__ import annotations

from typing import Any


def restore_stores(*state: Any) -> Any:
    from ._impl import core

    return core.Stores(*state)


def restore_context(stores: Any, item: Any, index: Any, last: Any) -> Any:
    from ._impl import core

    return core.WorkflowContext._restore(stores, item, index, last)
