"""The sandbox every Jinja2 template runs in.

- :class:`Sandbox`, an immutable sandboxed Jinja2 environment whose attribute and item access
  follow the data rules (``a.items`` is the key ``items``) and whose arithmetic operators are
  the bounded ones of ``fastctx._operators``;
- :class:`Missing`, the undefined value: any use raises :class:`VariableNotFound`;
- the workflow functions (``result()``, ``succeeded()``...), ``range`` charged to the loop
  budget, and the internal filters the AST rewrite inserts (``@path``, ``@item``,
  ``@callee``, ``@concat``, ``@loop``: their names cannot be written in a template) beside
  Jinja2's own as ``fastctx._filters`` serves them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import _GroupTuple
from jinja2.lexer import TOKEN_STRING, Lexer
from jinja2.runtime import (
    BlockReference,
    Context,
    LoopContext,
    Macro,
    StrictUndefined,
    TemplateReference,
    Undefined,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context, pass_environment
from jinja2.utils import missing as MISSING_JINJA

from . import _regex, limits
from ._data import (
    MISSING,
    ContextView,
    a_type_name,
    describe_path,
    missing_message,
    root_message,
    step,
    to_text,
    walk,
    walk_or_missing,
)
from ._filters import served_filters
from ._functions import HELPERS, fn_range
from ._operators import binop, concat
from ._outcome import OUTCOMES, TaskOutcome
from ._rewrite import COMPUTED_CALLEE
from .errors import InvalidExpression, LimitExceeded, VariableNotFound

__all__ = ["WORKFLOW_FUNCTIONS", "Missing", "Sandbox", "WorkflowJinjaContext", "make_sandbox",
           "soft_missing"]


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


def soft_missing(path: tuple[Any, ...]) -> Missing:
    """What a look-up under ``default``/``defined`` gives when nothing is there."""
    text = describe_path(path[0], path[1:])
    return Missing(f"{text!r} is not defined", path=text)


# -- the sandbox ---------------------------------------------------------------------------
class WorkflowJinjaContext(Context):
    """Jinja2's context, resolving names from a workflow context: functions first, then the
    namespaces (``parameters``, ``task``, ``item``, ...), then workflow variables."""

    wf: ContextView

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
        context.wf_work = self.wf_work  # type: ignore[attr-defined]
        return context


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_KNOWN_ESCAPES = frozenset("\n\\'\"abfnrtvx01234567NuU")


def _unknown_escape(match: re.Match[str]) -> str:
    return match.group(0) if match.group(1) in _KNOWN_ESCAPES else "\\" + match.group(0)


class _Lexer(Lexer):
    """Jinja2's lexer, reading an unknown escape in a string literal (``"\\w+"`` in a regex)
    as the backslash and the character, as Jinja2 does, but without the DeprecationWarning
    Python gives for it, which a run with warnings as errors turns into a syntax error: a
    template parses the same way under any warning filter."""

    def tokeniter(self, source: str, name: str | None, filename: str | None = None,
                  state: str | None = None) -> Iterator[tuple[int, str, str]]:
        for lineno, token, value in super().tokeniter(source, name, filename, state):
            if token == TOKEN_STRING and "\\" in value:
                value = value[0] + _ESCAPE.sub(_unknown_escape, value[1:-1]) + value[-1]
            yield lineno, token, value


class _CodeGenerator(CodeGenerator):
    """Jinja2's code generator without its constant folding of output: ``{{ 'x'|center(n) }}``
    sixty times would be built while compiling (and kept in the compiled code), where no
    render-time limit sees it. Literal text is still written as it is."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame,
                               finalize: Any) -> str:
        if isinstance(node, nodes.TemplateData):
            return super()._output_child_to_const(node, frame, finalize)
        raise nodes.Impossible()


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox every Jinja2 template runs in.

    Attribute and item access on data follow the core's rules (``a.items`` is the key
    ``items``); the arithmetic operators are the bounded ones of ``fastctx._operators``.
    """

    context_class = WorkflowJinjaContext
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))
    #: ids of the functions in the globals: where Jinja2 finds one for a name used as a
    #: value, the name is looked up as data instead (a function is never a value).
    function_ids: frozenset[int] = frozenset()

    @staticmethod
    def weight(name: str) -> int:
        """What a call of the filter ``name`` is charged per element or character of its
        arguments (the compiled path charges as the Jinja2 path does)."""
        return WEIGHTS.get(name, 1)

    @property
    def lexer(self) -> Lexer:
        lexer: Lexer | None = self.__dict__.get("_fastctx_lexer")
        if lexer is None:  # the options are set by now; they do not change after
            lexer = self.__dict__["_fastctx_lexer"] = _Lexer(self)
        return lexer

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise InvalidExpression(f"blocked by the sandbox: attribute {attribute!r} of a "
                                f"{type(obj).__name__}")

    # No attribute or method of a Python object is reachable: data is looked up by the data
    # rules (a value a filter made, such as a Markup string or a tuple, as the data it holds),
    # and of Jinja2's own objects only what templates use (loop.index, group.grouper, a block
    # of self, super()).
    def getattr(self, obj: Any, attribute: str) -> Any:
        kind = type(obj)
        if kind in _DATA_TYPES:
            return _data_step(obj, attribute)
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        if attribute in _JINJA_ATTRIBUTES.get(kind, ()) or kind is TemplateReference:
            return super().getattr(obj, attribute)
        data = _as_data(obj)
        if data is not None:
            return _data_step(data, attribute)
        raise InvalidExpression(f"blocked by the sandbox: attribute {attribute!r} of a "
                                f"{kind.__name__}")

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Undefined):
            obj._fail_with_undefined_error()
        kind = type(obj)
        if kind not in _DATA_TYPES:
            if kind is TemplateReference:
                return super().getitem(obj, argument)
            data = _as_data(obj)
            if data is None:
                raise InvalidExpression(f"blocked by the sandbox: an item of a "
                                        f"{kind.__name__}")
            obj = data
        if type(argument) is slice and type(obj) is not dict:
            return obj[argument]
        return _data_step(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if type(left) is int and type(right) is int and operator in _QUADRATIC:
            # schoolbook big-integer arithmetic: about 64 digit pairs (30 bits each) a unit
            units = (left.bit_length() // 30 + 1) * (right.bit_length() // 30 + 1) >> 6
            if units:
                _charge_work(context.wf_work, units)  # type: ignore[attr-defined]
        return binop(operator, left, right)

    def call_filter(self, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        # by name at run time (map('upper'), select('odd')): never an internal filter
        if type(name) is str and name.startswith("@"):
            raise InvalidExpression(f"no filter named {name!r}")
        return super().call_filter(name, value, *args, **kwargs)

    def call_test(self, name: str, value: Any, args: Any = None, kwargs: Any = None,
                  context: Context | None = None, eval_ctx: Any = None) -> Any:
        # by name at run time (select('odd')); the test charges its call (charging)
        if type(name) is str and name.startswith("@"):
            raise InvalidExpression(f"no test named {name!r}")
        return super().call_test(name, value, args, kwargs, context, eval_ctx)


_DATA_TYPES = frozenset((dict, list, str, int, float, bool, type(None)))
#: The attributes of Jinja2's own objects that templates use.
_JINJA_ATTRIBUTES: dict[type, frozenset[str]] = {
    LoopContext: frozenset(("index", "index0", "revindex", "revindex0", "first", "last",
                            "length", "depth", "depth0", "previtem", "nextitem", "cycle",
                            "changed")),
    _GroupTuple: frozenset(("grouper", "list")),
    BlockReference: frozenset(("super",)),
}


def _as_data(obj: Any) -> Any:
    """The data a value made by a filter holds (a Markup string is a string, a tuple a
    list), or None for anything else (an iterator, a function, any other object)."""
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, (tuple, list)):
        return list(obj)
    if isinstance(obj, dict):
        return dict(obj)
    return None


def _data_step(obj: Any, key: Any, root: str = "value") -> Any:
    value = step(obj, key)
    if value is MISSING:
        return Missing(missing_message(root, (key,), 0, obj),
                       path=describe_path(root, (key,)))
    return value


@pass_environment
def _item_filter(env: Sandbox, obj: Any, key: Any, root: str) -> Any:
    """``a[key]`` with a computed key; a missing one is named from ``root``, the key by its
    type and length only: it was computed while rendering, maybe from a secret."""
    if isinstance(obj, Undefined):
        obj._fail_with_undefined_error()
    if type(obj) in _DATA_TYPES and type(key) is not slice:
        value = step(obj, key)
        if value is MISSING:
            shown = f"{root}[<{a_type_name(key)}" + (
                f" of {len(key)} character{'' if len(key) == 1 else 's'}"
                if type(key) is str else "") + ">]"
            return Missing(f"{shown!r} is not defined: {root!r} is {a_type_name(obj)} without "
                           "that key or index (a key computed while rendering is not shown)",
                           path=shown)
        return value
    return env.getitem(obj, key)


# -- operators shared by the Jinja2 path and the compiled expressions ----------------------


# -- workflow functions (they read the outcome of the context being rendered) --------------
@pass_context
def _result(jctx: WorkflowJinjaContext) -> Any:
    return jctx.wf.last_result


def _outcome_test(outcome: TaskOutcome) -> Callable[[WorkflowJinjaContext], bool]:
    @pass_context
    def test(jctx: WorkflowJinjaContext) -> bool:
        return jctx.wf.last_outcome is outcome

    test.__name__ = outcome.value
    return test


WORKFLOW_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "result": _result,
    **{name: _outcome_test(outcome) for name, outcome in OUTCOMES.items()},
}


# -- filters the rewrite inserts; their names cannot be written in a template --------------
@pass_context
def _path_filter(jctx: WorkflowJinjaContext, value: Any, keys: tuple[Any, ...], root: str,
                 soft: bool) -> Any:
    """A look-up ``root.k1[k2]...`` whose root Jinja2 resolved to ``value``.

    A function is never a value: where Jinja2 found one (its globals come first), the name
    is looked up as data (namespaces, item and index, workflow variables), so a variable
    named ``count`` is reachable although ``count(...)`` is a helper."""
    env: Sandbox = jctx.environment  # type: ignore[assignment]
    if id(value) in env.function_ids:
        value = jctx.wf.resolve(root)
    return resolved_path(env, value, keys, root, soft)


def resolved_path(env: Sandbox, value: Any, keys: tuple[Any, ...], root: str,
                  soft: bool) -> Any:
    """``_path_filter`` once the root is resolved: also the compiled look-up on a loop's
    variable or ``loop`` (``OP_LOCAL``)."""
    if isinstance(value, Undefined):
        value = MISSING
    if value is MISSING:
        if soft:
            return soft_missing((root, *keys))
        raise VariableNotFound(root_message((root, *keys)), describe_path(root, keys))
    if type(value) not in _DATA_TYPES:  # loop, macros, self: Jinja2's own objects
        for key in keys:
            value = env.getattr(value, key) if type(key) is str else env.getitem(value, key)
        return value
    if soft:
        found = walk_or_missing(value, keys)
        return soft_missing((root, *keys)) if found is MISSING else found
    return walk(value, keys, root)


@pass_context
def _callee_filter(jctx: WorkflowJinjaContext, value: Any, name: str) -> Any:
    """What a call calls: a known function, or a macro counted against ``max_recursion``."""
    if name == COMPUTED_CALLEE and not (callable(value) and not isinstance(value, Undefined)):
        raise InvalidExpression("only functions, macros and the loop can be called: a method "
                                "of a value cannot")
    if isinstance(value, Undefined):
        if name.isidentifier():
            raise InvalidExpression(f"unknown function {name!r}")
        value._fail_with_undefined_error()
    if not callable(value):
        raise InvalidExpression(f"{name!r} is not a function")
    if isinstance(value, Macro):
        return functools.partial(_call_macro, jctx.wf_depth, value)  # type: ignore[attr-defined]
    if isinstance(value, LoopContext):  # loop(children) in a recursive for
        return functools.partial(_call_loop, jctx, value)
    if id(value) in jctx.environment.function_ids and _PassArg.from_obj(  # type: ignore[attr-defined]
            value) is None:  # a helper or a registered function: charged by its arguments
        return functools.partial(_call_charged, jctx.wf_work,  # type: ignore[attr-defined]
                                 WEIGHTS.get(name, 1), value)
    return value


def _call_macro(depth: list[int], macro: Macro, *args: Any, **kwargs: Any) -> Any:
    if depth[0] >= limits.current().max_recursion:
        raise LimitExceeded(f"macro or recursive loop calls nested deeper than max_recursion="
                            f"{limits.current().max_recursion}", "max_recursion")
    depth[0] += 1
    try:
        return macro(*args, **kwargs)
    finally:
        depth[0] -= 1


def _call_loop(jctx: WorkflowJinjaContext, loop: LoopContext, iterable: Any) -> Any:
    """A recursive loop's call: nested like a macro call (``max_recursion``), and each of its
    iterations counted like any loop's (``max_loop_iterations``)."""
    return _call_macro(jctx.wf_depth, loop,  # type: ignore[attr-defined, arg-type]
                       _counted(jctx, iterable))


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
            f"loops ran more than max_loop_iterations={limits.current().max_loop_iterations}"
            " iterations", "max_loop_iterations")


