# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""Cython core of fastctx: the context type, clone, and what runs per render (the entries, the
fast path and the evaluator of compiled expressions). The stores and the look-ups through
them are in ``_stores.pyx``, below this module.

Behaviour, errors and pickle format are those of the pure-Python twin ``_core_py``; both
import what they share from the modules below them (docs/architecture.md).
"""

from cpython.object cimport PyObject, PyTypeObject
from cpython.dict cimport PyDict_Next
from cpython.contextvars cimport PyContextVar_Reset, PyContextVar_Set, get_value

cdef extern from "Python.h":
    object PyDictProxy_New(object mapping)  # types.MappingProxyType: a read-only view
    void _release "Py_DECREF" (PyObject *value)
    Py_ssize_t PyDict_GET_SIZE(object mapping)  # len() of a dict, no call

from fastctx._stores cimport (ROOT_CONFIG, ROOT_KEYSTORE, ROOT_SYSTEM, ROOT_TASKS, ROOT_VARIABLES,
                              ContextFields, Stores, _fresh, _lookup, _lookup_or_missing,
                              _propagate, _put, _resolve, check_json)
from fastctx._evaluate cimport _eval, _render_parts

from fastctx import _context_api, _forks, _opcodes, _secrets, limits
from fastctx._cache import touch
from fastctx._data import (MISSING, check_index, check_name, check_outcome, initial_system,
                           new_config, new_store, too_deep,
                           truthy as _py_truthy)
from fastctx._pickle import restore_context
from fastctx._reporting import error_for
from fastctx._sandbox import Missing
from fastctx._templating import (classify_json_string, compile_expression, compile_template,
                                 native)
from fastctx.errors import TypeConversion

__all__ = ["WorkflowContext"]

cdef object _MISSING = MISSING
cdef object _MissingType = Missing
cdef tuple _EMPTY = ()
# the small ints themselves: compared by identity
cdef object _CHECKED = _opcodes.OP_CHECKED, _PATH = _opcodes.OP_PATH, _TEXT = _opcodes.OP_TEXT


cdef class WorkflowContext(ContextFields):
    """A workflow run's context: parameters, variables, task results, pack config, keystore
    and system values in stores that every clone shares, plus a per-clone current item,
    index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

    The store getters are read-only views of the live stores (``types.MappingProxyType``);
    the values in them are the stored objects themselves: treat them as read-only too.
    """

    implementation = "cython"

    # Its four fields (the stores, item, index, last outcome) are ContextFields' (_stores.pxd).

    def __init__(self, parameters=None, variables=None, *, pack_config=None, keystore=None,
                 system=None, engine=None):
        self._stores = Stores(
            new_store(parameters, "parameters"), new_store(variables, "variables"), {},
            new_config(pack_config), new_store(keystore, "keystore"),
            initial_system(new_store(system, "system")), engine,
        )

    # -- clones ------------------------------------------------------------------------
    def clone(self):
        cdef WorkflowContext new = _new(self)
        new._item = self._item
        new._index = self._index
        return new

    def with_item(self, item, index):
        cdef WorkflowContext new = _new(self)
        new._item = item
        new._index = index if type(index) is int else check_index(index)
        return new

    def set_current_item(self, item, index):
        self._index = check_index(index)
        self._item = item

    def clear_current_item(self):
        self._item = None
        self._index = None

    @property
    def current_item(self):
        return self._item

    @property
    def current_index(self):
        return self._index

    # -- stores ------------------------------------------------------------------------
    def set_var(self, name, value):
        value = check_json(value, f"variable {name!r}")
        _put(_stores_of(self), ROOT_VARIABLES, check_name(name), value)

    def get_var(self, name, default=None):
        return _stores_of(self).variables.get(
            name if type(name) is str else check_name(name), default)

    def set_task_result(self, name, result):
        result = check_json(result, f"result of task {name!r}")
        _put(_stores_of(self), ROOT_TASKS, check_name(name), result)

    def get_task_result(self, name, default=None):
        return _stores_of(self).tasks.get(
            name if type(name) is str else check_name(name), default)

    def set_pack_config(self, config):
        _put(_stores_of(self), ROOT_CONFIG, None, new_config(config))

    def set_keystore(self, secrets):
        _put(_stores_of(self), ROOT_KEYSTORE, None, new_store(secrets, "keystore"))

    def set_system(self, name, value):
        value = check_json(value, f"system {name!r}")
        _put(_stores_of(self), ROOT_SYSTEM, check_name(name), value)

    def update_var(self, name, fn):
        """Set variable ``name`` to ``fn(old)``, atomically; return the new value."""
        return _forks.update_var(_stores_of(self), name, fn)

    def set_last_task_outcome(self, result, outcome):
        self._last = (check_json(result, "last task result"), check_outcome(outcome))

    @property
    def parameters(self):
        return PyDictProxy_New(_stores_of(self).parameters)

    @property
    def variables(self):
        return PyDictProxy_New(_stores_of(self).variables)

    @property
    def task_results(self):
        return PyDictProxy_New(_stores_of(self).tasks)

    @property
    def pack_config(self):
        config = _stores_of(self).config
        return None if config is None else PyDictProxy_New(config)

    @property
    def system(self):
        return PyDictProxy_New(_stores_of(self).system)

    @property
    def keystore(self):
        return PyDictProxy_New(_stores_of(self).keystore)

    @property
    def engine(self):
        """The engine this context (and every clone of it) renders with."""
        return _stores_of(self).engine

    def set_namespace(self, name, value):
        """Set the store of one of the engine's namespaces (shared by every clone)."""
        _context_api.set_namespace(_stores_of(self), name, value)

    def get_namespace(self, name):
        """A read-only view of one of the engine's namespaces."""
        return PyDictProxy_New(_context_api.namespace(_stores_of(self), name))

    def _shared_stores(self):
        """The stores themselves, writable: for fastctx._context_api only."""
        return _stores_of(self)

    @property
    def last_result(self):
        return None if self._last is None else (<tuple>self._last)[0]

    @property
    def last_outcome(self):
        return None if self._last is None else (<tuple>self._last)[1]

    def shares_stores_with(self, other):
        """Whether ``other`` is a clone of this context (or this context)."""
        return (isinstance(other, WorkflowContext)
                and _stores_of(self) is (<WorkflowContext>other)._stores)

    # -- forks (fastctx._forks; the twin's docstrings say more) ---------------------------
    def fork(self):
        """An isolated branch of this context: writes to it stay in it until merged."""
        cdef WorkflowContext new = self.clone()
        new._stores = _stores_of(self).fork()
        return new

    def changes(self, *, include_secrets=False):
        """What this fork wrote, by namespace."""
        return _forks.changes(_stores_of(self), include_secrets)

    def merge(self, branch, *, conflict="error"):
        """Apply a fork's writes to this context, all or none."""
        _forks.merge(_stores_of(self), _stores_of(branch) if isinstance(
            branch, WorkflowContext) else branch, conflict)

    # -- look-ups ----------------------------------------------------------------------
    def resolve(self, name):
        """The value a root name stands for in a template, or ``MISSING``."""
        return _resolve(_stores_of(self), self._item, self._index, name)

    def lookup(self, tuple path not None):
        """Resolve ``path[0]`` and follow the keys after it; raise naming the full path."""
        return _lookup(_stores_of(self), self._item, self._index, _path(path))

    def lookup_or_missing(self, tuple path not None):
        return _lookup_or_missing(_stores_of(self), self._item, self._index, _path(path))

    # -- rendering: the fast path and compiled expressions -------------------------------
    # Parsing, compiling, the Jinja2 path and error reporting live in fastctx._templating and
    # below it; here is only what runs per render.
    # Each entry runs with the limits of the context's engine in force: when they are not (an
    # engine with limits of its own, or a render inside another engine's), it calls itself
    # again with them put in force (limits.enter; None: the process defaults).
    def render_template(self, template):
        """Render a template (Jinja2 syntax) to a string."""
        cdef Stores stores = _stores_of(self)
        if _to_enter(stores):
            return _limited(self.render_template, stores, template)
        if type(template) is not str:
            raise TypeConversion(f"a template must be a string, not {type(template).__name__}")
        return _render(self, stores, <str>template)

    def evaluate(self, expression):
        """Evaluate one expression (no braces) to its native value."""
        cdef Stores stores = _stores_of(self)
        if _to_enter(stores):
            return _limited(self.evaluate, stores, expression)
        if type(expression) is not str:
            raise TypeConversion(f"an expression must be a string, not {type(expression).__name__}")
        return _evaluate(self, <str>expression, <str>expression)

    def evaluate_condition(self, condition):
        """Whether a condition holds (see the twin's docstring for how it is judged)."""
        cdef Stores stores = _stores_of(self)
        if _to_enter(stores):
            return _limited(self.evaluate_condition, stores, condition)
        if condition is True or condition is False:
            return condition
        if type(condition) is not str:
            raise TypeConversion(f"a condition must be a string, not {type(condition).__name__}")
        program = stores.expressions.get(condition)  # a cached bare expression: no scan
        if program is None:
            if "{{" in <str>condition or "{%" in <str>condition:
                return _py_truthy(_render_string(self, <str>condition))
            return bool(_evaluate(self, <str>condition, <str>condition))
        if PyDict_GET_SIZE(stores.expressions) > stores.lru_from:
            touch(stores.expressions, condition, program)
        return bool(_run(self, program, <str>condition))

    def render_json(self, value, *, track_secrets=False):
        """Render every string in a JSON-shaped value; ``"{{ expr }}"`` keeps its type; with
        ``track_secrets``, also the JSON Pointers of the fields computed from a secret."""
        cdef Stores stores = _stores_of(self)
        if track_secrets:
            return _secrets.render_tracked(self, value)
        if _to_enter(stores):
            return _limited(self.render_json, stores, value)
        return _render_value(self, value, 0, _MAX_DEPTH if stores.limits is None
                             else stores.limits.max_depth)

    # -- publishing, export and import (fastctx._context_api) --------------------------------
    def publish_from_result(self, result, publish_vars=(), publish_map=None, *,
                            sequential=False):
        """Publish a task's result into workflow variables (see the twin's docstring)."""
        _context_api.publish_from_result(self, result, publish_vars, publish_map, sequential)

    def export(self, *, include_secrets=False, redact=False):
        """A JSON-safe copy of the stores (see the twin's docstring)."""
        return _context_api.export(self, include_secrets, redact)

    def mark_secret(self, namespace, pointer):
        """Mark the value at a JSON Pointer of a namespace secret (see the twin's docstring)."""
        _secrets.mark(_stores_of(self), namespace, pointer)

    def export_variables(self):
        """A JSON-safe copy of the workflow variables."""
        return _context_api.export_variables(self)

    @classmethod
    def from_export(cls, data, engine=None):
        """A new context from what :meth:`export` produced, bound to ``engine``."""
        return _context_api.from_export(cls, data, engine)

    import_ = from_export

    @classmethod
    def rebuild(cls, parameters, stored_variables, task_results, engine=None):
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        return _context_api.rebuild(cls, parameters, stored_variables, task_results, engine)

    def __repr__(self):
        return _context_api.describe(self)

    # -- copy and pickle ---------------------------------------------------------------
    __copy__ = clone

    def __deepcopy__(self, memo):
        return _context_api.deep_copy(self, memo)

    def __reduce__(self):
        return (restore_context, (_stores_of(self), self._item, self._index, self._last))

    @classmethod
    def _restore(cls, Stores stores not None, item, index, last):
        cdef WorkflowContext new = WorkflowContext.__new__(cls)
        new._stores = stores
        new._item = item
        new._index = index
        new._last = last
        return new


