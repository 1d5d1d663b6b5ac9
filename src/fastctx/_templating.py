"""Templates and expressions: parsing, caching, the sandboxed Jinja2 path and the fast path.

Every template is parsed once with Jinja2's own parser and cached:

- a template of literal text and plain look-ups (``ping {{ item.host }}``) becomes a tuple of
  parts that the core renders by walking the paths, with no Jinja2 context;
- anything else is compiled by a sandboxed Jinja2 environment whose AST is rewritten first so
  that look-ups use the core's data semantics and name the full path when they fail.

Both paths print values with the core's ``to_text`` and raise the same errors.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import Context, Macro, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context
from jinja2.visitor import NodeTransformer

from . import limits
from ._compiler import Compiler, compile_node
from ._core_py import OP_PATH
from ._functions import HELPERS, check_join, check_replace, fn_range
from ._impl import core
from ._outcome import TaskOutcome
from .errors import (
    ContextError,
    InvalidExpression,
    LimitExceeded,
    TypeConversion,
    VariableNotFound,
)

if TYPE_CHECKING:
    from ._core_py import WorkflowContext

MISSING = core.MISSING
to_text = core.to_text
_JSON_SCALARS = (str, int, float, bool, type(None))
_MAX_CACHED = 4096
_SHOWN = 120  # characters of a template quoted in an error message


def quote(source: str) -> str:
    """A template as error messages show it: quoted, cut to a readable length."""
    return repr(source if len(source) <= _SHOWN else source[:_SHOWN] + "...")


# -- undefined values ----------------------------------------------------------------------
class Missing(StrictUndefined):
    """A look-up that found nothing; any use of it raises :class:`VariableNotFound`.

    ``default(...)`` and ``is defined`` see it as undefined, as in Jinja2.
    """

    __slots__ = ("_fastctx_path",)

    def __init__(self, hint: str | None = None, obj: Any = None, name: str | None = None,
                 exc: type = UndefinedError, path: str | None = None) -> None:
        super().__init__(hint, obj, name, exc)
        self._fastctx_path = path if path is not None else str(name or "")
        Missing.made += 1

    #: How many have been made, ever: an evaluation that made one checks its result deeply.
    made = 0

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        hint = self._undefined_hint or f"{self._fastctx_path!r} is not defined"
        if self._undefined_exception is SecurityError:
            raise InvalidExpression(f"blocked by the sandbox: {hint}")
        raise VariableNotFound(hint, self._fastctx_path)

    __str__ = __iter__ = __len__ = __eq__ = __ne__ = __bool__ = __hash__ = (
        _fail_with_undefined_error)
    __contains__ = __call__ = __getitem__ = _fail_with_undefined_error


# -- the sandbox ---------------------------------------------------------------------------
class WorkflowJinjaContext(Context):
    """Jinja2's context, resolving names from a workflow context: functions first, then the
    namespaces (``parameters``, ``task``, ``item``, ...), then workflow variables."""

    wf: WorkflowContext

    def resolve_or_missing(self, key: str) -> Any:
        value = super().resolve_or_missing(key)
        if value is MISSING_JINJA:
            value = self.wf.resolve(key)
            if value is MISSING:
                return MISSING_JINJA
        return value

    def derived(self, locals: dict[str, Any] | None = None) -> Context:
        context = super().derived(locals)
        context.wf = self.wf  # type: ignore[attr-defined]
        context.wf_budget = self.wf_budget  # type: ignore[attr-defined]
        context.wf_depth = self.wf_depth  # type: ignore[attr-defined]
        context.wf_range_budget = self.wf_range_budget  # type: ignore[attr-defined]
        return context


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox every Jinja2 template runs in.

    Attribute and item access on data follow the core's rules (``a.items`` is the key
    ``items``); ``*``, ``**`` and ``+`` are bounded by the limits.
    """

    context_class = WorkflowJinjaContext
    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise InvalidExpression(f"blocked by the sandbox: attribute {attribute!r} of a "
                                f"{type(obj).__name__}")

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) in _DATA_TYPES:
            return _data_step(obj, attribute)
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if type(obj) in _DATA_TYPES:
            if type(argument) is slice and type(obj) is not dict:
                return obj[argument]
            return _data_step(obj, argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return binop(operator, left, right)


_DATA_TYPES = frozenset((dict, list, str, int, float, bool, type(None)))
MISSING_JINJA: Any = None  # set below: jinja2.utils.missing


def _data_step(obj: Any, key: Any, root: str = "value") -> Any:
    value = core.step(obj, key)
    if value is MISSING:
        return Missing(core.missing_message(root, (key,), 0, obj),
                       path=core.describe_path(root, (key,)))
    return value


def _item_filter(obj: Any, key: Any, root: str) -> Any:
    """``a[key]`` with a computed key; a missing one is named from ``root``."""
    if isinstance(obj, Undefined):
        obj._fail_with_undefined_error()
    if type(obj) in _DATA_TYPES and type(key) is not slice:
        return _data_step(obj, key, root)
    return SANDBOX.getitem(obj, key)


# -- operators shared by the Jinja2 path and the compiled expressions ----------------------
def binop(operator: str, left: Any, right: Any) -> Any:
    """Apply an arithmetic operator with the limits and the contract's errors."""
    if operator == "*":
        _check_repeat(left, right)
        if not (type(left) is int and type(right) is int):  # int * int: checked once
            _check_repeat(right, left)
    elif operator == "**":
        _check_power(left, right)
    elif operator == "+" and type(left) in (str, list) and type(right) is type(left) \
            and len(left) + len(right) > limits.LIMITS.max_output:
        raise LimitExceeded(f"'+' would make a value longer than max_output="
                            f"{limits.LIMITS.max_output}", "max_output")
    try:
        return _BINOPS[operator](left, right)
    except ZeroDivisionError:
        raise InvalidExpression(f"division by zero in {operator!r}") from None
    except OverflowError:
        raise InvalidExpression(f"numeric overflow in {operator!r}") from None


def _check_power(base: Any, exponent: Any) -> None:
    if type(base) not in (int, bool) or type(exponent) not in (int, bool) or abs(base) <= 1:
        return
    bound = limits.LIMITS.max_power
    if exponent > bound or (abs(base).bit_length() - 1) * exponent > 4 * bound:
        # limit messages quote no operand: it may be (or be computed from) a secret
        raise LimitExceeded(f"'**' would pass max_power={bound} "
                            f"(exponent at most {bound}, result at most {4 * bound} bits)",
                            "max_power")


def _check_repeat(seq: Any, times: Any) -> None:
    """``seq * times``: its length, and for a list the text it holds, within max_repeat."""
    if type(times) not in (int, bool) or times <= 0:
        if type(seq) is int and type(times) is int:
            _check_int_product(seq, times)
        return
    if type(seq) is str:
        size = len(seq)
    elif type(seq) is list:  # ["x" * 10**6] * 1000 is short, and prints a gigabyte
        size = sum(len(member) if type(member) is str else 1 for member in seq)
    elif type(seq) is int:
        _check_int_product(seq, times)
        return
    else:
        return
    if size * times > limits.LIMITS.max_repeat:
        raise LimitExceeded(
            "repetition would make more elements than max_repeat="
            f"{limits.LIMITS.max_repeat}", "max_repeat")


def _check_int_product(left: int, right: int) -> None:
    # repeated squaring of a large int (x * x in a recursive macro) doubles its size each time
    bound = 4 * limits.LIMITS.max_power
    if left.bit_length() + right.bit_length() > bound:
        raise LimitExceeded(f"'*' would make an integer of more than {bound} bits "
                            f"(4 x max_power={limits.LIMITS.max_power})", "max_power")


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}


