"""Engines: what an executor adds to the template language, and what it keeps to itself.

An :class:`Engine` owns a sandbox, a compiler, its limits and three bounded caches (templates,
expressions, ``render_json`` strings). Executors register their own functions, filters, tests
and namespaces on an engine of their own; a context is bound to one engine (its clones share
it with the stores), and two engines never see each other's names, limits or caches.
:data:`DEFAULT_ENGINE` has the built-in helpers only.

What a registered callable returns is checked to be data; an exception it raises becomes an
:class:`InvalidExpression` naming it. Registered callables take the compiled path: a call
compiles to ``OP_CALL_REG``, which the core runs as ``__call__`` does (scalars accepted at once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from jinja2.utils import pass_context

from . import limits as _limits
from ._cache import Size
from ._compiler import JINJA_NAMES, Compiler
from ._data import ROOTS, check_json, to_text
from ._operators import concat
from ._outcome import OUTCOMES
from ._rewrite import path_of
from ._sandbox import WorkflowJinjaContext, make_sandbox
from .errors import ContextError, InvalidExpression, LimitExceeded, TypeConversion

__all__ = ["DEFAULT_ENGINE", "Engine", "Registered", "check_engine", "get_engine",
           "jinja_text"]

F = TypeVar("F", bound=Callable[..., Any])

#: Names an engine cannot take for a namespace: the roots every context has, the workflow
#: functions, Jinja2's own names and ``null``.
_RESERVED_NAMESPACES = frozenset(ROOTS) | {"result", *OUTCOMES} | JINJA_NAMES | {
    "null", "true", "false", "none"}

#: The characters of template source one cache of an engine keeps at most (16 Mi): beside
#: ``cache_size`` entries, a bound on what large templates and their compiled code hold.
CACHE_CHARS = 16 * 2**20

_ENGINES: dict[str, Engine] = {}
_REGISTERING = threading.Lock()


class Registered:
    """A function, filter or test an executor registered: the call of its callable, with the
    result checked to be data and any failure reported as a :class:`ContextError` naming it.

    ``pass_context``: the callable receives the context being rendered first (the compiled
    path passes it; the Jinja2 path calls :meth:`for_jinja`'s wrapper, which does).
    ``reads``: the root names (``"workflow"``, ``"keystore"``, ...) whose store such a callable
    reads, its first argument (when a constant) the key in them; None: any store (secret
    tracking then takes a field that calls it to be computed from every secret)."""

    __slots__ = ("kind", "name", "function", "pass_context", "checked", "reads")

    def __init__(self, kind: str, name: str, function: Callable[..., Any], pass_context: bool,
                 checked: bool = True, reads: tuple[str, ...] | None = None) -> None:
        self.kind = kind
        self.name = name
        self.function = function
        self.pass_context = pass_context
        self.reads = reads
        # False only for the shipped engines' functions that hand out stored values (checked
        # when they were stored): ctx() of a 1 MB context is not walked on every call.
        self.checked = checked

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            value = self.function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported naming the callable
            error = self.failure(exc)
        else:
            kind = type(value)
            if kind is bool or (self.kind != "test" and (kind is str or value is None)):
                return value
            return self.check(value)
        raise error  # outside the except: the original is not chained

    def failure(self, exc: Exception) -> ContextError:
        """What the callable's exception becomes: a ContextError passes, anything else is an
        InvalidExpression naming the callable."""
        if isinstance(exc, ContextError):
            return exc
        return InvalidExpression(f"{self.kind} {self.name!r} failed: {type(exc).__name__}: {exc}")

    def check(self, value: Any) -> Any:
        """The callable's result as data: a test's judged by plain truthiness; a tuple or an
        iterator made a list; then checked JSON-shaped (not again for the shipped engines'
        functions that hand out stored values)."""
        if self.kind == "test":
            return bool(self._data(value))
        if not self.checked:
            return value
        return self._data(value)

    def _data(self, value: Any) -> Any:
        if isinstance(value, (tuple, Iterator)) and self.kind != "test":
            value = list(value)
        try:
            return check_json(value, f"the value of {self.kind} {self.name!r}")
        except LimitExceeded:
            raise
        except ContextError as exc:
            error = TypeConversion(f"{self.kind} {self.name!r} returned a value that is not "
                                   f"data: {exc}")
        raise error

    def for_jinja(self) -> Callable[..., Any]:
        """What the sandbox calls: this, given the workflow context when it asks for one."""
        if not self.pass_context:
            return self

        @pass_context
        def call(jctx: WorkflowJinjaContext, *args: Any, **kwargs: Any) -> Any:
            return self(jctx.wf, *args, **kwargs)

        return call


def jinja_text(value: Any) -> str:
    """A value as Jinja2 prints it (``None``, ``True``, ``{'a': 1}``): the printing of
    engines made with ``printing="jinja2"``. Only data is printed, as by ``to_text``."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, Iterator) and not kind.__module__.startswith("jinja2"):
        value = list(value)
    to_text(value)  # raises for what is not data
    return str(value)


def _jinja_concat(values: Any) -> str:
    return concat([jinja_text(value) for value in values])


def _jinja_concat_args(*values: Any) -> str:
    return _jinja_concat(values)


class Engine:
    """What an executor adds to the template language: functions, filters, tests and
    namespaces, with limits, a cache and printing of its own.

    >>> import fastctx
    >>> engine = fastctx.Engine("doc-example", functions={"double": lambda x: 2 * x})
    >>> fastctx.WorkflowContext({"n": 21}, engine=engine).render_template(
    ...     "{{ double(parameters.n) }}")
    '42'
    """

    def __init__(
        self,
        name: str,
        *,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        tests: Mapping[str, Callable[..., Any]] | None = None,
        namespaces: Iterable[str] = (),
        limits: Mapping[str, int] | None = None,
        cache_size: int = 4096,
        trim_blocks: bool = False,
        lstrip_blocks: bool = False,
        printing: str = "json",
    ) -> None:
        if type(name) is not str or not name:
            raise ValueError("an engine's name must be a non-empty string")
        if type(cache_size) is not int or cache_size < 1:
            raise ValueError("cache_size must be a positive int")
        if printing not in ("json", "jinja2"):
            raise ValueError(f"printing must be 'json' or 'jinja2', not {printing!r}")
        self.name = name
        self.namespaces = _check_namespaces(namespaces)
        #: Limits of this engine (None: it follows the process defaults in everything).
        self.limits = _limits.Overrides(limits) if limits else None
        self.cache_size = cache_size
        #: Entries are moved to the end on a hit once a cache holds more than this.
        self.lru_from = cache_size // 2
        self.trim_blocks = bool(trim_blocks)
        self.lstrip_blocks = bool(lstrip_blocks)
        self.printing = printing
        self.templates: dict[str, Any] = {}
        self.expressions: dict[str, Any] = {}
        self.json_strings: dict[str, str] = {}
        #: The characters of source each cache holds, at most CACHE_CHARS each.
        self.sizes = {id(cache): Size(CACHE_CHARS)
                      for cache in (self.templates, self.expressions, self.json_strings)}
        self.functions: dict[str, Registered] = {}
        self.filters: dict[str, Registered] = {}
        self.tests: dict[str, Registered] = {}
        for kind, given in (("function", functions), ("filter", filters), ("test", tests)):
            for key, function in (given or {}).items():
                self._add(kind, key, function, False)
        self._build()
        with _REGISTERING:
            if name in _ENGINES:
                raise ValueError(f"an engine named {name!r} exists already")
            _ENGINES[name] = self

    # -- registering ---------------------------------------------------------------------
    # ``reads`` (with ``pass_context``): the root names whose stores the callable reads, for
    # secret tracking (see Registered); None: it may read any.
    def function(self, name: str, pass_context: bool = False,
                 reads: Iterable[str] | None = None) -> Callable[[F], F]:
        """Register the decorated callable as the function ``name(...)``."""
        return self._decorator("function", name, pass_context, reads)

    def filter(self, name: str, pass_context: bool = False,
               reads: Iterable[str] | None = None) -> Callable[[F], F]:
        """Register the decorated callable as the filter ``value | name(...)``."""
        return self._decorator("filter", name, pass_context, reads)

    def test(self, name: str, pass_context: bool = False,
             reads: Iterable[str] | None = None) -> Callable[[F], F]:
        """Register the decorated callable as the test ``value is name(...)``."""
        return self._decorator("test", name, pass_context, reads)

    def _decorator(self, kind: str, name: str, pass_context: bool,
                   reads: Iterable[str] | None) -> Callable[[F], F]:
        def register(function: F) -> F:
            self._add(kind, name, function, pass_context, reads=reads)
            self._build()
            return function

        return register

    def _add(self, kind: str, name: str, function: Callable[..., Any], pass_context: bool,
             checked: bool = True, reads: Iterable[str] | None = None) -> None:
        if self is _DEFAULT:
            raise ValueError("the default engine has the built-in helpers only: register "
                             "on an Engine of your own")
        if type(name) is not str or not name.isidentifier():
            raise ValueError(f"a {kind} name must be an identifier, not {name!r}")
        if not callable(function):
            raise ValueError(f"{kind} {name!r} must be callable")
        if kind == "function" and (name == "result" or name in OUTCOMES or name == "range"):
            raise ValueError(f"{name!r} is a workflow function: it cannot be registered")
        roots = None if reads is None else tuple(reads)
        if roots is not None and (type(reads) is str or not set(roots) <= set(ROOTS)):
            raise ValueError(f"reads must list root names ({', '.join(ROOTS)}), not {reads!r}")
        registry = {"function": self.functions, "filter": self.filters, "test": self.tests}
        registry[kind][name] = Registered(kind, name, function, pass_context, checked, roots)

    def _build(self) -> None:
        """(Re)build the sandbox and compiler, and drop what was compiled before."""
        jinja = self.printing == "jinja2"
        self.sandbox = make_sandbox(
            {name: reg.for_jinja() for name, reg in self.functions.items()},
            {name: reg.for_jinja() for name, reg in self.filters.items()},
            {name: reg.for_jinja() for name, reg in self.tests.items()},
            trim_blocks=self.trim_blocks, lstrip_blocks=self.lstrip_blocks,
            finalize=jinja_text if jinja else to_text,
            concat_values=_jinja_concat if jinja else concat)
        self.compiler = Compiler(self.sandbox, path_of, self,
                                 _jinja_concat_args if jinja else None,
                                 jinja_text if jinja else None)
        self.forget_compiled()

    def forget_compiled(self) -> None:
        """Drop the compiled templates and expressions (they are compiled again on use)."""
        for cache in (self.templates, self.expressions, self.json_strings):
            cache.clear()
            self.sizes[id(cache)].total = 0

    def __repr__(self) -> str:
        return (f"<Engine {self.name!r} functions={len(self.functions)} "
                f"filters={len(self.filters)} tests={len(self.tests)} "
                f"namespaces={list(self.namespaces)}>")

    def __reduce__(self) -> tuple[Any, ...]:
        return (get_engine, (self.name,))


def _check_namespaces(names: Iterable[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        names = (names,)
    checked: list[str] = []
    for name in names:
        if type(name) is not str or not name.isidentifier():
            raise ValueError(f"a namespace name must be an identifier, not {name!r}")
        if name in _RESERVED_NAMESPACES or name in checked:
            raise ValueError(f"{name!r} cannot be a namespace: it is a root name, a workflow "
                             "function or Jinja2's own, or given twice")
        checked.append(name)
    return tuple(checked)


def get_engine(name: str) -> Engine:
    """The registered engine called ``name`` (``KeyError`` if there is none)."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise KeyError(f"no engine named {name!r} is registered") from None


def check_engine(engine: Any) -> Engine:
    """``engine`` if it is an :class:`Engine` (None: the default engine)."""
    if engine is None:
        return DEFAULT_ENGINE
    if not isinstance(engine, Engine):
        raise TypeConversion(f"engine must be a fastctx.Engine, not {type(engine).__name__}")
    return engine


_DEFAULT: Engine | None = None
#: The engine of contexts made without one: the built-in helpers only.
DEFAULT_ENGINE = _DEFAULT = Engine("default")


def _forget_all() -> None:
    """Templates were compiled and checked under the old limits: compile them again."""
    for engine in list(_ENGINES.values()):
        engine.forget_compiled()


_limits.on_change(_forget_all)

