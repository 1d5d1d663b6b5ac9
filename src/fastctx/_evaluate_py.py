"""The pure-Python twin's evaluator: what ``fastctx._core`` runs per render in C
(``_render_parts``, ``_part_text``, ``_eval``), here as ``render_parts``, ``_part_text`` and
``evaluate_node``. ``fastctx._core_py`` calls them; they reach the context only through its
public look-ups (``lookup``, ``lookup_or_missing``, ``last_result``, ``last_outcome``).
"""

from __future__ import annotations

from typing import Any

from . import _regex, limits
from ._data import MISSING, join_output, output_too_long, to_text
from ._opcodes import (
    COMPARE,
    OP_AND,
    OP_BINOP,
    OP_BRANCH,
    OP_BUDGET,
    OP_CALL,
    OP_CALL_CHARGED,
    OP_CALL_REG,
    OP_CMP,
    OP_CONCAT,
    OP_COND,
    OP_CONST,
    OP_DICT,
    OP_LIST,
    OP_LOCAL,
    OP_LOOP,
    OP_NEG,
    OP_NOT,
    OP_OR,
    OP_OUTCOME,
    OP_PATH,
    OP_POS,
    OP_RESULT,
    OP_SOFT,
    OP_TEXT,
    OP_TUPLE,
    REG_PASS_CONTEXT,
)
from ._operators import binop, concat
from ._sandbox import charge_call, loop_values, resolved_path, soft_missing

__all__ = ["evaluate_node", "render_parts"]


def render_parts(ctx: Any, parts: tuple[Any, ...]) -> str:
    """A fast-path template: literal strings, path look-ups and compiled expressions."""
    return join_output(_part_text(ctx, part) for part in parts)


def _part_text(ctx: Any, part: Any) -> str:
    if type(part) is str:
        return part
    if type(part[0]) is str:
        return to_text(ctx.lookup(part))
    return to_text(evaluate_node(ctx, part))


def evaluate_node(ctx: Any, node: tuple[Any, ...]) -> Any:
    """Evaluate a compiled expression with the operators' Python (and Jinja2) semantics."""
    op = node[0]
    if op == OP_PATH:
        return ctx.lookup(node[1])
    if op == OP_CONST:
        return node[1]
    if op == OP_LOCAL:
        return _local(ctx, node)
    if op == OP_CMP:
        left = evaluate_node(ctx, node[1])
        result: Any = True
        for code, operand in node[2]:
            right = evaluate_node(ctx, operand)
            result = COMPARE[code](left, right)
            if not result:
                return result
            left = right
        return result
    if op == OP_AND:
        left = evaluate_node(ctx, node[1])
        return evaluate_node(ctx, node[2]) if left else left
    if op == OP_OR:
        left = evaluate_node(ctx, node[1])
        return left if left else evaluate_node(ctx, node[2])
    if op == OP_NOT:
        return not evaluate_node(ctx, node[1])
    if op == OP_CALL:
        return node[1](*[evaluate_node(ctx, arg) for arg in node[2]])
    if op == OP_CALL_CHARGED:
        args = [evaluate_node(ctx, arg) for arg in node[2]]
        charge_call(args, node[4])
        return _call_by_name(node[1], args, node[3])
    if op == OP_BRANCH:  # {% if %}: the text of one branch
        return render_parts(ctx, node[2] if evaluate_node(ctx, node[1]) else node[3])
    if op == OP_TEXT:
        return render_parts(ctx, node[1])
    if op == OP_CALL_REG:  # Registered.__call__: the rule the compiled core copies
        args = [evaluate_node(ctx, arg) for arg in node[2]]
        charge_call(args, 1)
        if node[3] & REG_PASS_CONTEXT:
            args.insert(0, ctx.ctx if type(ctx) is _Frame else ctx)
        return _call_by_name(node[4], args, node[5])
    if op == OP_BUDGET:
        token = _regex.WORK.set([limits.current().max_work])
        try:
            if node[2] is True:
                return render_parts(ctx, node[1])
            if node[2] is False:
                return evaluate_node(ctx, node[1])
            return _render_blocks(ctx, node[1], limits.current().max_output)  # with loops
        finally:
            _regex.WORK.reset(token)
    if op == OP_LOOP:
        return _loop(ctx, node, limits.current().max_output)
    if op == OP_BINOP:
        return binop(node[1], evaluate_node(ctx, node[2]), evaluate_node(ctx, node[3]))
    if op == OP_SOFT:
        value = ctx.lookup_or_missing(node[1])
        return soft_missing(node[1]) if value is MISSING else value
    if op == OP_CONCAT:
        return concat([evaluate_node(ctx, arg) for arg in node[1]])
    if op == OP_COND:
        return evaluate_node(ctx, node[2] if evaluate_node(ctx, node[1]) else node[3])
    if op == OP_NEG:
        return -evaluate_node(ctx, node[1])
    if op == OP_POS:
        return +evaluate_node(ctx, node[1])
    if op == OP_LIST:
        return [evaluate_node(ctx, arg) for arg in node[1]]
    if op == OP_TUPLE:
        return tuple([evaluate_node(ctx, arg) for arg in node[1]])
    if op == OP_DICT:  # every key and value first, then the dict: as Python's {k: v} display
        return dict([(evaluate_node(ctx, k), evaluate_node(ctx, v)) for k, v in node[1]])
    if op == OP_RESULT:
        return ctx.last_result
    if op == OP_OUTCOME:
        return ctx.last_outcome is node[1]
    raise AssertionError(f"unknown opcode {op}")