def concat(values: Any) -> str:
    """The ``~`` operator: the text of each value, joined, within ``max_output``."""
    out = "".join([to_text(value) for value in values])
    if len(out) > limits.LIMITS.max_output:
        raise LimitExceeded(f"'~' made a string longer than max_output="
                            f"{limits.LIMITS.max_output}", "max_output")
    return out


# -- workflow functions (they read the outcome of the context being rendered) --------------
@pass_context
def _result(jctx: WorkflowJinjaContext) -> Any:
    return jctx.wf.last_result


@pass_context
def _succeeded(jctx: WorkflowJinjaContext) -> bool:
    return jctx.wf.last_outcome is TaskOutcome.SUCCEEDED


@pass_context
def _failed(jctx: WorkflowJinjaContext) -> bool:
    return jctx.wf.last_outcome is TaskOutcome.FAILED


@pass_context
def _timed_out(jctx: WorkflowJinjaContext) -> bool:
    return jctx.wf.last_outcome is TaskOutcome.TIMED_OUT


WORKFLOW_FUNCTIONS = {
    "result": _result,
    "succeeded": _succeeded,
    "failed": _failed,
    "timed_out": _timed_out,
}


# -- filters the rewrite inserts; their names cannot be written in a template --------------
def _path_filter(value: Any, keys: tuple[Any, ...], root: str, soft: bool) -> Any:
    """A look-up ``root.k1[k2]...`` whose root Jinja2 resolved to ``value``."""
    if isinstance(value, Undefined):
        if soft:
            return soft_missing((root, *keys))
        path = core.describe_path(root, keys)
        raise VariableNotFound(f"{path!r} is not defined: no variable named {root!r}", path)
    if type(value) not in _DATA_TYPES:  # loop, macros, self: Jinja2's own objects
        if not keys and id(value) in _FUNCTION_IDS:
            raise TypeConversion(f"{root!r} is a function: call it, {root}(...)")
        for key in keys:
            value = (SANDBOX.getattr(value, key) if type(key) is str
                     else SANDBOX.getitem(value, key))
        return value
    if soft:
        found = core.walk_or_missing(value, keys)
        return soft_missing((root, *keys)) if found is MISSING else found
    return core.walk(value, keys, root)