def _charge_work(work: list[int], units: int) -> None:
    work[0] -= units
    if work[0] < 0:
        raise LimitExceeded(
            f"the render did more than max_work={limits.current().max_work} units of work "
            "(loop iterations, and the elements and characters filters and functions were "
            "given)", "max_work")


_QUADRATIC = frozenset(("*", "//", "%"))  # on two ints, charged by their sizes

# The units of max_work: about 0.2 µs of CPU each (measured). A loop iteration costs
# LOOP_UNITS, a call of a filter or function CALL_UNITS and then one unit per element or
# character of its arguments (WEIGHTS: more for filters that do more per character).
LOOP_UNITS = 5
CALL_UNITS = 35
WEIGHTS = {"wordwrap": 20, "urlize": 20, "striptags": 5, "truncate": 2, "title": 2,
           # a Python key function per element, then n log n comparisons
           "sort": 5, "dictsort": 5, "groupby": 5, "unique": 5, "min": 3, "max": 3}


def _size(value: Any) -> int:
    """What a call is charged for an argument: its elements or characters."""
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    return 0


def _call_units(args: tuple[Any, ...], kwargs: dict[str, Any], weight: int = 1) -> int:
    return CALL_UNITS + weight * (sum(map(_size, args)) + sum(map(_size, kwargs.values())))