# WorkflowContext adds methods to ContextFields, no field: its own tp_new and tp_dealloc would
# only call ContextFields' (untracking and re-tracking the object for the collector on the way).
# ContextFields' serve it directly, free list included (a Python subclass still goes through
# its own slots, which end in these).
(<PyTypeObject *>WorkflowContext).tp_new = (<PyTypeObject *>ContextFields).tp_new
(<PyTypeObject *>WorkflowContext).tp_dealloc = (<PyTypeObject *>ContextFields).tp_dealloc


# Module-level helpers rather than cdef methods: a cdef method would add a vtable pointer to
# every WorkflowContext, and a clone is meant to be four pointers.
cdef inline WorkflowContext _new(WorkflowContext self):
    # The (sub)type's tp_new, called directly: no __init__, fields start as None.
    cdef type cls = type(self)
    cdef WorkflowContext new = <WorkflowContext>(<PyTypeObject*>cls).tp_new(
        cls, <PyObject*>_EMPTY, NULL)
    new._stores = self._stores  # no check: a clone of a context without stores has none
    new._last = self._last
    return new


cdef inline tuple _path(tuple path):
    # a path is a root and keys: the look-ups read path[0] unchecked (boundscheck=False)
    if len(path) == 0:
        raise TypeConversion("a path needs at least its root name")
    return path