@pass_context
def _callee_filter(jctx: WorkflowJinjaContext, value: Any, name: str) -> Any:
    """What a call calls: a known function, or a macro counted against ``max_recursion``."""
    if isinstance(value, Undefined):
        if name.isidentifier():
            raise InvalidExpression(f"unknown function {name!r}")
        value._fail_with_undefined_error()
    if not callable(value):
        raise InvalidExpression(f"{name!r} is not a function")
    if isinstance(value, Macro):
        return functools.partial(_call_macro, jctx.wf_depth, value)  # type: ignore[attr-defined]
    return value


def _call_macro(depth: list[int], macro: Macro, *args: Any, **kwargs: Any) -> Any:
    if depth[0] >= limits.LIMITS.max_recursion:
        raise LimitExceeded(f"macro calls nested deeper than max_recursion="
                            f"{limits.LIMITS.max_recursion}", "max_recursion")
    depth[0] += 1
    try:
        return macro(*args, **kwargs)
    finally:
        depth[0] -= 1


def _bounded(name: str, fn: Callable[..., Any], check: Callable[..., None]) -> Any:
    """Jinja2's filter ``fn`` with ``check(value, *args)`` first: some filters allocate
    from a width or a count before any output limit could see it ("%999999999d")."""
    skip = 0 if _PassArg.from_obj(fn) is None else 1

    @functools.wraps(fn)  # keeps the pass_environment / pass_eval_context marker
    def bounded(*args: Any, **kwargs: Any) -> Any:
        check(name, *args[skip:], *kwargs.values())
        return fn(*args, **kwargs)

    return bounded


def _check_widths(name: str, value: Any, *args: Any) -> None:
    for arg in args:
        if type(arg) is int and arg > limits.LIMITS.max_repeat:
            raise LimitExceeded(f"{name}: a width or count larger than max_repeat="
                                f"{limits.LIMITS.max_repeat}", "max_repeat")


def _check_format(name: str, value: Any, *args: Any) -> None:
    for width in re.findall(r"%(?:\([^)]*\))?[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?",
                            str(value)):
        for part in width:
            if part == "*" or (part and int(part) > limits.LIMITS.max_repeat):
                raise LimitExceeded(f"{name}: a field width beyond max_repeat="
                                    f"{limits.LIMITS.max_repeat}", "max_repeat")


def _check_join(name: str, value: Any, separator: Any = "", *rest: Any) -> None:
    if isinstance(value, (list, tuple, str)) and type(separator) is str:
        check_join(value, separator)


@pass_context
def _charged_range(jctx: WorkflowJinjaContext, *args: Any) -> list[int]:
    """``range`` in the Jinja2 path: the elements all its calls make in one render are at
    most max_loop_iterations too (``range(10**5)|sum`` inside a loop is work without
    iterations); counted apart from the iterations, so a loop over a range counts once."""
    values: list[int] = fn_range(*args)
    _charge(jctx.wf_range_budget, len(values))  # type: ignore[attr-defined]
    return values


def _charge(budget: list[int], work: int) -> None:
    budget[0] -= work
    if budget[0] < 0:
        raise LimitExceeded(
            f"loops ran more than max_loop_iterations={limits.LIMITS.max_loop_iterations}"
            " iterations", "max_loop_iterations")


def _check_replace(name: str, value: Any, old: Any = None, new: Any = None, *rest: Any) -> None:
    if type(value) is str and type(old) is str and type(new) is str:
        check_replace(value, old, new)


