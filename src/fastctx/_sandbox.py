"""The sandbox every Jinja2 template runs in, and the operators and filters it is built from.

- :class:`Sandbox`, an immutable sandboxed Jinja2 environment whose attribute and item access
  follow the data rules (``a.items`` is the key ``items``) and whose ``+``, ``*``, ``**`` and
  ``%`` are bounded by the limits (:func:`binop`, also called by compiled expressions);
- :class:`Missing`, the undefined value: any use raises :class:`VariableNotFound`;
- the workflow functions (``result()``, ``succeeded()``...), the internal filters the AST
  rewrite inserts (``@path``, ``@item``, ``@callee``, ``@concat``, ``@loop``) and Jinja2's
  own filters wrapped so that they check widths and counts before allocating and print
  values by the printing rule (``fastctx._data.to_text``) instead of Python's ``str``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, Macro, StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context, pass_eval_context
from jinja2.utils import missing as MISSING_JINJA

from . import limits
from ._data import (
    MISSING,
    ContextView,
    describe_path,
    missing_message,
    step,
    to_text,
    walk,
    walk_or_missing,
)
from ._functions import HELPERS, check_join, check_replace, fn_range
from ._outcome import OUTCOMES, TaskOutcome
from .errors import InvalidExpression, LimitExceeded, TypeConversion, VariableNotFound

__all__ = ["SANDBOX", "WORKFLOW_FUNCTIONS", "Missing", "Sandbox", "WorkflowJinjaContext",
           "binop", "concat", "make_sandbox", "soft_missing"]


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


def _data_step(obj: Any, key: Any, root: str = "value") -> Any:
    value = step(obj, key)
    if value is MISSING:
        return Missing(missing_message(root, (key,), 0, obj),
                       path=describe_path(root, (key,)))
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
    """Apply an arithmetic operator within the limits; errors as ContextError subclasses."""
    if operator == "*":
        _check_repeat(left, right)
        if not (type(left) is int and type(right) is int):  # int * int: checked once
            _check_repeat(right, left)
    elif operator == "**":
        _check_power(left, right)
    elif operator == "%" and isinstance(left, str):
        _check_format("'%'", left)
        right = _format_arguments(left, right)
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
def _path_filter(value: Any, keys: tuple[Any, ...], root: str, soft: bool) -> Any:
    """A look-up ``root.k1[k2]...`` whose root Jinja2 resolved to ``value``."""
    if isinstance(value, Undefined):
        if soft:
            return soft_missing((root, *keys))
        path = describe_path(root, keys)
        raise VariableNotFound(f"{path!r} is not defined: no variable named {root!r}", path)
    if type(value) not in _DATA_TYPES:  # loop, macros, self: Jinja2's own objects
        if not keys and id(value) in _FUNCTION_IDS:
            raise TypeConversion(f"{root!r} is a function: call it, {root}(...)")
        for key in keys:
            value = (SANDBOX.getattr(value, key) if type(key) is str
                     else SANDBOX.getitem(value, key))
        return value
    if soft:
        found = walk_or_missing(value, keys)
        return soft_missing((root, *keys)) if found is MISSING else found
    return walk(value, keys, root)


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


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?[hlL]?(.?)")


def _check_format(name: str, value: Any, *args: Any) -> None:
    """A %-format: no field wider than max_repeat, and no ``%r`` or ``%a`` (they print
    Python's repr of a value, not its text)."""
    for width, precision, conversion in _FORMAT_SPEC.findall(str(value)):
        for part in (width, precision):
            if part == "*" or (part and int(part) > limits.LIMITS.max_repeat):
                raise LimitExceeded(f"{name}: a field width beyond max_repeat="
                                    f"{limits.LIMITS.max_repeat}", "max_repeat")
        if conversion in ("r", "a"):
            raise InvalidExpression(f"{name}: %{conversion} prints a Python repr; use %s")


def _printable(value: Any) -> Any:
    """A %-format argument: numbers as they are (for %d, %x, %f...), the rest as text."""
    return value if type(value) in (str, int, float) else to_text(value)


def _format_arguments(fmt: str, arguments: Any) -> Any:
    """The right operand of ``fmt % arguments`` with every value printed by the printing
    rule: a tuple member by member, a dict by its values when ``fmt`` names keys."""
    if type(arguments) is tuple:
        return tuple(_printable(member) for member in arguments)
    if type(arguments) is dict and "%(" in fmt:
        return {key: _printable(member) for key, member in arguments.items()}
    return _printable(arguments)


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


@pass_context
def _loop_filter(jctx: WorkflowJinjaContext, iterable: Any) -> Iterator[Any]:
    """Count every loop iteration of a render against ``max_loop_iterations``."""
    budget = jctx.wf_budget  # type: ignore[attr-defined]
    if type(iterable) is dict:  # a shared store another thread may be adding keys to
        iterable = list(iterable)  # one C-level copy, atomic under the GIL
    for value in iterable:
        _charge(budget, 1)
        yield value


# -- Jinja2's filters, printing by the printing rule ----------------------------------------
#: Filters that turn their input into text with Python's ``str`` (a list would print as
#: ``['a']``, a generator as ``<generator object ... at 0x...>``): they get its text first.
_PRINTING_FILTERS = ("capitalize", "center", "e", "escape", "forceescape", "format", "indent",
                     "lower", "replace", "safe", "striptags", "title", "trim", "truncate",
                     "upper", "urlize", "wordcount", "wordwrap")


def _prints_its_input(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Jinja2's filter ``fn``, given the text of its input when that is not a string."""
    skip = 0 if _PassArg.from_obj(fn) is None else 1

    @functools.wraps(fn)  # keeps the pass_environment / pass_eval_context marker
    def printed(*args: Any, **kwargs: Any) -> Any:
        if len(args) > skip and not isinstance(args[skip], str):
            args = (*args[:skip], to_text(args[skip]), *args[skip + 1:])
        return fn(*args, **kwargs)

    return printed


def _string_filter(value: Any) -> str:
    """``x|string``: the text of a value, as the template would print it."""
    return to_text(value)


def _formatted(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``format``: its arguments printed by the printing rule, as for ``%``."""
    @functools.wraps(fn)
    def format_(value: Any, *args: Any, **kwargs: Any) -> Any:
        fmt = str(value)
        return fn(value, *_format_arguments(fmt, args),
                  **{key: _printable(member) for key, member in kwargs.items()})

    return format_


def _joined(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``join``: each member printed by the printing rule (``attribute=`` first applied)."""
    @pass_eval_context
    @functools.wraps(fn)
    def join(eval_ctx: EvalContext, value: Any, d: Any = "", attribute: Any = None) -> Any:
        if attribute is not None:
            value = map(make_attrgetter(eval_ctx.environment, attribute), value)
        if not isinstance(value, str):
            value = [member if isinstance(member, str) else to_text(member)
                     for member in value]
        return fn(eval_ctx, value, d)

    return join


def _xmlattr_values(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``xmlattr``: attribute values printed by the printing rule (null ones still left out)."""
    @pass_eval_context
    @functools.wraps(fn)
    def xmlattr(eval_ctx: EvalContext, d: Any, autospace: bool = True) -> Any:
        if type(d) is dict:
            d = {key: member if member is None or isinstance(member, str) else to_text(member)
                 for key, member in d.items()}
        return fn(eval_ctx, d, autospace)

    return xmlattr


def _urlencoded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``urlencode``: a value, an object's values or pairs' members printed by the printing
    rule."""
    @functools.wraps(fn)
    def urlencode(value: Any) -> Any:
        if type(value) is dict:
            value = {key: to_text(member) for key, member in value.items()}
        elif isinstance(value, (list, tuple)):
            value = [tuple(to_text(member) for member in pair) if isinstance(pair, (list, tuple))
                     else pair for pair in value]
        elif not isinstance(value, str):
            value = to_text(value)
        return fn(value)

    return urlencode


#: The registered functions: values only to be called, never printed or passed around.
_FUNCTION_IDS = frozenset(id(function) for function in (*HELPERS.values(),
                                                          *WORKFLOW_FUNCTIONS.values(),
                                                          _charged_range))


def make_sandbox() -> Sandbox:
    env = Sandbox(undefined=Missing, finalize=to_text, keep_trailing_newline=True,
                  autoescape=False, cache_size=0)
    env.globals.clear()
    env.globals.update(HELPERS)
    env.globals.update(WORKFLOW_FUNCTIONS)
    env.globals["null"] = None
    del env.filters["attr"]  # reaches Python attributes, past the data rules
    del env.filters["pprint"]  # Python's pretty printer: a repr; tojson(indent=2) prints data
    for name in _PRINTING_FILTERS:
        env.filters[name] = _prints_its_input(env.filters[name])
    env.filters["string"] = _string_filter
    env.filters["format"] = _formatted(env.filters["format"])
    env.filters["join"] = _joined(env.filters["join"])
    env.filters["xmlattr"] = _xmlattr_values(env.filters["xmlattr"])
    env.filters["urlencode"] = _urlencoded(env.filters["urlencode"])
    for name in ("center", "indent", "wordwrap", "truncate", "slice", "batch"):
        env.filters[name] = _bounded(name, env.filters[name], _check_widths)
    env.filters["join"] = _bounded("join", env.filters["join"], _check_join)
    env.globals["range"] = _charged_range
    env.filters["format"] = _bounded("format", env.filters["format"], _check_format)
    env.filters["replace"] = _bounded("replace", env.filters["replace"], _check_replace)
    env.filters.update({"@path": _path_filter, "@callee": _callee_filter, "@item": _item_filter,
                        "@concat": concat, "@loop": _loop_filter})
    return env


#: The sandbox every template and expression of the process runs in.
SANDBOX = make_sandbox()