cdef inline Stores _stores_of(WorkflowContext self):
    if self._stores is None:  # made by __new__, __init__ skipped: nothing to dereference
        raise _context_api.no_stores()
    if self._stores.parent is not None and not _fresh(self._stores):  # a fork's views,
        _forks.sync(self._stores)  # brought up to date
    return self._stores


# -- what runs per render -------------------------------------------------------------------
cdef object _IN_FORCE = limits._IN_FORCE  # the ContextVar of the limits in force
# Set at the first render under an engine's own limits, never cleared (so no race between
# threads can lose it): until then no context can be inside another engine's limits, and an
# entry whose engine sets no limits reads no ContextVar.
cdef bint _ANY_LIMITED = False


cdef inline bint _to_enter(Stores stores):
    # whether the limits of the stores' engine are not the ones in force now: two C compares,
    # then (only when the engine has limits of its own or a render has been under _limited)
    # a ContextVar read, kept out of line
    return (stores.limits is not None or _ANY_LIMITED) and _not_in_force(stores)


cdef bint _not_in_force(Stores stores):
    return get_value(_IN_FORCE) is not stores.limits


cdef object _limited(object entry, Stores stores, object argument):
    # entry(argument) with the limits of the stores' engine in force
    global _ANY_LIMITED
    _ANY_LIMITED = True
    token = PyContextVar_Set(_IN_FORCE, stores.limits)  # limits.enter, at C level
    try:
        return entry(argument)
    finally:
        PyContextVar_Reset(_IN_FORCE, token)