# -- the AST rewrite -----------------------------------------------------------------------
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
        text = core.describe_path(path[0], path[1:]) if path else "value"
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
        text = core.describe_path(path[0], path[1:]) if path else "expression"
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


@pass_context
def _loop_filter(jctx: WorkflowJinjaContext, iterable: Any) -> Iterator[Any]:
    """Count every loop iteration of a render against ``max_loop_iterations``."""
    budget = jctx.wf_budget  # type: ignore[attr-defined]
    if type(iterable) is dict:  # a shared store another thread may be adding keys to
        iterable = list(iterable)  # one C-level copy, atomic under the GIL
    for value in iterable:
        _charge(budget, 1)
        yield value


#: The registered functions: values only to be called, never printed or passed around.
_FUNCTION_IDS = frozenset(id(function) for function in (*HELPERS.values(),
                                                          *WORKFLOW_FUNCTIONS.values(),
                                                          _charged_range))


def _make_sandbox() -> Sandbox:
    env = Sandbox(undefined=Missing, finalize=to_text, keep_trailing_newline=True,
                  autoescape=False, cache_size=0)
    env.globals.clear()
    env.globals.update(HELPERS)
    env.globals.update(WORKFLOW_FUNCTIONS)
    env.globals["null"] = None
    del env.filters["attr"]  # reaches Python attributes, past the data rules
    for name in ("center", "indent", "wordwrap", "truncate", "slice", "batch"):
        env.filters[name] = _bounded(name, env.filters[name], _check_widths)
    env.filters["join"] = _bounded("join", env.filters["join"], _check_join)
    env.globals["range"] = _charged_range
    env.filters["format"] = _bounded("format", env.filters["format"], _check_format)
    env.filters["replace"] = _bounded("replace", env.filters["replace"], _check_replace)
    env.filters.update({"@path": _path_filter, "@callee": _callee_filter, "@item": _item_filter,
                        "@concat": concat, "@loop": _loop_filter})
    return env


SANDBOX: Sandbox
COMPILER: Compiler


def _init() -> None:
    global SANDBOX, COMPILER, MISSING_JINJA
    from jinja2.utils import missing

    MISSING_JINJA = missing
    SANDBOX = _make_sandbox()
    COMPILER = Compiler(SANDBOX, path_of)


_init()


# -- compiled templates and expressions ----------------------------------------------------
class JinjaProgram:
    """A template or expression compiled by the sandbox, rendered against a context."""

    __slots__ = ("source", "template", "is_expression")

    def __init__(self, source: str, tree: nodes.Template, is_expression: bool) -> None:
        self.source = source
        self.is_expression = is_expression
        self.template = SANDBOX.from_string(rewrite(tree))

    def _context(self, wf: WorkflowContext) -> WorkflowJinjaContext:
        jctx = WorkflowJinjaContext(SANDBOX, SANDBOX.globals, None, self.template.blocks)
        jctx.wf = wf
        jctx.wf_budget = [limits.LIMITS.max_loop_iterations]  # type: ignore[attr-defined]
        jctx.wf_depth = [0]  # type: ignore[attr-defined]
        jctx.wf_range_budget = [limits.LIMITS.max_loop_iterations]  # type: ignore[attr-defined]
        return jctx

    def render(self, wf: WorkflowContext) -> str:
        max_output = limits.LIMITS.max_output
        try:
            out: list[str] = []
            size = 0
            for chunk in self.template.root_render_func(self._context(wf)):
                size += len(chunk)
                if size > max_output:
                    raise LimitExceeded(
                        f"output is longer than max_output={max_output}", "max_output")
                out.append(chunk)
            return "".join(out)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ContextError
            error = error_for(exc, self.source, wf)
        raise error

    def evaluate(self, wf: WorkflowContext, name: str | None = None) -> Any:
        """The expression's value; errors name ``name`` (the template it came from)."""
        try:
            jctx = self._context(wf)
            made = Missing.made
            for _ in self.template.root_render_func(jctx):
                pass
            return native(jctx.vars["result"], Missing.made != made)
        except Exception as exc:  # noqa: BLE001
            error = error_for(exc, name or self.source, wf)
        raise error


