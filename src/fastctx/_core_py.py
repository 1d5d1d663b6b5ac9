"""Pure-Python twin of ``fastctx._core``: the context type, its stores, clone, look-ups and
what runs per render (the fast path and the evaluator of compiled expressions).

Same names, behaviour, errors and pickle format as the Cython core; type checkers read this
file. Keep the two in step: the whole test suite runs against both. What both cores share
lives below them: the data rules in ``_data``, the opcodes in ``_opcodes``, compiling and
caching in ``_templating``, the API written in Python in ``_context_api``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import _context_api, _forks, _secrets, limits
from ._cache import touch
from ._data import (
    MISSING,
    ROOTS,
    check_index,
    check_json,
    check_name,
    check_outcome,
    describe_path,
    initial_system,
    new_config,
    new_store,
    root_message,
    too_deep,
    truthy,
    walk,
    walk_or_missing,
)
from ._evaluate_py import evaluate_node, render_parts
from ._opcodes import OP_CHECKED
from ._outcome import TaskOutcome
from ._pickle import restore_context
from ._reporting import error_for
from ._sandbox import Missing
from ._stores_py import NO_STORES, Stores
from ._templating import classify_json_string, compile_expression, compile_template, native
from .errors import TypeConversion, VariableNotFound

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._data import JSONValue
    from ._engine import Engine

__all__ = ["Stores", "WorkflowContext"]




class WorkflowContext:
    """A workflow run's context: parameters, variables, task results, pack config, keystore
    and system values in stores that every clone shares, plus a per-clone current item,
    index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

    The store getters are read-only views of the live stores (``types.MappingProxyType``);
    the values in them are the stored objects themselves: treat them as read-only too.
    """

    implementation = "python"

    # Four slots: the shared stores, the item, the index (None when not iterating) and the
    # last outcome as a (result, TaskOutcome) pair or None.
    __slots__ = ("_stores", "_item", "_index", "_last")

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # What __init__ does not run for (WorkflowContext.__new__, a subclass that skips
        # super().__init__()) is as in the Cython core: no item, index or outcome, and stores
        # whose every use raises TypeConversion. Clones and with_item skip this (they copy).
        new = object.__new__(cls)
        new._stores = NO_STORES
        new._item = new._index = new._last = None
        return new

    def __init__(
        self,
        parameters: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        *,
        pack_config: dict[str, Any] | None = None,
        keystore: dict[str, Any] | None = None,
        system: dict[str, Any] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self._stores = Stores(
            new_store(parameters, "parameters"), new_store(variables, "variables"), {},
            new_config(pack_config), new_store(keystore, "keystore"),
            initial_system(new_store(system, "system")), engine,
        )
        self._item: Any = None
        self._index: Any = None
        self._last: tuple[Any, TaskOutcome] | None = None

    # -- clones -------------------------------------------------------------------------
    def clone(self) -> Self:
        new = object.__new__(type(self))
        new._stores = self._stores
        new._item = self._item
        new._index = self._index
        new._last = self._last
        return new

    def with_item(self, item: Any, index: int) -> Self:
        new = object.__new__(type(self))
        new._stores = self._stores
        new._item = item
        new._index = check_index(index)
        new._last = self._last
        return new

    def set_current_item(self, item: Any, index: int) -> None:
        self._index = check_index(index)
        self._item = item

    def clear_current_item(self) -> None:
        self._item = None
        self._index = None

    @property
    def current_item(self) -> Any:
        return self._item

    @property
    def current_index(self) -> int | None:
        return self._index  # type: ignore[no-any-return]

    # -- stores -------------------------------------------------------------------------
    def set_var(self, name: str, value: Any) -> None:
        value = check_json(value, f"variable {name!r}")
        _put(_stores_of(self), "variables", check_name(name), value)

    def get_var(self, name: str, default: Any = None) -> Any:
        return _stores_of(self).variables.get(check_name(name), default)

    def set_task_result(self, name: str, result: Any) -> None:
        result = check_json(result, f"result of task {name!r}")
        _put(_stores_of(self), "tasks", check_name(name), result)

    def get_task_result(self, name: str, default: Any = None) -> Any:
        return _stores_of(self).tasks.get(check_name(name), default)

    def set_pack_config(self, config: dict[str, Any] | None) -> None:
        _put(_stores_of(self), "config", None, new_config(config))

    def set_keystore(self, secrets: dict[str, Any]) -> None:
        _put(_stores_of(self), "keystore", None, new_store(secrets, "keystore"))

    def set_system(self, name: str, value: Any) -> None:
        value = check_json(value, f"system {name!r}")
        _put(_stores_of(self), "system", check_name(name), value)

    def update_var(self, name: str, fn: Callable[[Any], Any]) -> Any:
        """Set variable ``name`` to ``fn(old)`` (``old`` is None when it is unset) and return
        the new value. Atomic: concurrent ``update_var`` calls on clones of one context (from
        any threads) apply one after the other, so no update is lost."""
        return _forks.update_var(_stores_of(self), name, fn)

    def set_last_task_outcome(self, result: Any, outcome: TaskOutcome) -> None:
        self._last = (check_json(result, "last task result"), check_outcome(outcome))

    @property
    def parameters(self) -> Mapping[str, Any]:
        return MappingProxyType(_stores_of(self).parameters)

    @property
    def variables(self) -> Mapping[str, Any]:
        return MappingProxyType(_stores_of(self).variables)

    @property
    def task_results(self) -> Mapping[str, Any]:
        return MappingProxyType(_stores_of(self).tasks)

    @property
    def pack_config(self) -> Mapping[str, Any] | None:
        """The pack config, or None while none was set."""
        config = _stores_of(self).config
        return None if config is None else MappingProxyType(config)

    @property
    def system(self) -> Mapping[str, Any]:
        return MappingProxyType(_stores_of(self).system)

    @property
    def keystore(self) -> Mapping[str, Any]:
        return MappingProxyType(_stores_of(self).keystore)

    @property
    def engine(self) -> Engine:
        """The engine this context (and every clone of it) renders with."""
        return _stores_of(self).engine

    def set_namespace(self, name: str, value: dict[str, Any]) -> None:
        """Set the store of one of the engine's namespaces (shared by every clone)."""
        _context_api.set_namespace(_stores_of(self), name, value)

    def get_namespace(self, name: str) -> Mapping[str, Any]:
        """A read-only view of one of the engine's namespaces."""
        return MappingProxyType(_context_api.namespace(_stores_of(self), name))

    def _shared_stores(self) -> Stores:
        """The stores themselves, writable: for fastctx._context_api only."""
        return _stores_of(self)

    @property
    def last_result(self) -> Any:
        return None if self._last is None else self._last[0]

    @property
    def last_outcome(self) -> TaskOutcome | None:
        return None if self._last is None else self._last[1]

    def shares_stores_with(self, other: object) -> bool:
        """Whether ``other`` is a clone of this context (or this context)."""
        return isinstance(other, WorkflowContext) and _stores_of(self) is other._stores

    # -- forks (fastctx._forks) -----------------------------------------------------------
    def fork(self) -> Self:
        """An isolated branch of this context, in O(1): it reads what the context holds (and
        what it is written later), while its own writes, and those of its clones, stay in it
        until :meth:`merge` applies them. Forks nest; a fork is a context in every way."""
        new = self.clone()
        new._stores = _stores_of(self).fork()
        return new

    def changes(self, *, include_secrets: bool = False) -> dict[str, Any]:
        """What this fork wrote since it was made (or last merged), by namespace as
        :meth:`export` names them: ``{"variables": {name: value}, ...}``; the pack config
        and the keystore (only with ``include_secrets``) as their new values. A context that
        is not a fork has none."""
        return _forks.changes(_stores_of(self), include_secrets)

    def merge(self, branch: WorkflowContext, *, conflict: Any = "error") -> None:
        """Apply the writes of ``branch``, a fork of this context, all or none.

        A key both changed since the fork was made is a conflict: ``"error"`` raises
        :class:`~fastctx.MergeConflict` and applies nothing; ``"last"`` takes the fork's
        value; a function ``(namespace, key, context_value, fork_value) -> value`` decides.
        Equal values are no conflict. Afterwards the fork starts afresh from the merged
        context. Costs O(changes)."""
        given: object = branch  # checked here: a caller may pass anything
        _forks.merge(_stores_of(self), _stores_of(given) if isinstance(
            given, WorkflowContext) else given, conflict)

    # -- look-ups -----------------------------------------------------------------------
    def resolve(self, name: str) -> Any:
        """The value a root name stands for in a template, or ``MISSING``."""
        stores = self._stores
        if stores.parent is not None and not _forks.fresh(stores):  # as _stores_of, inline
            _forks.sync(stores)
        meaning = ROOTS.get(name) if type(name) is str else None
        if meaning is None:
            if stores.namespaces is not None and name in stores.namespaces:
                return stores.namespaces[name]
            return stores.variables.get(name, MISSING)
        if meaning == "item":
            return MISSING if self._index is None else self._item
        if meaning == "index":
            return MISSING if self._index is None else self._index
        return getattr(stores, meaning)  # the Stores field of that store

    def lookup(self, path: tuple[Any, ...]) -> Any:
        """Resolve ``path[0]`` and follow the keys after it; raise naming the full path."""
        root = _path(path)[0]
        value = self.resolve(root)
        if value is MISSING:
            raise VariableNotFound(root_message(path), describe_path(root, path[1:]))
        return walk(value, path[1:], root)

    def lookup_or_missing(self, path: tuple[Any, ...]) -> Any:
        value = self.resolve(_path(path)[0])
        if value is MISSING:
            return MISSING
        return walk_or_missing(value, path[1:])

    # -- rendering: the fast path and compiled expressions --------------------------------
    # Parsing, compiling, the Jinja2 path and error reporting live in fastctx._templating and
    # below it; here is only what runs per render.
    # Each entry runs with the limits of the context's engine in force: when they are not (an
    # engine with limits of its own, or a render inside another engine's), it calls itself
    # again with them put in force (limits.enter; None: the process defaults).
    def render_template(self, template: str) -> str:
        """Render a template (Jinja2 syntax) to a string."""
        stores = _stores_of(self)
        if _IN_FORCE.get() is not stores.limits:
            return _limited(self.render_template, stores, template)  # type: ignore[no-any-return]
        if type(template) is not str:
            raise TypeConversion(f"a template must be a string, not {type(template).__name__}")
        cache = stores.templates
        program = cache.get(template)
        if program is None:
            program = compile_template(template, self, stores.engine)
        elif len(cache) > stores.lru_from:
            touch(cache, template, program)
        if type(program) is not tuple:
            return program.render(self)  # type: ignore[no-any-return]
        try:
            return render_parts(self, program)
        except Exception as exc:  # noqa: BLE001 - reported as a ContextError naming the template
            error = error_for(exc, template, self)
        raise error  # outside the except: the original may quote a secret

    def evaluate(self, expression: str) -> JSONValue:
        """Evaluate one expression (no braces) to its native value."""
        stores = _stores_of(self)
        if _IN_FORCE.get() is not stores.limits:
            return _limited(self.evaluate, stores, expression)  # type: ignore[no-any-return]
        if type(expression) is not str:
            raise TypeConversion(
                f"an expression must be a string, not {type(expression).__name__}")
        value: JSONValue = _evaluate(self, expression, expression)
        return value

    def evaluate_condition(self, condition: str | bool) -> bool:
        """A bare expression, judged by plain truthiness (None, false, 0, "", [] and {} are
        false), or a template, whose rendered text is judged by its words (false, no, off, 0
        and "" are false, any other text true)."""
        stores = _stores_of(self)
        if _IN_FORCE.get() is not stores.limits:
            return _limited(  # type: ignore[no-any-return]
                self.evaluate_condition, stores, condition)
        if condition is True or condition is False:
            return condition
        if type(condition) is not str:
            raise TypeConversion(f"a condition must be a string, not {type(condition).__name__}")
        if "{{" in condition or "{%" in condition:
            return truthy(_render_string(self, condition))
        return bool(_evaluate(self, condition, condition))

    def render_json(self, value: Any, *, track_secrets: bool = False) -> Any:
        """Render every string in a JSON-shaped value; ``"{{ expr }}"`` keeps its type.

        With ``track_secrets``, return ``(value, secret_paths)``: the JSON Pointers of the
        fields computed from a secret (the keystore, or a path marked with
        :meth:`mark_secret`), through any filter, operator or function (fastctx._secrets
        says how they are found)."""
        stores = _stores_of(self)
        if track_secrets:
            return _secrets.render_tracked(self, value)
        if _IN_FORCE.get() is not stores.limits:
            return _limited(self.render_json, stores, value)
        in_force = limits.LIMITS if stores.limits is None else stores.limits
        return _render_value(self, value, 0, in_force.max_depth)

    # -- publishing, export and import (fastctx._context_api) -----------------------------
    def publish_from_result(
        self,
        result: Any,
        publish_vars: Iterable[str] | str = (),
        publish_map: Mapping[str, Any] | None = None,
        *,
        sequential: bool = False,
    ) -> None:
        """Publish a task's result into workflow variables.

        Each name in ``publish_vars`` receives the whole result; each entry of
        ``publish_map`` is rendered with :meth:`render_json` while ``result()`` returns
        ``result``. With ``sequential``, each entry sees the ones before it (``workflow.a``
        in the entry after ``a``). Either way everything is rendered before anything is
        set: a failure publishes nothing.
        """
        _context_api.publish_from_result(self, result, publish_vars, publish_map, sequential)

    def export(self, *, include_secrets: bool = False, redact: bool = False) -> dict[str, Any]:
        """A JSON-safe copy of the stores; the keystore only with ``include_secrets``. With
        ``redact``, every value at a marked path, and every string holding a keystore value
        (in any spelling), is ``"***"`` (and so is each keystore value, if included)."""
        return _context_api.export(self, include_secrets, redact)

    def mark_secret(self, namespace: str, pointer: str) -> None:
        """Mark the value at ``pointer`` (a JSON Pointer: ``"/token"``, ``"/users/0/pw"``;
        ``""``: all of it) of ``namespace`` (``"parameters"``, ``"variables"``,
        ``"task_results"``, or ``"item"``: the current item of every clone) secret, for this
        context, its clones and its forks: ``render_json(..., track_secrets=True)`` reports
        what is computed from it, and ``export(redact=True)`` hides it."""
        _secrets.mark(_stores_of(self), namespace, pointer)

    def export_variables(self) -> dict[str, Any]:
        """A JSON-safe copy of the workflow variables."""
        return _context_api.export_variables(self)

    @classmethod
    def from_export(cls, data: Mapping[str, Any], engine: Engine | None = None) -> Self:
        """A new context from what :meth:`export` produced, bound to ``engine``."""
        return _context_api.from_export(cls, data, engine)

    import_ = from_export

    @classmethod
    def rebuild(
        cls,
        parameters: Mapping[str, Any] | None,
        stored_variables: Mapping[str, Any] | None,
        task_results: Mapping[str, Any] | None,
        engine: Engine | None = None,
    ) -> Self:
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        return _context_api.rebuild(cls, parameters, stored_variables, task_results, engine)

    def __repr__(self) -> str:
        return _context_api.describe(self)

    # -- copy and pickle ----------------------------------------------------------------
    def __copy__(self) -> Self:
        return self.clone()

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return _context_api.deep_copy(self, memo)

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_context, (_stores_of(self), self._item, self._index, self._last))

    @classmethod
    def _restore(cls, stores: Stores, item: Any, index: Any, last: Any) -> Self:
        if type(stores) is not Stores:
            raise TypeConversion(f"stores must be Stores, not {type(stores).__name__}")
        new = object.__new__(cls)
        new._stores = stores
        new._item = item
        new._index = index
        new._last = last
        return new