class _Frame:
    """What a loop's body is rendered with: the context's look-ups, the context itself (what
    a registered function is given), the loop's variable and ``loop`` and the frame of the
    loop around it, or None."""

    __slots__ = ("ctx", "value", "loop", "outer")
    ctx: Any
    outer: _Frame | None

    def __init__(self, ctx: Any) -> None:
        outer = ctx if type(ctx) is _Frame else None
        self.ctx = ctx if outer is None else outer.ctx
        self.outer = outer
        self.value = self.loop = None

    def lookup(self, path: tuple[Any, ...]) -> Any:
        return self.ctx.lookup(path)

    def lookup_or_missing(self, path: tuple[Any, ...]) -> Any:
        return self.ctx.lookup_or_missing(path)

    @property
    def last_result(self) -> Any:
        return self.ctx.last_result

    @property
    def last_outcome(self) -> Any:
        return self.ctx.last_outcome


def _local(frame: Any, node: tuple[Any, ...]) -> Any:
    """``OP_LOCAL``: a look-up on a loop's variable or ``loop``."""
    for _ in range(node[1]):
        frame = frame.outer
    value = frame.loop if node[2] else frame.value
    if node[2] and len(node[4]) == 1:  # loop.index, ...: what the sandbox allows of it
        return getattr(value, node[4][0])
    if not node[4] and type(value) in _DATA:
        return value  # a value of data, no keys: resolved_path gives it as it is
    if type(value) is dict and not node[6]:  # string keys of dicts, found: as walk finds them
        for key in node[4]:
            value = value.get(key, MISSING) if type(value) is dict and type(key) is str \
                else MISSING
            if value is MISSING:
                break
        else:
            return value
        value = frame.loop if node[2] else frame.value
    return resolved_path(node[3], value, *node[4:])


_DATA = frozenset((str, int, dict, list, float, bool, type(None)))


def _render_blocks(ctx: Any, parts: tuple[Any, ...], room: int) -> str:
    """The parts of a template with loops, within the room left under max_output."""
    out: list[str] = []
    _add_parts(ctx, parts, room, 0, out)
    return "".join(out)


def _add_parts(ctx: Any, parts: tuple[Any, ...], room: int, size: int, out: list[str]) -> int:
    """Each part's text appended to ``out``, charged as it comes to the room left under
    max_output (``size`` of it used already), which each loop and if-block is given for its
    own parts: the limit is exceeded at the part where the Jinja2 path exceeds it, before any
    error of a later part. The size used after them."""
    for part in parts:
        if type(part) is str:
            text = part
        elif part[0] == OP_LOOP:
            text = _loop(ctx, part, room - size)
        elif part[0] == OP_BRANCH:
            text = _render_blocks(
                ctx, part[2] if evaluate_node(ctx, part[1]) else part[3], room - size)
        else:
            text = _part_text(ctx, part)
        size += len(text)
        if size > room:
            output_too_long()
        out.append(text)
    return size


def _loop(ctx: Any, node: tuple[Any, ...], room: int) -> str:
    """``OP_LOOP``: the body's text per value, each part charged to the room left under
    max_output as it comes."""
    uses_loop, body = node[4], node[2]
    values = loop_values(node[5], evaluate_node(ctx, node[1]), uses_loop)
    frame = _Frame(ctx)
    out: list[str] = []
    size = 0
    ran = False
    for value in values:
        ran = True
        if uses_loop:
            frame.value, frame.loop = value
        else:
            frame.value = value
        size = _add_parts(frame, body, room, size, out)
    if not ran and node[3]:
        return _render_blocks(ctx, node[3], room)
    return "".join(out)


def _call_by_name(function: Any, args: list[Any], names: tuple[str, ...]) -> Any:
    """``function(*args)``, the last ``len(names)`` of ``args`` passed by those names."""
    if not names:
        return function(*args)
    n = len(args) - len(names)
    return function(*args[:n], **dict(zip(names, args[n:])))