def _call_charged(work: list[int], weight: int, function: Callable[..., Any], *args: Any,
                  **kwargs: Any) -> Any:
    _charge_work(work, _call_units(args, kwargs, weight))
    token = _regex.WORK.set(work)  # a regular expression's match is charged to it too
    try:
        return function(*args, **kwargs)
    finally:
        _regex.WORK.reset(token)


def charge_call(args: Any, weight: int) -> None:
    """A compiled call of a filter, test or function, charged to the work budget of the
    program calling it (``OP_BUDGET``) as the Jinja2 path charges it."""
    work = _regex.WORK.get()
    if work is not None:
        _charge_work(work, _call_units(args, {}, weight))


def charging(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Jinja2's filter or test ``fn``, charging the render's work budget for the call and the
    size of its input and arguments first. The compiled path charges its calls itself
    (``OP_CALL_CHARGED``, ``charge_call``) and calls ``fn``, kept as ``fastctx_unwrapped``."""
    passed = _PassArg.from_obj(fn)
    weight = WEIGHTS.get(name, 1)

    @pass_context
    @functools.wraps(fn)
    def charged(jctx: WorkflowJinjaContext, *args: Any, **kwargs: Any) -> Any:
        work = jctx.wf_work  # type: ignore[attr-defined]
        _charge_work(work, _call_units(args, kwargs, weight))
        token = _regex.WORK.set(work)  # a regular expression's match is charged to it too
        try:
            if passed is _PassArg.context:
                return fn(jctx, *args, **kwargs)
            if passed is _PassArg.environment:
                return fn(jctx.environment, *args, **kwargs)
            if passed is _PassArg.eval_context:
                return fn(jctx.eval_ctx, *args, **kwargs)
            return fn(*args, **kwargs)
        finally:
            _regex.WORK.reset(token)

    charged.fastctx_unwrapped = fn  # type: ignore[attr-defined]
    return charged


@pass_context
def _loop_filter(jctx: WorkflowJinjaContext, iterable: Any) -> Iterator[Any]:
    """Count every loop iteration of a render against ``max_loop_iterations`` and
    ``max_work``."""
    return _counted(jctx, iterable)


def _counted(jctx: WorkflowJinjaContext, iterable: Any) -> Iterator[Any]:
    return counted(jctx.wf_budget, jctx.wf_work, iterable)  # type: ignore[attr-defined]


def loop_values(env: Sandbox, iterable: Any, uses_loop: bool) -> Any:
    """What a compiled ``{% for %}`` (``OP_LOOP``, in an ``OP_BUDGET``) iterates, as the
    Jinja2 path iterates it: the values counted as ``_counted`` counts them, the
    iterations against a budget of the render's (kept beside its work budget), and in
    pairs ``(value, loop)`` with Jinja2's own ``LoopContext`` if ``uses_loop``."""
    work: Any = _regex.WORK.get()
    if work is None:  # the compiler puts every template with a loop in one
        raise RuntimeError("a compiled loop runs in an OP_BUDGET")
    if len(work) == 1:
        work.append([limits.current().max_loop_iterations])
    values = counted(work[1], work, iterable)
    return LoopContext(values, env.undefined) if uses_loop else values


def counted(budget: list[int], work: list[int], iterable: Any) -> Iterator[Any]:
    if type(iterable) is dict:  # a shared store another thread may be adding keys to
        iterable = list(iterable)  # one C-level copy, atomic under the GIL
    for value in iterable:
        _charge(budget, 1)
        _charge_work(work, LOOP_UNITS)
        yield value


def make_sandbox(functions: dict[str, Callable[..., Any]], filters: dict[str, Any],
                 tests: dict[str, Any], *, trim_blocks: bool = False, lstrip_blocks: bool = False,
                 finalize: Callable[[Any], str] = to_text,
                 concat_values: Callable[[Any], str] = concat) -> Sandbox:
    """A sandbox with the helper functions and Jinja2's filters and tests as served here,
    then an engine's own ``functions``, ``filters`` and ``tests`` (which take precedence);
    ``finalize`` prints each ``{{ }}`` value, ``concat_values`` is ``~``."""
    # optimized=False: Jinja2's optimizer would fold constant expressions while compiling,
    # where no render-time limit sees what they build (and see _CodeGenerator)
    env = Sandbox(undefined=Missing, finalize=finalize, keep_trailing_newline=True,
                  autoescape=False, cache_size=0, trim_blocks=trim_blocks,
                  lstrip_blocks=lstrip_blocks, optimized=False)
    env.globals.clear()
    env.globals.update(HELPERS)
    env.globals["range"] = _charged_range
    env.globals.update(functions)
    env.globals.update(WORKFLOW_FUNCTIONS)
    env.globals["null"] = None
    env.function_ids = frozenset(id(value) for value in env.globals.values() if callable(value))
    env.filters = {name: charging(name, fn)
                   for name, fn in served_filters(env.filters).items()}
    env.filters.update({name: charging(name, fn) for name, fn in filters.items()})
    env.filters.update({"@path": _path_filter, "@callee": _callee_filter, "@item": _item_filter,
                        "@concat": concat_values, "@loop": _loop_filter})
    jinja_tests: dict[str, Any] = dict(env.tests)
    env.tests = {name: charging(name, fn) for name, fn in jinja_tests.items()}
    env.tests.update({name: charging(name, fn) for name, fn in tests.items()})
    return env