def _stores_of(ctx: WorkflowContext) -> Stores:
    """The context's stores, with a fork's views brought up to date (fastctx._forks)."""
    stores = ctx._stores
    if stores.parent is not None and not _forks.fresh(stores):  # NO_STORES raises here
        _forks.sync(stores)
    return stores


def _put(stores: Stores, name: str, key: Any, value: Any) -> None:
    """Write a store (key None: replace it whole): through fastctx._forks when tracked."""
    if stores.tracked:
        _forks.write(stores, name, key, value)
    elif key is None:
        setattr(stores, name, value)
    else:
        getattr(stores, name)[key] = value


def _path(path: Any) -> tuple[Any, ...]:
    """A path as the compiled core takes it: a tuple of a root and keys."""
    if type(path) is not tuple:
        raise TypeConversion(f"a path must be a tuple, not {type(path).__name__}")
    if not path:
        raise TypeConversion("a path needs at least its root name")
    return path


# -- what runs per render -------------------------------------------------------------------
_IN_FORCE = limits._IN_FORCE  # the ContextVar of the limits in force


def _limited(entry: Any, stores: Stores, argument: Any) -> Any:
    """``entry(argument)`` with the limits of the stores' engine in force."""
    token = limits.enter(stores.limits)
    try:
        return entry(argument)
    finally:
        limits.leave(token)


