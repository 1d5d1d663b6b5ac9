"""Opcodes of compiled expressions, shared by the compiler and both cores.

A compiled expression is a tree of tuples ``(opcode, operands...)``:

==============  ===========================================================================
OP_CONST        ``(OP_CONST, value)``
OP_PATH         ``(OP_PATH, (root, key, ...))``: a look-up that raises when nothing is there
OP_SOFT         ``(OP_SOFT, path)``: a look-up under ``default``/``defined`` (an undefined
                value instead of an error)
OP_NOT/NEG/POS  ``(op, operand)``
OP_AND/OR       ``(op, left, right)``, short-circuit, value of the deciding operand
OP_CMP          ``(OP_CMP, left, ((code, operand), ...))``: a comparison chain; codes 0-5
                are Python's rich comparison codes, then CMP_IN and CMP_NOTIN
OP_BINOP        ``(OP_BINOP, "+", left, right)``: an arithmetic operator, bounded
OP_CONCAT       ``(OP_CONCAT, (operand, ...))``: ``~``
OP_LIST/TUPLE   ``(op, (operand, ...))``
OP_DICT         ``(OP_DICT, ((key, value), ...))``
OP_COND         ``(OP_COND, test, then, otherwise)``
OP_CALL         ``(OP_CALL, function, (argument, ...))``: one of fastctx's own (a look-up on a
                computed value, a printer), not charged
OP_CALL_CHARGED ``(OP_CALL_CHARGED, function, (argument, ...), (name, ...), weight)``: a
                filter, test or helper, charged to the work budget first as on the Jinja2
                path (a call, plus ``weight`` per element or character of its arguments); the
                last arguments are passed by the names, in order: ``f(x, y=1)`` is
                ``(OP_CALL_CHARGED, f, (x, 1), ("y",), 1)``
OP_CALL_REG     ``(OP_CALL_REG, function, (argument, ...), flags, registered, (name, ...))``: a
                callable registered on an engine: ``function(*arguments)`` (``function(ctx,
                ...)`` with REG_PASS_CONTEXT; the last arguments by name), charged as
                OP_CALL_CHARGED (weight 1); its
                exception becomes ``registered.failure(exc)``; a
                string, ``true``/``false`` or null is accepted as it is (only a boolean for
                REG_TEST), any other value is ``registered.check(value)``
OP_RESULT       ``(OP_RESULT,)``: ``result()``, the last task's result
OP_OUTCOME      ``(OP_OUTCOME, TaskOutcome)``: ``succeeded()``, ``failed()``, ``timed_out()``
OP_BRANCH       ``(OP_BRANCH, test, parts, other_parts)``: ``{% if %}`` in a template: the text
                of the fast-path ``parts`` if ``test`` holds, else of ``other_parts``
OP_BUDGET       ``(OP_BUDGET, program, is_template)``: a program that calls filters, tests or
                functions (charged to the work budget, as on the Jinja2 path), run with a
                budget of ``max_work`` of its own: the text of a template's parts, or the
                value of an expression; ``is_template`` is 2 for a template with a loop,
                whose loops and if-blocks are each given the room left under max_output
                (so that it is exceeded where the Jinja2 path exceeds it)
OP_TEXT         ``(OP_TEXT, parts)``: the text of a fast-path template's parts (what
                ``render_json`` caches for a string that is a template)
OP_CHECKED      ``(OP_CHECKED, expression)``: a whole expression that can make an undefined
                value (it has a soft look-up or a call); its evaluation notes whether one was
                made, and if so looks for it in the value (only at the top of an expression)
OP_LOOP         ``(OP_LOOP, iterable, parts, other_parts, uses_loop, sandbox)``: ``{% for %}``
                in a template: the text of the fast-path ``parts`` once per value of
                ``iterable`` (counted as the Jinja2 path counts a loop's iterations), with the
                loop variable (and ``loop`` if ``uses_loop``) bound; ``other_parts`` if it
                gives no value. Its template always runs in an ``OP_BUDGET``
OP_LOCAL        ``(OP_LOCAL, up, slot, sandbox, keys, root, soft)``: a look-up ``root.k...`` on
                a loop's variable (``slot`` 0) or its ``loop`` (``slot`` 1), of the loop ``up``
                loops out from the innermost, as the Jinja2 path looks it up (``soft``: under
                ``default``/``defined``)
==============  ===========================================================================

An expression with no OP_SOFT, OP_CALL or OP_CALL_REG makes no undefined value: its value
is returned as it is (``checked`` wraps the others).

A template on the fast path is a tuple of parts: literal strings, paths ``(root, key, ...)``
(a path's first element is a string, an opcode's an int), compiled expressions,
``OP_BRANCH`` blocks and ``OP_LOOP`` blocks.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

OP_CONST, OP_PATH, OP_SOFT, OP_NOT, OP_AND, OP_OR, OP_CMP, OP_BINOP, OP_NEG, OP_POS, \
    OP_CONCAT, OP_LIST, OP_TUPLE, OP_DICT, OP_COND, OP_CALL, OP_RESULT, OP_OUTCOME, \
    OP_CALL_REG, OP_CHECKED, OP_CALL_CHARGED, OP_BRANCH, OP_BUDGET, OP_TEXT, OP_LOOP, \
    OP_LOCAL = range(26)
CMP_IN, CMP_NOTIN = 6, 7
REG_PASS_CONTEXT, REG_TEST = 1, 2  # flags of OP_CALL_REG

_MAKERS = frozenset((OP_SOFT, OP_CALL, OP_CALL_REG, OP_CALL_CHARGED, OP_LOCAL))
_CHARGED = frozenset((OP_CALL_REG, OP_CALL_CHARGED, OP_LOOP))  # a loop charges its iterations
_LOOPS = frozenset((OP_LOOP,))
_LEAVES = frozenset((OP_CONST, OP_PATH, OP_SOFT, OP_RESULT, OP_OUTCOME, OP_LOCAL))


def checked(program: tuple[Any, ...]) -> tuple[Any, ...]:
    """A compiled expression as the cores evaluate it at the top: wrapped in ``OP_CHECKED``
    if it can make an undefined value."""
    return (OP_CHECKED, program) if _any(program, _MAKERS) else program


def charges_work(parts: tuple[Any, ...]) -> bool:
    """Whether a fast-path template's parts call a filter, test or function, or loop
    (``OP_BUDGET`` then gives its render a work budget)."""
    return any(_any(node, _CHARGED) for node in _nodes_of(parts))


def loops(parts: tuple[Any, ...]) -> bool:
    """Whether a fast-path template's parts have a ``{% for %}`` (its ``OP_BUDGET`` then
    renders it giving each loop and if-block the room left under max_output)."""
    return any(_any(node, _LOOPS) for node in _nodes_of(parts))


def budgeted(expression: tuple[Any, ...]) -> tuple[Any, ...]:
    """A compiled expression in an ``OP_BUDGET`` if it calls a filter, test or function."""
    return (OP_BUDGET, expression, False) if _any(expression, _CHARGED) else expression


def _any(node: tuple[Any, ...], opcodes: frozenset[int]) -> bool:
    """Whether ``node`` or a node in it has one of ``opcodes``."""
    return node[0] in opcodes or any(_any(operand, opcodes) for operand in _operands(node))


def _nodes_of(parts: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """The compiled expressions among a template's parts (not its text or plain paths)."""
    return tuple(part for part in parts if type(part) is tuple and type(part[0]) is int)


def _operands(node: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    op = node[0]
    if op in _LEAVES:
        return ()
    if op == OP_CMP:
        return (node[1], *(operand for _, operand in node[2]))
    if op == OP_BINOP:
        return node[2:4]
    if op in (OP_CONCAT, OP_LIST, OP_TUPLE):
        return node[1]  # type: ignore[no-any-return]
    if op == OP_DICT:
        return tuple(part for pair in node[1] for part in pair)
    if op in (OP_CALL, OP_CALL_CHARGED, OP_CALL_REG):
        return node[2]  # type: ignore[no-any-return]
    if op in (OP_BRANCH, OP_LOOP):
        return (node[1], *_nodes_of(node[2]), *_nodes_of(node[3]))
    if op == OP_BUDGET:
        return _nodes_of(node[1]) if node[2] else (node[1],)
    if op == OP_TEXT:
        return _nodes_of(node[1])
    return node[1:]  # OP_NOT, OP_NEG, OP_POS, OP_AND, OP_OR, OP_COND, OP_CHECKED


#: The comparison of each code, as the pure-Python core applies it.
COMPARE: tuple[Callable[[Any, Any], Any], ...] = (
    operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge,
    lambda a, b: a in b, lambda a, b: a not in b,
)