def native(value: Any, deep: bool = False) -> Any:
    """An expression's result as a value: an undefined one raises, a tuple or an iterator
    (``(1, 2)``, ``map``, ``reverse``) becomes a list, Markup a plain string.

    ``deep``: the evaluation made an undefined value, which may sit inside a list or dict
    it built; look for it (only then: a stored value holds none, and may be large).
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if deep:
        stack = [value]
        while stack:
            member = stack.pop()
            if isinstance(member, Undefined):
                member._fail_with_undefined_error()
            if isinstance(member, (list, tuple)):  # groupby makes tuple subclasses
                stack.extend(member)
            elif type(member) is dict:
                stack.extend(member.values())
    kind = type(value)
    if kind is tuple or isinstance(value, Iterator):  # e.g. items: a list of pairs
        return [native(member) if type(member) is tuple or isinstance(member, Iterator)
                else member for member in value]
    if isinstance(value, str) and kind is not str:
        return str(value)
    if callable(value) or kind.__module__.startswith("jinja2"):
        raise TypeConversion(f"the expression's value is a {kind.__name__}, not data "
                             "(a function is called: f(x))")
    return value


def _check_source(source: Any, what: str) -> str:
    if type(source) is not str:
        raise TypeConversion(f"{what} must be a string, not {type(source).__name__}")
    if len(source) > limits.LIMITS.max_template_length:
        raise LimitExceeded(
            f"{what} {quote(source)} is longer than max_template_length="
            f"{limits.LIMITS.max_template_length}", "max_template_length")
    return source


def fast_parts(tree: nodes.Template) -> tuple[Any, ...] | None:
    """The fast path's parts if the template is only literal text and compilable
    expressions: a string, a path tuple ``(root, key, ...)`` or a compiled expression."""
    parts: list[Any] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
                continue
            compiled = compile_node(COMPILER, node)
            if compiled is None:
                return None
            parts.append(compiled[1] if compiled[0] == OP_PATH else compiled)
    return tuple(parts)


#: Caches shared by both cores: source -> program (a tuple the core runs, or a JinjaProgram).
TEMPLATES: dict[str, Any] = {}
EXPRESSIONS: dict[str, Any] = {}
#: render_json strings -> the expression of a pure "{{ expr }}", or "" for other templates.
JSON_STRINGS: dict[str, str] = {}


def _forget_compiled() -> None:
    """Templates were compiled and checked under the old limits: compile them again."""
    TEMPLATES.clear()
    EXPRESSIONS.clear()
    JSON_STRINGS.clear()


limits.on_change(_forget_compiled)


def _remember(cache: dict[str, Any], key: str, value: Any) -> Any:
    if len(cache) >= _MAX_CACHED:
        try:  # evict the oldest entry; another thread may have done it already
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    cache[key] = value
    return value


def compile_template(source: str, wf: WorkflowContext | None = None) -> Any:
    """A cached template: a tuple of fast-path parts, or a :class:`JinjaProgram`.

    ``wf``: the context it is compiled for, whose secrets an error message must not show
    (a template's own text may hold one)."""
    program = TEMPLATES.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "template")
        tree = SANDBOX.parse(source)
        program = fast_parts(tree) or JinjaProgram(source, tree, False)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        return _remember(TEMPLATES, source, program)
    raise error  # outside the except: the original may quote a secret


def parse_expression(source: str) -> nodes.Expr:
    """Parse one Jinja2 expression (no braces); the whole source must be used."""
    parser = Parser(SANDBOX, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the expression",
                                  token.lineno, None, None)
    return expr


def compile_expression(source: str, wf: WorkflowContext | None = None) -> Any:
    """A cached expression: a compiled tuple, or a :class:`JinjaProgram` (``wf`` as for
    :func:`compile_template`)."""
    program = EXPRESSIONS.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "expression")
        expr = parse_expression(source)
        program = compile_node(COMPILER, expr)
        if program is None:
            body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
            program = JinjaProgram(source, nodes.Template(body, lineno=1), True)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        return _remember(EXPRESSIONS, source, program)
    raise error  # outside the except: the original may quote a secret


def jinja_only(source: str, is_expression: bool) -> JinjaProgram:
    """The sandboxed Jinja2 program of a template or expression, never the compiled form:
    what the differential tests compare the fast path against."""
    if is_expression:
        body = [nodes.Assign(nodes.Name("result", "store"), parse_expression(source),
                             lineno=1)]
        return JinjaProgram(source, nodes.Template(body, lineno=1), True)
    return JinjaProgram(source, SANDBOX.parse(source), False)


def classify_json_string(text: str) -> str:
    """For render_json: the expression of a pure ``{{ expr }}``, else "" (cached)."""
    expression = JSON_STRINGS.get(text)
    if expression is None:
        expression = ""
        if len(text) <= limits.LIMITS.max_template_length:
            expression = pure_expression(text) or ""
        _remember(JSON_STRINGS, text, expression)
    return expression