cdef str _render(WorkflowContext ctx, Stores stores, str template):
    program = stores.templates.get(template)
    if program is None:
        program = compile_template(template, ctx, stores.engine)
    elif PyDict_GET_SIZE(stores.templates) > stores.lru_from:
        touch(stores.templates, template, program)
    if type(program) is not tuple:
        return program.render(ctx)
    cdef PyObject *text = (<Unchecked>_text)(ctx, program)
    if text is NULL:
        _failed(template, ctx)
    return _owned(text)


cdef object _text(WorkflowContext ctx, object parts):
    return _render_parts(ctx, <tuple>parts)


cdef object _evaluate(WorkflowContext ctx, str expression, str name):
    # Errors name ``name``: the template the expression was written in.
    cdef Stores stores = ctx._stores
    program = stores.expressions.get(expression)
    if program is None:
        program = compile_expression(expression, ctx, stores.engine)
    elif PyDict_GET_SIZE(stores.expressions) > stores.lru_from:
        touch(stores.expressions, expression, program)
    return _run(ctx, program, name)


cdef object _run(WorkflowContext ctx, object program, str name):
    # the value of a compiled expression (a tuple) or of a JinjaProgram; errors name ``name``
    if type(program) is not tuple:
        return program.evaluate(ctx, name)
    cdef PyObject *value = (<Unchecked>_value)(ctx, program)
    if value is NULL:
        _failed(name, ctx)
    return _owned(value)


