"""Forks and the writes that keep them isolated, for both cores' ``Stores``.

A fork's stores start as pointers to its parent's: ``fork()`` is O(1), and a read through a
fork reads the same dicts as through its parent (no extra probe). The first write to a
namespace in a fork gives the fork a table of its own for that namespace: a copy of the
parent's top level (its keys, not its values) with the write applied; ``changes`` keeps what
the fork wrote. When the parent is written later (its ``serial`` moves), the fork brings its
views up to date on its next use (``sync``): a namespace it never wrote is the parent's table
again, one it wrote is the parent's table with its own writes on top.

Writes go through this module only when the stores are *tracked* (a fork, or a context that
has forks, whose writes are stamped for merge's conflict check); a context that was never
forked writes its dicts directly. ``lock`` (one for a context and all its forks, so that no
two threads can take two locks in opposite orders) serialises the writes that go through
here, bringing views up to date, ``update_var`` and ``merge``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._data import check_name, new_config, new_store, snapshot
from .errors import MergeConflict, TypeConversion

__all__ = ["KEYED", "changes", "fresh", "merge", "sync", "update", "update_var", "write"]

#: Namespaces written key by key, and namespaces replaced whole (their key is None).
KEYED = ("variables", "tasks", "system", "namespaces")
WHOLE = ("config", "keystore")

#: The names users know the namespaces by (those of ``export()``).
PUBLIC = {"variables": "variables", "tasks": "task_results", "system": "system",
          "namespaces": "namespaces", "config": "pack_config", "keystore": "keystore"}


def fresh(stores: Any) -> bool:
    """Whether a fork's views are current: no stores above it were written since it last
    looked (the compiled core has the same loop, in C)."""
    while stores.parent is not None:
        if stores.parent.serial != stores.parent_serial:
            return False
        stores = stores.parent
    return True


def sync(stores: Any) -> None:
    """Bring a fork's views up to date with its parent's (see the module docstring)."""
    with stores.lock:
        parent = stores.parent
        if parent.parent is not None and not fresh(parent):
            sync(parent)
        seen = parent.serial
        own = stores.changes
        for name in KEYED:
            theirs = getattr(parent, name)
            mine = own.get(name)
            if mine is None:
                setattr(stores, name, theirs)
            else:
                view = {} if theirs is None else dict(theirs)
                view.update(mine)
                setattr(stores, name, view)
        for name in WHOLE:
            mine = own.get(name)
            setattr(stores, name, getattr(parent, name) if mine is None else mine[None])
        stores.parent_serial = seen
        stores.serial += 1  # its own forks look again


def write(stores: Any, name: str, key: Any, value: Any) -> None:
    """Write ``value`` at ``key`` of namespace ``name`` (None: replace a whole namespace) of
    tracked stores: into the fork's own table, and stamped for merge when it has forks."""
    with stores.lock:
        _write(stores, name, key, value)


def update(stores: Any, name: str, values: Mapping[Any, Any]) -> None:
    """Write several keys of one namespace at once (all of them, under one lock)."""
    if not stores.tracked:
        getattr(stores, name).update(values)
        return
    with stores.lock:
        for key, value in values.items():
            _write(stores, name, key, value)


def _write(stores: Any, name: str, key: Any, value: Any) -> None:
    if stores.parent is not None:
        if not fresh(stores):
            sync(stores)
        mine = stores.changes.get(name)
        if mine is None:
            mine = stores.changes[name] = {}
            if key is not None:  # the fork's own table, from now on
                setattr(stores, name, snapshot(getattr(stores, name)) or {})
        mine[key] = value
    if key is None:
        setattr(stores, name, value)
    else:
        getattr(stores, name)[key] = value
    stamps = stores.stamps
    if stamps is not None:  # it has forks: stamp the write for merge
        stores.serial += 1
        stamps[name, key] = stores.serial


def update_var(stores: Any, name: str, fn: Callable[[Any], Any]) -> Any:
    """Set variable ``name`` to ``fn(old)`` (None when unset), atomically with respect to
    every other ``update_var``, ``merge`` and fork write on these stores; return the value."""
    if not callable(fn):
        raise TypeConversion(f"update_var needs a function, not {type(fn).__name__}")
    check_name(name)
    with stores.lock:
        value = stores.check(fn(stores.variables.get(name)), f"variable {name!r}")
        if stores.tracked:
            _write(stores, "variables", name, value)
        else:
            stores.variables[name] = value
    return value


def changes(stores: Any, include_secrets: bool) -> dict[str, Any]:
    """What a fork wrote, by namespace (the names of ``export()``): keyed namespaces as
    ``{key: value}``, whole ones as their new value; the keystore only with secrets."""
    if stores.parent is None:
        return {}
    with stores.lock:
        out: dict[str, Any] = {}
        for name, mine in stores.changes.items():
            if name == "keystore" and not include_secrets:
                continue
            out[PUBLIC[name]] = dict(mine) if name in KEYED else mine[None]
        return out


Resolver = Callable[[str, Any, Any, Any], Any]


def merge(stores: Any, branch: Any, conflict: str | Resolver) -> None:
    """Apply a fork's writes to its parent's stores, all or none; then the fork starts
    afresh from the merged parent (nothing of its own)."""
    if not _forked_from(branch, stores):
        what = "another context" if hasattr(branch, "parent") else type(branch).__name__
        raise TypeConversion(f"merge takes a fork of this context (made by its fork()), not "
                             f"{what}")
    if not (conflict in ("error", "last") or callable(conflict)):
        raise TypeConversion(
            f"conflict must be 'error', 'last' or a function, not {conflict!r}")
    with stores.lock:  # the branch's too
        plan = []
        for name, mine in branch.changes.items():
            for key, value in mine.items():
                stamp = stores.stamps.get((name, key), 0)
                if stamp > branch.base:  # the parent wrote it too, after the fork
                    value = _decide(stores, name, key, value, conflict)
                plan.append((name, key, value))
        for name, key, value in plan:
            _write(stores, name, key, value)
        branch.changes = {}
        branch.base = stores.serial
        branch.parent_serial = -1  # its views are the parent's again, on its next use


def _forked_from(branch: Any, stores: Any) -> bool:
    return getattr(branch, "parent", None) is stores


def _decide(stores: Any, name: str, key: Any, value: Any, conflict: str | Resolver) -> Any:
    theirs = getattr(stores, name) if key is None else getattr(stores, name).get(key)
    public = PUBLIC[name]
    if conflict == "last" or theirs == value:
        return value
    if conflict == "error":
        where = public if key is None else f"{public} {key!r}"
        raise MergeConflict(f"merge conflict: {where} was changed by both the context and "
                            "its fork since the fork was made", public, key)
    assert callable(conflict)
    decided = conflict(public, key, theirs, value)
    # what the namespace's own setter would accept: checked now, before anything is applied
    if name == "config":
        return new_config(decided)
    if name == "keystore":
        return new_store(decided, "merged keystore")
    if name == "namespaces":
        return new_store(decided, f"merged namespace {key!r}")
    return stores.check(decided, f"merged {public} {key!r}")