def soft_missing(path: tuple[Any, ...]) -> Missing:
    """What a look-up under ``default``/``defined`` gives when nothing is there."""
    text = core.describe_path(path[0], path[1:])
    return Missing(f"{text!r} is not defined", path=text)


def pure_expression(source: str) -> str | None:
    """The expression inside a string that is exactly one ``{{ expr }}`` (with white space
    around it allowed), else None. Jinja2's lexer decides, so ``{{ n }}}`` is not one."""
    text = source.strip()
    if not (text.startswith("{{") and text.endswith("}}")):
        return None
    try:
        tokens = [token for token in SANDBOX.lexer.tokenize(source)
                  if token.type != "data" or token.value.strip()]
    except TemplateSyntaxError:
        return None
    if len(tokens) < 2 or tokens[0].type != "variable_begin" \
            or tokens[-1].type != "variable_end" \
            or any(token.type in ("variable_begin", "variable_end", "block_begin", "data")
                   for token in tokens[1:-1]):
        return None
    inner = text[2:-2]
    if inner.startswith("-"):  # {{- : white-space control, not a minus sign
        inner = inner[1:]
    if inner.endswith("-"):
        inner = inner[:-1]
    return inner


# -- errors --------------------------------------------------------------------------------
def error_for(exc: BaseException, source: str, wf: WorkflowContext | None) -> ContextError:
    """``exc`` as a :class:`ContextError` naming ``source``, with no secret in it.

    The caller raises it after its ``except`` block, so that the original exception (whose
    message may quote a secret) is not chained to it as ``__context__``.
    """
    if isinstance(exc, ContextError):
        error: ContextError = exc
    elif isinstance(exc, TemplateSyntaxError):
        error = InvalidExpression(f"syntax error: {exc.message} (line {exc.lineno})")
    elif isinstance(exc, SecurityError):
        error = InvalidExpression(f"blocked by the sandbox: {exc}")
    elif isinstance(exc, UndefinedError):
        error = VariableNotFound(str(exc))
    elif isinstance(exc, (ZeroDivisionError, OverflowError, ValueError, TemplateError)):
        error = InvalidExpression(f"{type(exc).__name__}: {exc}")
    elif isinstance(exc, (TypeError, AttributeError)):
        error = TypeConversion(str(exc))
    elif isinstance(exc, (LookupError)):
        error = VariableNotFound(f"{type(exc).__name__}: {exc}")
    elif isinstance(exc, RecursionError):
        error = LimitExceeded(f"recursion deeper than Python allows (max_recursion="
                              f"{limits.LIMITS.max_recursion})", "max_recursion")
    elif isinstance(exc, MemoryError):
        error = LimitExceeded("out of memory", "max_output")
    else:
        error = InvalidExpression(f"{type(exc).__name__}: {exc}")
    message = str(error)
    if getattr(error, "template", None) is None:
        message = f"{message} (in {quote(source)})"
        error.template = source  # type: ignore[attr-defined]
    error.args = (scrub(message, wf),)
    if getattr(error, "path", None):
        error.path = scrub(error.path, wf)  # type: ignore[attr-defined]
    error.__cause__ = error.__context__ = None
    return error


def scrub(message: str, wf: WorkflowContext | None) -> str:
    """``message`` with every keystore value of ``wf`` replaced by ``***``."""
    return message if wf is None else scrub_secrets(message, wf.keystore)


def scrub_secrets(message: str, keystore: dict[str, Any]) -> str:
    """``message`` with every value in ``keystore`` (nested ones too) replaced by ``***``."""
    if not keystore:
        return message
    secrets: list[str] = []
    stack: list[Any] = [keystore]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            stack.extend(value.values())
        elif type(value) is list:
            stack.extend(value)
        elif value is not None and type(value) is not bool:
            secrets.extend(_spellings(to_text(value)))
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            message = message.replace(secret, "***")
    return message


def _spellings(secret: str) -> list[str]:
    """A secret as messages may quote it: as is, escaped by repr or JSON, or both (a path
    text holds JSON-quoted keys and is itself quoted with repr)."""
    as_json = json.dumps(secret, ensure_ascii=False)[1:-1]
    as_repr = repr(secret)[1:-1]
    return [secret, as_json, as_repr, repr(as_json)[1:-1], repr(as_repr)[1:-1],
            json.dumps(secret)[1:-1]]
