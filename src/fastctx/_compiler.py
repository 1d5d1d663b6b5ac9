"""Compile the common subset of Jinja2 expressions into tuples the core evaluates.

The input is Jinja2's own AST. The output is a tree of tuples ``(opcode, operands...)``
(``fastctx._opcodes``) that the core walks without building a Jinja2 context.
Every operation calls what the sandboxed Jinja2 path calls — the core's look-ups, the
sandbox's bounded operators, the registered helper functions, Jinja2's own filter and test
functions — so both paths give the same value and the same error. What falls outside the
subset raises :class:`NotCompilable` and goes to the sandbox. The compiled form can reach
no attribute outside the data and call nothing but registered functions: it has no node
for either.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Sequence
from typing import Any

from jinja2 import nodes
from jinja2.filters import FILTERS
from jinja2.nodes import EvalContext
from jinja2.utils import _PassArg

from . import _opcodes as op
from ._data import describe_path
from ._functions import HELPERS
from ._outcome import OUTCOMES

__all__ = ["JINJA_NAMES", "LOOP_ATTRIBUTES", "NotCompilable", "compile_node"]

intern = sys.intern
_MAP = FILTERS["map"]
_COMPARE_CODES = {"lt": 0, "lteq": 1, "eq": 2, "ne": 3, "gt": 4, "gteq": 5,
                  "in": op.CMP_IN, "notin": op.CMP_NOTIN}
_BINOPS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/",
           nodes.FloorDiv: "//", nodes.Mod: "%", nodes.Pow: "**"}
#: Names Jinja2 binds itself in a template (they shadow workflow variables of that name).
JINJA_NAMES = frozenset(("self", "loop", "caller", "super", "varargs", "kwargs"))
#: What of ``loop`` a compiled loop body may use (any other use needs the Jinja2 path).
LOOP_ATTRIBUTES = frozenset(("index", "index0", "revindex", "revindex0", "first", "last",
                             "length"))


class NotCompilable(Exception):
    """The expression uses something outside the compiled subset."""


class Compiler:
    """Turns Jinja2 expression nodes into tuples for one engine: its sandbox's filters and
    tests, and the functions, filters and tests registered on it (``engine.functions``,
    ``.filters``, ``.tests``: name -> a callable with ``pass_context``), which come first.

    ``concat``: a function of the operands that ``~`` calls instead of ``OP_CONCAT``;
    ``printer``: what prints each value of a fast-path template (None: ``to_text``, which
    the core applies itself). Both are set for engines that print as Jinja2 does."""

    #: The loops around what is compiled, innermost first: ``[name, uses_loop]`` for a loop's
    #: variable (``uses_loop`` is set when its ``loop`` is looked up), or a frozenset of
    #: names a loop's ``{% else %}`` does not compile (its variable and ``loop``).
    scope: tuple[Any, ...] = ()

    def __init__(self, sandbox: Any, path_of: Any, engine: Any,
                 concat: Any = None, printer: Any = None) -> None:
        self.sandbox = sandbox
        self.path_of = path_of
        self.engine = engine
        self.concat = concat
        self.printer = printer
        self.eval_ctx = EvalContext(sandbox)

    def within(self, entry: Any) -> Compiler:
        """A compiler of the same engine for the body (``entry``: ``[name, False]``) or the
        ``{% else %}`` (a frozenset of names) of a loop."""
        inner = copy.copy(self)
        inner.scope = (entry, *self.scope)
        return inner

    def _local(self, path: tuple[Any, ...], soft: bool) -> tuple[Any, ...] | None:
        """``OP_LOCAL`` if ``path`` starts at a loop's variable or ``loop``, else None."""
        root, up = path[0], 0
        for entry in self.scope:
            if type(entry) is frozenset:
                if root in entry:
                    raise NotCompilable(f"{root!r} in a loop's else")
                continue
            if root == "loop":
                if len(path) < 2 or path[1] not in LOOP_ATTRIBUTES:
                    raise NotCompilable("a use of loop other than its counters")
                entry[1] = True
                return (op.OP_LOCAL, up, 1, self.sandbox, path[1:], root, soft)
            if root == entry[0]:
                return (op.OP_LOCAL, up, 0, self.sandbox, path[1:], root, soft)
            up += 1
        return None

    def compile(self, node: nodes.Node) -> tuple[Any, ...]:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise NotCompilable(type(node).__name__)
        return method(node)  # type: ignore[no-any-return]

    def _all(self, items: Sequence[nodes.Node]) -> tuple[tuple[Any, ...], ...]:
        return tuple(self.compile(item) for item in items)

    def _path(self, node: nodes.Node, soft: bool = False) -> tuple[Any, ...]:
        path = self.path_of(node)
        if path is None:
            raise NotCompilable("look-up on a computed value")
        # interned: a probe of the core's root names, or of keys written in the source, then
        # finds the very string, with no compare of characters
        path = tuple(intern(key) if type(key) is str else key for key in path)
        if self.scope:
            local = self._local(path, soft)
            if local is not None:
                return local
        root = path[0]
        if root in JINJA_NAMES:
            raise NotCompilable(f"{root!r} is Jinja2's own")
        if root == "null" and len(path) == 1:
            return (op.OP_CONST, None)
        # a function is never a value: any other name is data (namespaces, variables)
        return (op.OP_SOFT if soft else op.OP_PATH, path)

    # -- leaves ------------------------------------------------------------------------
    def visit_Const(self, node: nodes.Const) -> tuple[Any, ...]:
        return (op.OP_CONST, node.value)

    def visit_Name(self, node: nodes.Name) -> tuple[Any, ...]:
        return self._path(node)

    # A look-up on a computed value (``ctx().x``, ``f(a)[0]``, ``a[i]``) does what the Jinja2
    # path does: the sandbox's getattr, or the ``@item`` filter for ``[...]``.
    def visit_Getattr(self, node: nodes.Getattr) -> tuple[Any, ...]:
        if self.path_of(node) is not None:
            return self._path(node)
        return (op.OP_CALL, self.sandbox.getattr,
                (self.compile(node.node), (op.OP_CONST, node.attr)))

    def visit_Getitem(self, node: nodes.Getitem) -> tuple[Any, ...]:
        if self.path_of(node) is not None:
            return self._path(node)
        if isinstance(node.arg, nodes.Slice):
            raise NotCompilable("a slice")
        path = self.path_of(node.node)
        text = describe_path(path[0], path[1:]) if path else "value"
        return (op.OP_CALL, self.sandbox.filters["@item"],
                ((op.OP_CONST, self.sandbox), self.compile(node.node), self.compile(node.arg),
                 (op.OP_CONST, text)))

    def visit_List(self, node: nodes.List) -> tuple[Any, ...]:
        return (op.OP_LIST, self._all(node.items))

    def visit_Tuple(self, node: nodes.Tuple) -> tuple[Any, ...]:
        return (op.OP_TUPLE, self._all(node.items))

    def visit_Dict(self, node: nodes.Dict) -> tuple[Any, ...]:
        return (op.OP_DICT, tuple((self.compile(pair.key), self.compile(pair.value))
                                  for pair in node.items))

    # -- operators ---------------------------------------------------------------------
    def visit_And(self, node: nodes.And) -> tuple[Any, ...]:
        return (op.OP_AND, self.compile(node.left), self.compile(node.right))

    def visit_Or(self, node: nodes.Or) -> tuple[Any, ...]:
        return (op.OP_OR, self.compile(node.left), self.compile(node.right))

    def visit_Not(self, node: nodes.Not) -> tuple[Any, ...]:
        return (op.OP_NOT, self.compile(node.node))

    def visit_Neg(self, node: nodes.Neg) -> tuple[Any, ...]:
        return (op.OP_NEG, self.compile(node.node))

    def visit_Pos(self, node: nodes.Pos) -> tuple[Any, ...]:
        return (op.OP_POS, self.compile(node.node))

    def _binop(self, node: nodes.BinExpr) -> tuple[Any, ...]:
        return (op.OP_BINOP, _BINOPS[type(node)], self.compile(node.left),
                self.compile(node.right))

    visit_Add = visit_Sub = visit_Mul = visit_Div = _binop
    visit_FloorDiv = visit_Mod = visit_Pow = _binop

    def visit_Concat(self, node: nodes.Concat) -> tuple[Any, ...]:
        if self.concat is not None:
            return (op.OP_CALL, self.concat, self._all(node.nodes))
        return (op.OP_CONCAT, self._all(node.nodes))

    def visit_Compare(self, node: nodes.Compare) -> tuple[Any, ...]:
        return (op.OP_CMP, self.compile(node.expr),
                tuple((_COMPARE_CODES[operand.op], self.compile(operand.expr))
                      for operand in node.ops))

    def visit_CondExpr(self, node: nodes.CondExpr) -> tuple[Any, ...]:
        if node.expr2 is None:
            raise NotCompilable("an if-expression without else")
        return (op.OP_COND, self.compile(node.test), self.compile(node.expr1),
                self.compile(node.expr2))

    # -- calls, filters, tests ---------------------------------------------------------
    def _keywords(self, node: nodes.Call | nodes.Filter | nodes.Test) \
            -> tuple[tuple[tuple[Any, ...], ...], tuple[str, ...]]:
        """The values and names of the arguments passed by name."""
        if node.dyn_args or node.dyn_kwargs:
            raise NotCompilable("a call with *args or **kwargs")
        return (tuple(self.compile(pair.value) for pair in node.kwargs),
                tuple(str(pair.key) for pair in node.kwargs))

    def visit_Call(self, node: nodes.Call) -> tuple[Any, ...]:
        if not isinstance(node.node, nodes.Name):
            raise NotCompilable("a call of a computed value")
        name = node.node.name
        if any(name in (entry if type(entry) is frozenset else entry[:1])
               for entry in self.scope):
            raise NotCompilable(f"a call of {name!r}, a loop's variable")
        values, names = self._keywords(node)
        registered = self.engine.functions.get(name)
        if registered is not None:
            return self._registered_call(registered, self._all(node.args) + values, names)
        if not node.args and not names:
            if name == "result":
                return (op.OP_RESULT,)
            if name in OUTCOMES:
                return (op.OP_OUTCOME, OUTCOMES[name])
        function = HELPERS.get(name)
        if function is None or self.sandbox.globals.get(name) is not function:
            raise NotCompilable(f"call of {name!r}")
        return _call(function, self._all(node.args) + values, names, self.sandbox.weight(name))

    def _function_call(self, function: Any, value: tuple[Any, ...],
                       node: nodes.Filter | nodes.Test, registered: Any) -> tuple[Any, ...]:
        values, names = self._keywords(node)
        args = (value, *self._all(node.args), *values)
        if registered is not None:
            return self._registered_call(registered, args, names)
        if function is None:
            raise NotCompilable(f"unknown filter or test {node.name!r}")
        passed = _PassArg.from_obj(function)
        if passed is _PassArg.environment:
            args = ((op.OP_CONST, self.sandbox), *args)
        elif passed is _PassArg.eval_context or (
                # map(attribute=...) reads nothing of its context but the environment, which
                # the evaluation context holds too (map('filter') calls filters: not here)
                function is _MAP and not node.args and "attribute" in names):
            args = ((op.OP_CONST, self.eval_ctx), *args)
        elif passed is not None:
            raise NotCompilable("a filter or test that needs the template context")
        return _call(function, args, names, self.sandbox.weight(node.name))

    def _registered_call(self, registered: Any, args: tuple[Any, ...],
                         names: tuple[str, ...]) -> tuple[Any, ...]:
        flags = (op.REG_PASS_CONTEXT if registered.pass_context else 0) | (
            op.REG_TEST if registered.kind == "test" else 0)
        return (op.OP_CALL_REG, registered.function, args, flags, registered, names)

    def visit_Filter(self, node: nodes.Filter) -> tuple[Any, ...]:
        if node.node is None or node.name.startswith("@"):
            raise NotCompilable("a filter block")
        soft = node.name in ("default", "d")
        value = self._path(node.node, soft=True) if soft and self.path_of(node.node) \
            else self.compile(node.node)
        served = self.sandbox.filters.get(node.name)
        return self._function_call(getattr(served, "fastctx_unwrapped", served), value, node,
                                   self.engine.filters.get(node.name))

    def visit_Test(self, node: nodes.Test) -> tuple[Any, ...]:
        soft = node.name in ("defined", "undefined")
        value = self._path(node.node, soft=True) if soft and self.path_of(node.node) \
            else self.compile(node.node)
        served = self.sandbox.tests.get(node.name)
        return self._function_call(getattr(served, "fastctx_unwrapped", served), value, node,
                                   self.engine.tests.get(node.name))


def _call(function: Any, args: tuple[Any, ...], names: tuple[str, ...],
          weight: int) -> tuple[Any, ...]:
    return (op.OP_CALL_CHARGED, function, args, names, weight)


def compile_node(compiler: Compiler, node: nodes.Node) -> tuple[Any, ...] | None:
    """The compiled form of an expression node, or None if it needs the Jinja2 path."""
    try:
        return compiler.compile(node)
    except NotCompilable:
        return None