def _evaluate(ctx: WorkflowContext, expression: str, name: str, program: Any = None) -> Any:
    """Evaluate ``expression`` (its cached ``program`` when the caller has it); errors name
    ``name``, the template it was written in."""
    stores = ctx._stores
    if program is None:
        cache = stores.expressions
        program = cache.get(expression)
        if program is None:
            program = compile_expression(expression, ctx, stores.engine)
        elif len(cache) > stores.lru_from:
            touch(cache, expression, program)
    if type(program) is not tuple:
        return program.evaluate(ctx, name)
    try:
        if program[0] != OP_CHECKED:  # it makes no undefined value
            value = evaluate_node(ctx, program)
            return value if type(value) in _PLAIN else native(value)
        made = Missing.made
        value = evaluate_node(ctx, program[1])
        if type(value) in _PLAIN and Missing.made == made:
            return value
        return native(value, Missing.made != made)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, name, ctx)
    raise error  # outside the except: the original may quote a secret


_PLAIN = frozenset((str, int, float, bool, type(None), list, dict))


def _render_value(ctx: WorkflowContext, value: Any, depth: int, max_depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return _render_string(ctx, value) if "{" in value or "\r" in value else value
    if kind is dict or kind is list:
        if depth >= max_depth:
            too_deep("render_json input")
        depth += 1
        if kind is dict:
            return {key: _render_value(ctx, member, depth, max_depth)
                    for key, member in value.items()}
        return [_render_value(ctx, member, depth, max_depth) for member in value]
    return value


def _render_string(ctx: WorkflowContext, text: str) -> Any:
    """A string as ``render_json`` sees it: one ``{{ expr }}`` keeps its native value."""
    stores = ctx._stores
    cache = stores.json_strings
    entry = cache.get(text)  # fastctx._templating.classify_json_string
    if entry is None:
        entry = classify_json_string(text, stores.engine)
    elif len(cache) > stores.lru_from:
        touch(cache, text, entry)
    if type(entry) is tuple:
        return _evaluate(ctx, text, text, entry)
    if entry:
        return _evaluate(ctx, entry, text)
    return ctx.render_template(text)
