# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""Cython core of fastctx: the context type, its shared stores, clone, look-ups and what runs
per render (the fast path and the evaluator of compiled expressions).

Behaviour, errors and pickle format are those of the pure-Python twin ``_core_py``; both
import what they share from the modules below them (docs/architecture.md). The hottest data
rules have compiled copies here (``_to_text`` of scalars, ``_step``) that defer to
``fastctx._data`` for everything else.
"""

from cpython.object cimport PyObject, PyObject_RichCompare, PyTypeObject
from cpython.sequence cimport PySequence_Contains

cdef extern from "Python.h":
    object PyDictProxy_New(object mapping)  # types.MappingProxyType: a read-only view

from fastctx import _context_api, _opcodes, limits
from fastctx._data import (MISSING, check_index, check_json, check_name, check_outcome,
                           describe_path, initial_system, missing_message, new_config, new_store,
                           output_too_long, root_message, to_text as _py_to_text,
                           too_deep, truthy as _py_truthy)
from fastctx._pickle import restore_context, restore_stores
from fastctx._reporting import error_for
from fastctx._operators import binop, concat
from fastctx._sandbox import Missing, soft_missing
from fastctx._templating import (EXPRESSIONS, JSON_STRINGS, TEMPLATES, classify_json_string,
                                 compile_expression, compile_template, native)
from fastctx.errors import TypeConversion, VariableNotFound

__all__ = ["Stores", "WorkflowContext"]

cdef object _MISSING = MISSING
# The caches, bound at import as typed dicts: a look-up is one PyDict_GetItem, no method call.
cdef dict _TEMPLATES = TEMPLATES, _EXPRESSIONS = EXPRESSIONS, _JSON_STRINGS = JSON_STRINGS
cdef object _MissingType = Missing
cdef tuple _EMPTY = ()

# Root names of a path, mapped to what they stand for: one dict probe, no string compares.
cdef enum Root:
    ROOT_ITEM, ROOT_INDEX, ROOT_PARAMETERS, ROOT_VARIABLES, ROOT_TASKS, ROOT_CONFIG,
    ROOT_KEYSTORE, ROOT_SYSTEM

cdef dict _ROOTS = {"item": ROOT_ITEM, "index": ROOT_INDEX, "parameters": ROOT_PARAMETERS,
                    "workflow": ROOT_VARIABLES, "vars": ROOT_VARIABLES,
                    "variables": ROOT_VARIABLES, "task": ROOT_TASKS, "tasks": ROOT_TASKS,
                    "config": ROOT_CONFIG, "keystore": ROOT_KEYSTORE, "system": ROOT_SYSTEM}


cdef inline str _to_text(object value):
    # fastctx._data.to_text, with the scalars printed here
    cdef type kind = type(value)
    if kind is str:
        return <str>value
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return str(value)
    if kind is float and value - value == 0.0:  # finite: repr is what json.dumps prints
        return repr(value)
    return _py_to_text(value)


cdef inline object _step(object value, object key):
    # fastctx._data.step
    cdef type kind = type(value)
    cdef Py_ssize_t n, i
    if kind is dict:
        if type(key) is str:
            return (<dict>value).get(key, _MISSING)
        return _MISSING
    if kind is list or kind is str:
        if type(key) is int:
            n = len(value)
            if -n <= key < n:
                i = key
                if i < 0:  # the module is compiled with wraparound=False
                    i += n
                return value[i]
        return _MISSING
    return _MISSING


cdef class Stores:
    """The stores every clone of one context shares."""

    cdef public dict parameters
    cdef public dict variables
    cdef public dict tasks
    cdef public dict config
    cdef public dict keystore
    cdef public dict system

    def __init__(self, dict parameters, dict variables, dict tasks, dict config,
                 dict keystore, dict system):
        self.parameters = parameters
        self.variables = variables
        self.tasks = tasks
        self.config = config
        self.keystore = keystore
        self.system = system

    def __reduce__(self):
        return (restore_stores, (self.parameters, self.variables, self.tasks,
                                 self.config, self.keystore, self.system))


cdef class WorkflowContext:
    """A workflow run's context: parameters, variables, task results, pack config, keystore
    and system values in stores that every clone shares, plus a per-clone current item,
    index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

    The store getters are read-only views of the live stores (``types.MappingProxyType``);
    the values in them are the stored objects themselves: treat them as read-only too.
    """

    implementation = "cython"

    # Four fields: the shared stores, the item, the index (None when not iterating) and the
    # last outcome as a (result, TaskOutcome) pair or None. Clones copy these pointers only.
    cdef Stores _stores
    cdef object _item
    cdef object _index
    cdef object _last

    def __init__(self, parameters=None, variables=None, *, pack_config=None, keystore=None,
                 system=None):
        self._stores = Stores(
            new_store(parameters, "parameters"), new_store(variables, "variables"), {},
            new_config(pack_config), new_store(keystore, "keystore"),
            initial_system(new_store(system, "system")),
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
        _stores_of(self).variables[check_name(name)] = check_json(value, f"variable {name!r}")

    def get_var(self, name, default=None):
        return _stores_of(self).variables.get(
            name if type(name) is str else check_name(name), default)

    def set_task_result(self, name, result):
        _stores_of(self).tasks[check_name(name)] = check_json(result, f"result of task {name!r}")

    def get_task_result(self, name, default=None):
        return _stores_of(self).tasks.get(
            name if type(name) is str else check_name(name), default)

    def set_pack_config(self, config):
        _stores_of(self).config = new_config(config)

    def set_keystore(self, secrets):
        _stores_of(self).keystore = new_store(secrets, "keystore")

    def set_system(self, name, value):
        _stores_of(self).system[check_name(name)] = check_json(value, f"system {name!r}")

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

    # -- look-ups ----------------------------------------------------------------------
    def resolve(self, name):
        """The value a root name stands for in a template, or ``MISSING``."""
        return _resolve(self, name)

    def lookup(self, tuple path):
        """Resolve ``path[0]`` and follow the keys after it; raise naming the full path."""
        return _lookup(self, path)

    def lookup_or_missing(self, tuple path):
        cdef object value = _resolve(self, path[0])
        if value is _MISSING:
            return _MISSING
        for key in path[1:]:
            value = _step(value, key)
            if value is _MISSING:
                break
        return value

    # -- rendering: the fast path and compiled expressions -------------------------------
    # Parsing, compiling, the Jinja2 path and error reporting live in fastctx._templating and
    # below it; here is only what runs per render.
    def render_template(self, template):
        """Render a template (Jinja2 syntax) to a string."""
        if type(template) is not str:
            raise TypeConversion(f"a template must be a string, not {type(template).__name__}")
        program = _TEMPLATES.get(template)
        if program is None:
            program = compile_template(template, self)
        if type(program) is not tuple:
            return program.render(self)
        try:
            return _render_parts(self, <tuple>program)
        except Exception as exc:
            error = error_for(exc, template, self)
        raise error  # outside the except: the original may quote a secret

    def evaluate(self, expression):
        """Evaluate one expression (no braces) to its native value."""
        if type(expression) is not str:
            raise TypeConversion(
                f"an expression must be a string, not {type(expression).__name__}")
        return _evaluate(self, <str>expression, <str>expression)

    def evaluate_condition(self, condition):
        """A bare expression, judged by plain truthiness (None, false, 0, "", [] and {} are
        false), or a template, whose rendered text is judged by its words (false, no, off, 0
        and "" are false, any other text true)."""
        if condition is True or condition is False:
            return condition
        if type(condition) is not str:
            raise TypeConversion(f"a condition must be a string, not {type(condition).__name__}")
        if "{{" in <str>condition or "{%" in <str>condition:
            return _py_truthy(_render_string(self, <str>condition))
        return bool(_evaluate(self, <str>condition, <str>condition))

    def render_json(self, value):
        """Render every string in a JSON-shaped value; ``"{{ expr }}"`` keeps its type."""
        return _render_value(self, value, 0)

    # -- publishing, export and import (fastctx._context_api) --------------------------------
    def publish_from_result(self, result, publish_vars=(), publish_map=None):
        """Publish a task's result into workflow variables (see the twin's docstring)."""
        _context_api.publish_from_result(self, result, publish_vars, publish_map)

    def export(self, *, include_secrets=False):
        """A JSON-safe copy of the stores; the keystore only with ``include_secrets``."""
        return _context_api.export(self, include_secrets)

    def export_variables(self):
        """A JSON-safe copy of the workflow variables."""
        return _context_api.export_variables(self)

    @classmethod
    def from_export(cls, data):
        """A new context from what :meth:`export` produced."""
        return _context_api.from_export(cls, data)

    import_ = from_export

    @classmethod
    def rebuild(cls, parameters, stored_variables, task_results):
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        return _context_api.rebuild(cls, parameters, stored_variables, task_results)

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


cdef inline Stores _stores_of(WorkflowContext self):
    if self._stores is None:  # made by __new__, __init__ skipped: nothing to dereference
        raise _context_api.no_stores()
    return self._stores


cdef object _resolve(WorkflowContext self, object name):
    cdef Stores stores = _stores_of(self)
    root = _ROOTS.get(name) if type(name) is str else None
    if root is None:
        return stores.variables.get(name, _MISSING)
    cdef int code = root
    if code == ROOT_ITEM:
        return _MISSING if self._index is None else self._item
    if code == ROOT_INDEX:
        return _MISSING if self._index is None else self._index
    if code == ROOT_PARAMETERS:
        return stores.parameters
    if code == ROOT_VARIABLES:
        return stores.variables
    if code == ROOT_TASKS:
        return stores.tasks
    if code == ROOT_CONFIG:
        return stores.config
    if code == ROOT_KEYSTORE:
        return stores.keystore
    return stores.system


cdef object _lookup(WorkflowContext self, tuple path):
    cdef object value = _resolve(self, path[0])
    cdef Py_ssize_t n = len(path), at
    cdef object found
    if value is _MISSING:
        raise VariableNotFound(root_message(path), describe_path(path[0], path[1:]))
    for at in range(1, n):
        found = _step(value, path[at])
        if found is _MISSING:
            keys = path[1:]
            raise VariableNotFound(missing_message(path[0], keys, at - 1, value),
                                   describe_path(path[0], keys))
        value = found
    return value


# -- what runs per render -------------------------------------------------------------------
# Opcodes as C constants (``fastctx._opcodes`` defines them).
cdef long C_CONST = _opcodes.OP_CONST, C_PATH = _opcodes.OP_PATH, C_SOFT = _opcodes.OP_SOFT
cdef long C_NOT = _opcodes.OP_NOT, C_AND = _opcodes.OP_AND, C_OR = _opcodes.OP_OR
cdef long C_CMP = _opcodes.OP_CMP, C_BINOP = _opcodes.OP_BINOP, C_NEG = _opcodes.OP_NEG
cdef long C_POS = _opcodes.OP_POS, C_CONCAT = _opcodes.OP_CONCAT, C_LIST = _opcodes.OP_LIST
cdef long C_TUPLE = _opcodes.OP_TUPLE, C_DICT = _opcodes.OP_DICT, C_COND = _opcodes.OP_COND
cdef long C_CALL = _opcodes.OP_CALL, C_RESULT = _opcodes.OP_RESULT
cdef long C_OUTCOME = _opcodes.OP_OUTCOME, C_IN = _opcodes.CMP_IN, C_NOTIN = _opcodes.CMP_NOTIN


cdef str _render_parts(WorkflowContext ctx, tuple parts):
    cdef Py_ssize_t n = len(parts), size = 0
    cdef str text
    cdef list out
    if n == 1:
        text = _part_text(ctx, parts[0])
        if len(text) > _MAX_OUTPUT:
            output_too_long()
        return text
    out = []
    for part in parts:
        text = _part_text(ctx, part)
        size += len(text)
        if size > _MAX_OUTPUT:  # before joining: a thousand large parts are a gigabyte
            output_too_long()
        out.append(text)
    return "".join(out)


cdef Py_ssize_t _MAX_OUTPUT = 0  # limits.LIMITS.max_output, kept current by on_change


def _read_limits():
    global _MAX_OUTPUT
    _MAX_OUTPUT = limits.LIMITS.max_output


limits.on_change(_read_limits)


cdef inline str _part_text(WorkflowContext ctx, object part):
    if type(part) is str:
        return <str>part
    if type((<tuple>part)[0]) is str:
        return _to_text(_lookup(ctx, <tuple>part))
    return _to_text(_eval(ctx, <tuple>part))


cdef object _evaluate(WorkflowContext ctx, str expression, str name):
    # Errors name ``name``: the template the expression was written in.
    program = _EXPRESSIONS.get(expression)
    if program is None:
        program = compile_expression(expression, ctx)
    if type(program) is not tuple:
        return program.evaluate(ctx, name)
    cdef type kind
    try:
        made = _MissingType.made
        value = _eval(ctx, <tuple>program)
        kind = type(value)
        if (kind is bool or kind is str or kind is int or kind is float or value is None
                or kind is list or kind is dict) and _MissingType.made == made:
            return value
        return native(value, _MissingType.made != made)
    except Exception as exc:
        error = error_for(exc, name, ctx)
    raise error  # outside the except: the original may quote a secret


cdef object _eval(WorkflowContext ctx, tuple node):
    cdef long op = node[0]
    cdef long code
    cdef object left, right, result
    if op == C_PATH:
        return _lookup(ctx, <tuple>node[1])
    if op == C_CONST:
        return node[1]
    if op == C_CMP:
        left = _eval(ctx, <tuple>node[1])
        result = True
        for pair in <tuple>node[2]:
            code = (<tuple>pair)[0]
            right = _eval(ctx, <tuple>(<tuple>pair)[1])
            if code == C_IN:
                result = PySequence_Contains(right, left) == 1
            elif code == C_NOTIN:
                result = PySequence_Contains(right, left) != 1
            else:
                result = PyObject_RichCompare(left, right, <int>code)
            if not result:
                return result
            left = right
        return result
    if op == C_AND:
        left = _eval(ctx, <tuple>node[1])
        return _eval(ctx, <tuple>node[2]) if left else left
    if op == C_OR:
        left = _eval(ctx, <tuple>node[1])
        return left if left else _eval(ctx, <tuple>node[2])
    if op == C_NOT:
        return not _eval(ctx, <tuple>node[1])
    if op == C_CALL:
        return node[1](*[_eval(ctx, <tuple>arg) for arg in <tuple>node[2]])
    if op == C_BINOP:
        return binop(node[1], _eval(ctx, <tuple>node[2]), _eval(ctx, <tuple>node[3]))
    if op == C_SOFT:
        result = ctx.lookup_or_missing(<tuple>node[1])
        return soft_missing(node[1]) if result is _MISSING else result
    if op == C_CONCAT:
        return concat([_eval(ctx, <tuple>arg) for arg in <tuple>node[1]])
    if op == C_COND:
        return _eval(ctx, <tuple>(node[2] if _eval(ctx, <tuple>node[1]) else node[3]))
    if op == C_NEG:
        return -_eval(ctx, <tuple>node[1])
    if op == C_POS:
        return +_eval(ctx, <tuple>node[1])
    if op == C_LIST:
        return [_eval(ctx, <tuple>arg) for arg in <tuple>node[1]]
    if op == C_TUPLE:
        return tuple([_eval(ctx, <tuple>arg) for arg in <tuple>node[1]])
    if op == C_DICT:  # every key and value first, then the dict: as Python's {k: v} display
        return dict([(_eval(ctx, <tuple>(<tuple>kv)[0]), _eval(ctx, <tuple>(<tuple>kv)[1]))
                     for kv in <tuple>node[1]])
    if op == C_RESULT:
        return None if ctx._last is None else (<tuple>ctx._last)[0]
    if op == C_OUTCOME:
        return ctx._last is not None and (<tuple>ctx._last)[1] is node[1]
    raise AssertionError(f"unknown opcode {op}")


cdef object _render_value(WorkflowContext ctx, object value, int depth):
    cdef type kind = type(value)
    if kind is str:
        # no "{": no template; "\r": Jinja2 would turn it into "\n"
        if "{" in <str>value or "\r" in <str>value:
            return _render_string(ctx, <str>value)
        return value
    if kind is dict or kind is list:
        if depth >= limits.LIMITS.max_depth:
            too_deep("render_json input")
        if kind is dict:
            return {key: _render_value(ctx, member, depth + 1)
                    for key, member in (<dict>value).items()}
        return [_render_value(ctx, member, depth + 1) for member in <list>value]
    return value


cdef object _render_string(WorkflowContext ctx, str text):
    expression = _JSON_STRINGS.get(text)
    if expression is None:
        expression = classify_json_string(text)
    if expression:
        return _evaluate(ctx, <str>expression, text)
    return ctx.render_template(text)
