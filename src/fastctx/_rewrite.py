"""The AST rewrite: a Jinja2 template tree turned into one whose look-ups, calls, ``~`` and
loops go through the sandbox's internal filters (``@path``, ``@item``, ``@callee``,
``@concat``, ``@loop``), so that they follow the data rules, name the full path when they
fail and count against the limits. Those filter names cannot be written in a template.

Also the recognisers both compilers share: :func:`path_of` and :func:`const_key`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from ._data import describe_path

__all__ = ["COMPUTED_CALLEE", "const_key", "path_of", "rewrite"]

#: What the ``@callee`` filter is told of a callee that is not a name or path (``f(x)(y)``,
#: ``(s|safe).upper()``).
COMPUTED_CALLEE = "a computed value"


def path_of(node: nodes.Node) -> tuple[Any, ...] | None:
    """``(root, key, ...)`` if ``node`` is a plain look-up such as ``a.b[0]["c"]``."""
    keys: list[Any] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
        elif isinstance(node, nodes.Getitem):
            key = const_key(node.arg)
            if key is None:
                return None
            keys.append(key)
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            keys.append(node.name)
            keys.reverse()
            return tuple(keys)
        else:
            return None
        node = node.node


def const_key(node: nodes.Node) -> str | int | None:
    """The key of ``a[<key>]`` when it is a string or integer literal (``-1`` included)."""
    if isinstance(node, nodes.Const) and type(node.value) in (str, int):
        return node.value  # type: ignore[no-any-return]
    if isinstance(node, nodes.Neg) and isinstance(node.node, nodes.Const) \
            and type(node.node.value) is int:
        return -node.node.value  # type: ignore[no-any-return, unused-ignore]
    return None


def _filter(node: nodes.Expr, name: str, *args: Any) -> nodes.Filter:
    return nodes.Filter(node, name, [nodes.Const(arg) for arg in args], [], None, None,
                        lineno=node.lineno)


class _Rewrite(NodeTransformer):
    """Route look-ups, calls and ``~`` through the filters above."""

    def _lookup(self, node: nodes.Node, soft: bool) -> nodes.Node:
        path = path_of(node)
        if path is None:
            # under default/defined a filter or test is visited as itself; a computed
            # look-up's parts are visited (visiting it again would come back here)
            return self.generic_visit(node) if isinstance(
                node, (nodes.Name, nodes.Getattr, nodes.Getitem)) else self.visit(node)
        root = nodes.Name(path[0], "load", lineno=node.lineno)
        return _filter(root, "@path", path[1:], path[0], soft)

    def visit_Name(self, node: nodes.Name) -> nodes.Node:
        return self._lookup(node, False) if node.ctx == "load" else node

    visit_Getattr = visit_Name

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        if path_of(node) is not None or isinstance(node.arg, nodes.Slice):
            return self._lookup(node, False)
        # a[expr]: the key is computed; errors still name the path of ``a``.
        path = path_of(node.node)
        text = describe_path(path[0], path[1:]) if path else "value"
        return nodes.Filter(self.visit(node.node), "@item",
                            [self.visit(node.arg), nodes.Const(text)], [], None, None,
                            lineno=node.lineno)

    def visit_Filter(self, node: nodes.Filter) -> nodes.Node:
        if node.name in ("default", "d") and node.node is not None:
            node.node = self._lookup(node.node, True)  # type: ignore[assignment]
            node.args = [self.visit(arg) for arg in node.args]
            node.kwargs = [self.visit(arg) for arg in node.kwargs]
            return node
        return self.generic_visit(node)

    def visit_Test(self, node: nodes.Test) -> nodes.Node:
        if node.name in ("defined", "undefined"):
            node.node = self._lookup(node.node, True)  # type: ignore[assignment]
            return node
        return self.generic_visit(node)

    def visit_Call(self, node: nodes.Call) -> nodes.Node:
        # A called name is looked up by Jinja2 alone, so that an unknown one is an unknown
        # function (InvalidExpression), not a missing variable.
        callee = node.node
        path = path_of(callee)
        text = describe_path(path[0], path[1:]) if path else COMPUTED_CALLEE
        if not isinstance(callee, nodes.Name):
            callee = self.visit(callee)
        node.node = _filter(callee, "@callee", text)
        node.args = [self.visit(arg) for arg in node.args]
        node.kwargs = [self.visit(arg) for arg in node.kwargs]
        if node.dyn_args is not None:
            node.dyn_args = self.visit(node.dyn_args)
        if node.dyn_kwargs is not None:
            node.dyn_kwargs = self.visit(node.dyn_kwargs)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)  # rewrites the parts in place
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "@concat")

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)  # rewrites the parts in place
        node.iter = nodes.Filter(node.iter, "@loop", [], [], None, None, lineno=node.lineno)
        return node


def rewrite(tree: nodes.Template) -> nodes.Template:
    return _Rewrite().visit(tree)  # type: ignore[no-any-return]


