"""Secret tracking: which fields of a rendered document were computed from a secret, marked
paths, and the redaction of an export.

A secret is the keystore (every value in it) or a path marked with ``mark_secret``. A field
of ``render_json(doc, track_secrets=True)`` is reported (as a JSON Pointer) when

- its template reads a secret: a look-up whose path leads to a marked path or into one, or
  to a container holding one (``parameters`` as a whole holds ``/token``); the keystore in any
  way (``keystore.x``, ``st2kv('x')``); or a function given the context whose engine did not
  declare what it reads (it could read anything); or
- its rendered value holds a secret's text in any spelling the error scrubber knows (a
  secret copied into a variable earlier, say).

The first rule follows the data through every filter, operator, slice and function, since it
looks at what the template reads, not at what became of it; it may report a field that only
used a secret (``keystore.token | length``): tracking errs on the side of hiding. The template
is analysed once per engine and source (the syntax tree of Jinja2, cached).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jinja2 import nodes

from ._data import MISSING, ROOTS, step
from ._reporting import secret_spellings
from .errors import TypeConversion

__all__ = ["mark", "redact", "render_tracked"]

#: What ``mark_secret`` takes, and the store each stands for.
MARKABLE = {"parameters": "parameters", "variables": "variables", "task_results": "tasks",
            "item": "item"}
REDACTED = "***"

Path = tuple[Any, ...]


# -- marks ------------------------------------------------------------------------------------
def parse_pointer(pointer: Any) -> Path:
    """A JSON Pointer (RFC 6901) as keys; array indices stay text, matched to either."""
    if type(pointer) is not str or (pointer and not pointer.startswith("/")):
        raise TypeConversion(f"a JSON Pointer is a string starting with '/', not {pointer!r}")
    if not pointer:
        return ()
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/"))


def pointer_of(keys: Path) -> str:
    return "".join("/" + str(key).replace("~", "~0").replace("/", "~1") for key in keys)


def mark(stores: Any, namespace: Any, pointer: Any) -> None:
    """Mark the value at ``pointer`` of ``namespace`` secret, for every clone and fork."""
    store = MARKABLE.get(namespace) if type(namespace) is str else None
    if store is None:
        raise TypeConversion(f"mark_secret takes one of {', '.join(MARKABLE)}, not "
                             f"{namespace!r}")
    keys = parse_pointer(pointer)
    with stores.lock:
        stores.marks.setdefault(store, set()).add(keys)


# -- tracking -----------------------------------------------------------------------------------
def render_tracked(ctx: Any, document: Any) -> tuple[Any, list[str]]:
    """``render_json(document)`` and the JSON Pointers of the fields computed from a secret."""
    value = ctx.render_json(document)
    secrets = _Secrets(ctx)
    paths: list[str] = []
    if secrets.any:
        _walk(document, value, (), secrets, paths)
    return value, paths


def _walk(source: Any, value: Any, at: Path, secrets: _Secrets, paths: list[str]) -> None:
    kind = type(source)
    if kind is str:
        if ("{" in source or "\r" in source) and secrets.in_field(source, value):
            paths.append(pointer_of(at))
    elif kind is dict:
        for key, member in source.items():
            _walk(member, value[key], (*at, key), secrets, paths)
    elif kind is list:
        for index, member in enumerate(source):
            _walk(member, value[index], (*at, index), secrets, paths)


class _Secrets:
    """The secrets of one context, as a render sees them."""

    def __init__(self, ctx: Any) -> None:
        stores = ctx._shared_stores()
        self.engine = stores.engine
        self.keystore = bool(stores.keystore)
        self.marks: dict[str, set[Path]] = {
            store: set(keys) for store, keys in stores.marks.items()}
        if ctx.current_index is None:
            self.marks.pop("item", None)
        texts = [value for store, keys in self.marks.items() for path in keys
                 if (value := _at(ctx, store, path)) is not MISSING]
        self.spellings = _texts([*stores.keystore.values(), *texts])
        self.any = self.keystore or bool(self.marks) or bool(self.spellings)

    def in_field(self, source: str, value: Any) -> bool:
        reads, blind = _reads(self.engine, source)
        if blind and (self.keystore or self.marks):
            return True
        if any(self.read(store, keys) for store, keys in reads):
            return True
        text = value if type(value) is str else json.dumps(value, ensure_ascii=False)
        return _holds(text, self.spellings)

    def read(self, store: str, keys: Path) -> bool:
        if store == "keystore":
            return self.keystore
        for marked in self.marks.get(store, ()):
            n = min(len(marked), len(keys))
            if all(str(a) == str(b) for a, b in zip(marked[:n], keys[:n])):
                return True
        return False


def _at(ctx: Any, store: str, keys: Path) -> Any:
    value = ctx.current_item if store == "item" else getattr(ctx._shared_stores(), store)
    for key in keys:
        found = step(value, key)
        if found is MISSING and type(value) is list and key.lstrip("-").isdigit():
            found = step(value, int(key))
        if found is MISSING:
            return MISSING
        value = found
    return value


# -- what a template reads ----------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _reads(engine: Any, source: str) -> tuple[tuple[tuple[str, Path], ...], bool]:
    """The (store, keys) a template reads, and whether it calls a function that may read any
    store (a function or filter given the context, with nothing declared)."""
    tree = engine.sandbox.parse(source)
    reads: list[tuple[str, Path]] = []
    blind = False
    for root, keys, argument in _chains(tree):
        if root.endswith("()"):  # a call: what its engine says it reads
            registered = engine.functions.get(root[:-2]) or engine.filters.get(root[:-2])
            if registered is None or not registered.pass_context:
                continue
            if registered.reads is None:
                blind = True
                continue
            # the key it is given, if a constant: what it returns need not be laid out as
            # the store is, so the keys after the call are not followed
            head = () if argument is MISSING else (argument,)
            reads.extend((_store(name), head) for name in registered.reads)
        elif root in ROOTS:
            reads.append((_store(root), keys))
        elif engine.namespaces and root in engine.namespaces:
            continue  # an engine's own namespace: never secret
        else:  # a bare name: a workflow variable (or a local, which this takes as one)
            reads.append(("variables", (root, *keys)))
    return tuple(reads), blind


def _store(root: str) -> str:
    meaning = ROOTS[root]
    return "item" if meaning == "index" else meaning


def _chains(node: nodes.Node) -> Iterator[tuple[str, Path, Any]]:
    """(root, constant keys, a call's first constant argument) of every look-up chain;
    a call's root is its name followed by ``()``."""
    keys: list[Any] = []
    inner = node
    while isinstance(inner, (nodes.Getattr, nodes.Getitem)):
        if isinstance(inner, nodes.Getattr):
            keys.append(inner.attr)
        elif isinstance(inner.arg, nodes.Const):
            keys.append(inner.arg.value)
        else:
            break
        inner = inner.node
    if keys and isinstance(inner, (nodes.Name, nodes.Call)) and inner is not node:
        yield from _root(inner, tuple(reversed(keys)))
        if isinstance(inner, nodes.Call):
            for child in inner.iter_child_nodes():
                yield from _chains(child)
        return
    if isinstance(node, (nodes.Name, nodes.Call, nodes.Filter, nodes.Test)):
        yield from _root(node, ())
    for child in node.iter_child_nodes():
        yield from _chains(child)


def _root(node: nodes.Node, keys: Path) -> Iterator[tuple[str, Path, Any]]:
    if isinstance(node, nodes.Name):
        if node.ctx == "load":
            yield node.name, keys, MISSING
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        first = node.args[0] if node.args else None
        argument = first.value if isinstance(first, nodes.Const) else MISSING
        yield node.node.name + "()", keys, argument
    elif isinstance(node, (nodes.Filter, nodes.Test)):
        yield node.name + "()", keys, MISSING


# -- redaction ----------------------------------------------------------------------------------
def redact(ctx: Any, data: dict[str, Any]) -> dict[str, Any]:
    """An export with every marked path, and every string holding a keystore value in any
    spelling, replaced by ``***`` (in place; ``data`` is the export's own copy)."""
    stores = ctx._shared_stores()
    for store, paths in stores.marks.items():
        key = {"tasks": "task_results"}.get(store, store)
        for keys in paths:
            if key in data:
                data[key] = _replace(data[key], keys)
    spellings = _texts(stores.keystore.values())
    if "keystore" in data:
        data["keystore"] = {name: REDACTED for name in data["keystore"]}
    if spellings:
        for key, value in data.items():
            if key != "keystore":
                data[key] = _scrub(value, spellings)
    return data


def _texts(values: Any) -> list[str]:
    """The texts that betray a secret: every spelling the error scrubber knows, and base64,
    case-folded (a secret upper-cased is still the secret)."""
    spellings = secret_spellings(values)
    encoded = [base64.b64encode(text.encode()).decode("ascii") for text in spellings]
    return sorted({text.casefold() for text in spellings + encoded}, key=len, reverse=True)


def _holds(text: str, texts: list[str]) -> bool:
    folded = text.casefold()
    return any(secret in folded for secret in texts)


def _replace(value: Any, keys: Path) -> Any:
    if not keys:
        return REDACTED
    head, rest = keys[0], keys[1:]
    if type(value) is dict and head in value:
        value[head] = _replace(value[head], rest)
    elif type(value) is list and str(head).isdigit() and int(head) < len(value):
        value[int(head)] = _replace(value[int(head)], rest)
    return value


def _scrub(value: Any, spellings: list[str]) -> Any:
    if type(value) is str:
        return REDACTED if _holds(value, spellings) else value
    stack = [value]
    while stack:
        container = stack.pop()
        keys: Any = container if type(container) is dict else range(len(container)) \
            if type(container) is list else ()
        for key in keys:
            member = container[key]
            if type(member) is str:
                if _holds(member, spellings):
                    container[key] = REDACTED
            elif type(member) is dict or type(member) is list:
                stack.append(member)
    return value