cdef object _value(WorkflowContext ctx, object program):
    cdef type kind
    cdef bint check = (<tuple>program)[0] is _CHECKED  # it can make an undefined value
    if check:
        made = _MissingType.made
        program = (<tuple>program)[1]
    op = (<tuple>program)[0]
    if op is _PATH:  # a look-up (most expressions in a task input)
        value = _lookup(ctx._stores, ctx._item, ctx._index, <tuple>(<tuple>program)[1])
    elif op is _TEXT:  # render_json's template string: its text
        return _render_parts(ctx, <tuple>(<tuple>program)[1])
    else:
        value = _eval(ctx, <tuple>program)
    kind = type(value)
    if (kind is bool or kind is str or kind is int or kind is float or value is None
            or kind is list or kind is dict) and (not check or _MissingType.made == made):
        return value
    return native(value, check and _MissingType.made != made)


# The per-render work returns NULL when it raises, as a C-API call does. _run and _render
# call it through a pointer of this type, which Cython does not check, and take a failure in
# hand themselves (_failed): a try/except would cost 43 instructions per call (it saves and
# restores the exception being handled), the NULL check costs one.
ctypedef PyObject *(*Unchecked)(WorkflowContext, object) noexcept


cdef inline object _owned(PyObject *value):
    # the object an Unchecked call returned, its reference handed over
    result = <object>value
    _release(value)
    return result


cdef int _failed(str name, WorkflowContext ctx) except -1:
    # The exception pending (an Unchecked call failed), raised as a ContextError naming the
    # template ``name`` (fastctx._reporting.error_for); one that is not an Exception goes on.
    try:
        _propagate()
    except Exception as exc:
        error = error_for(exc, name, ctx)
    raise error  # outside the except: the original may quote a secret


cdef int _MAX_DEPTH = 0  # limits.LIMITS.max_depth, kept current by on_change


def _read_limits():
    global _MAX_DEPTH
    _MAX_DEPTH = limits.LIMITS.max_depth


limits.on_change(_read_limits)


cdef object _render_value(WorkflowContext ctx, object value, int depth, int max_depth):
    cdef type kind = type(value)
    cdef Py_ssize_t at = 0
    cdef PyObject *key
    cdef PyObject *field
    if kind is str:
        # no "{": no template; "\r": Jinja2 would turn it into "\n"
        if "{" in <str>value or "\r" in <str>value:
            return _render_string(ctx, <str>value)
        return value
    if kind is dict or kind is list:
        if depth >= max_depth:
            too_deep("render_json input")
        depth += 1
        if kind is dict:  # (a template reaches no input document: nothing changes it here)
            result = {}
            while PyDict_Next(value, &at, &key, &field):
                result[<object>key] = _render_value(ctx, <object>field, depth, max_depth)
            return result
        return [_render_value(ctx, member, depth, max_depth) for member in <list>value]
    return value


cdef object _render_string(WorkflowContext ctx, str text):
    cdef Stores stores = ctx._stores
    entry = stores.json_strings.get(text)  # fastctx._templating.classify_json_string
    if entry is None:
        entry = classify_json_string(text, stores.engine)
    elif PyDict_GET_SIZE(stores.json_strings) > stores.lru_from:
        touch(stores.json_strings, text, entry)
    if type(entry) is tuple:  # a compiled expression, or a fast-path template (OP_TEXT)
        return _run(ctx, entry, text)
    if <str>entry:
        return _evaluate(ctx, <str>entry, text)
    return _render(ctx, stores, text)
