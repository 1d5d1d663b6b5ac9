# cython: language_level=3, binding=False
"""Cython core of fastctx: the context type, its shared stores, clone and look-ups.

Behaviour, errors and pickle format are those of the pure-Python twin ``_core_py``, which
also supplies the cold paths (error messages, JSON checks, printing of containers).
"""

from fastctx._core_py import (
    CMP_IN,
    CMP_NOTIN,
    MISSING,
    OP_AND,
    OP_BINOP,
    OP_CALL,
    OP_CMP,
    OP_COND,
    OP_CONCAT,
    OP_CONST,
    OP_DICT,
    OP_LIST,
    OP_NEG,
    OP_NOT,
    OP_OR,
    OP_OUTCOME,
    OP_PATH,
    OP_POS,
    OP_RESULT,
    OP_SOFT,
    OP_TUPLE,
    _check_index,
    _check_name,
    _check_outcome,
    _root_message,
    _store,
    check_json,
    describe_path,
    initial_system,
    missing_message,
    to_text as _py_to_text,
    type_name,
)
from fastctx.errors import LimitExceeded, TypeConversion, VariableNotFound
from fastctx import limits

import copy

from cpython.object cimport PyObject, PyObject_RichCompare, PyTypeObject
from cpython.sequence cimport PySequence_Contains

__all__ = ["MISSING", "WorkflowContext", "Stores", "describe_path", "step", "to_text", "walk",
           "type_name", "check_json", "missing_message", "install", "truthy", "evaluate_node",
           "render_parts"]

cdef object _MISSING = MISSING
cdef tuple _EMPTY = ()

# Root names of a path, mapped to what they stand for; one dict probe instead of a chain
# of string comparisons.
cdef enum Root:
    ROOT_ITEM, ROOT_INDEX, ROOT_PARAMETERS, ROOT_VARIABLES, ROOT_TASKS, ROOT_CONFIG,
    ROOT_KEYSTORE, ROOT_SYSTEM

cdef dict _ROOTS = {
    "item": ROOT_ITEM, "index": ROOT_INDEX, "parameters": ROOT_PARAMETERS,
    "workflow": ROOT_VARIABLES, "vars": ROOT_VARIABLES, "variables": ROOT_VARIABLES,
    "task": ROOT_TASKS, "tasks": ROOT_TASKS, "config": ROOT_CONFIG,
    "keystore": ROOT_KEYSTORE, "system": ROOT_SYSTEM,
}


cpdef str to_text(object value):
    """Stringify a value the way a template prints it."""
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


cpdef object step(object value, object key):
    """One look-up step on data: a key of an object, an index of an array or string."""
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


cpdef object walk(object value, tuple keys, str root):
    """Follow ``keys`` from ``value``; raise :class:`VariableNotFound` naming the path."""
    cdef Py_ssize_t at
    cdef object found
    for at in range(len(keys)):
        found = step(value, keys[at])
        if found is _MISSING:
            raise VariableNotFound(missing_message(root, keys, at, value),
                                   describe_path(root, keys))
        value = found
    return value


cpdef object walk_or_missing(object value, tuple keys):
    """Like :func:`walk`, but return ``MISSING`` instead of raising."""
    for key in keys:
        value = step(value, key)
        if value is _MISSING:
            return _MISSING
    return value


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
        from fastctx._pickle import restore_stores

        return (restore_stores, (self.parameters, self.variables, self.tasks,
                                 self.config, self.keystore, self.system))


cdef class WorkflowContext:
    """A workflow run's context: parameters, variables, task results, pack config, keystore
    and system values in stores that every clone shares, plus a per-clone current item,
    index and last task outcome. ``clone()`` and ``with_item()`` are O(1).

    Getters return the stored objects themselves: treat them as read-only.
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
            _store(parameters, "parameters"), _store(variables, "variables"), {},
            _store(pack_config, "pack_config"), _store(keystore, "keystore"),
            initial_system(_store(system, "system")),
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
        new._index = index if type(index) is int else _check_index(index)
        return new

    def set_current_item(self, item, index):
        self._index = _check_index(index)
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
        self._stores.variables[_check_name(name)] = check_json(value, f"variable {name!r}")

    def get_var(self, name, default=None):
        if type(name) is not str:
            _check_name(name)
        return self._stores.variables.get(name, default)

    def set_task_result(self, name, result):
        self._stores.tasks[_check_name(name)] = check_json(result, f"result of task {name!r}")

    def get_task_result(self, name, default=None):
        if type(name) is not str:
            _check_name(name)
        return self._stores.tasks.get(name, default)

    def set_pack_config(self, config):
        self._stores.config = _store(config, "pack_config")

    def set_keystore(self, secrets):
        self._stores.keystore = _store(secrets, "keystore")

    def set_system(self, name, value):
        self._stores.system[_check_name(name)] = check_json(value, f"system {name!r}")

    def set_last_task_outcome(self, result, outcome):
        self._last = (check_json(result, "last task result"), _check_outcome(outcome))

    @property
    def parameters(self):
        return self._stores.parameters

    @property
    def variables(self):
        return self._stores.variables

    @property
    def task_results(self):
        return self._stores.tasks

    @property
    def pack_config(self):
        return self._stores.config

    @property
    def system(self):
        return self._stores.system

    @property
    def keystore(self):
        return self._stores.keystore

    @property
    def last_result(self):
        return None if self._last is None else (<tuple>self._last)[0]

    @property
    def last_outcome(self):
        return None if self._last is None else (<tuple>self._last)[1]

    def shares_stores_with(self, other):
        """Whether ``other`` is a clone of this context (or this context)."""
        return (isinstance(other, WorkflowContext)
                and self._stores is (<WorkflowContext>other)._stores)

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
        return walk_or_missing(value, path[1:])

    # -- rendering: the fast path and compiled expressions -------------------------------
    # Parsing, compiling, the Jinja2 path and error reporting live in fastctx._templating
    # (installed by install()); here is only what runs per render.
    def render_template(self, template):
        """Render a template (Jinja2 syntax) to a string."""
        if type(template) is not str:
            raise TypeConversion(f"a template must be a string, not {type(template).__name__}")
        program = _TEMPLATES.get(template)
        if program is None:
            program = _LAYER.compile_template(template, self)
        if type(program) is not tuple:
            return program.render(self)
        try:
            return _render_parts(self, <tuple>program)
        except Exception as exc:
            error = _LAYER.error_for(exc, template, self)
        raise error  # outside the except: the original may quote a secret

    def evaluate(self, expression):
        """Evaluate one expression (no braces) to its native value."""
        if type(expression) is not str:
            raise TypeConversion(
                f"an expression must be a string, not {type(expression).__name__}")
        return _evaluate(self, <str>expression, <str>expression)

    def evaluate_condition(self, condition):
        """A bare expression or a template, judged by the contract's truthiness."""
        if condition is True or condition is False:
            return condition
        if type(condition) is not str:
            raise TypeConversion(f"a condition must be a string, not {type(condition).__name__}")
        if "{{" in <str>condition or "{%" in <str>condition:
            return truthy(_render_string(self, <str>condition))
        return truthy(_evaluate(self, <str>condition, <str>condition))

    def render_json(self, value):
        """Render every string in a JSON-shaped value; ``"{{ expr }}"`` keeps its type."""
        return _render_value(self, value, 0)

    # -- publishing, export and import (fastctx._context) --------------------------------
    def publish_from_result(self, result, publish_vars=(), publish_map=None):
        """Publish a task's result into workflow variables (see the twin's docstring)."""
        _API.publish_from_result(self, result, publish_vars, publish_map)

    def export(self, *, include_secrets=False):
        """A JSON-safe copy of the stores; the keystore only with ``include_secrets``."""
        return _API.export(self, include_secrets)

    def export_variables(self):
        """A JSON-safe copy of the workflow variables."""
        return _API.export_variables(self)

    @classmethod
    def from_export(cls, data):
        """A new context from what :meth:`export` produced."""
        return _API.from_export(cls, data)

    @classmethod
    def import_(cls, data):
        """Alias of :meth:`from_export`."""
        return _API.from_export(cls, data)

    @classmethod
    def rebuild(cls, parameters, stored_variables, task_results):
        """A context rebuilt from what an executor persisted (after a restart, say)."""
        return _API.rebuild(cls, parameters, stored_variables, task_results)

    def __repr__(self):
        return _API.describe(self)

    # -- copy and pickle ---------------------------------------------------------------
    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        cdef WorkflowContext new = WorkflowContext.__new__(type(self))
        memo[id(self)] = new
        cdef Stores s = self._stores
        # dict(store): a snapshot (atomic under the GIL) another thread cannot resize
        new._stores = Stores(*[copy.deepcopy(dict(store), memo) for store in (
            s.parameters, s.variables, s.tasks, s.config, s.keystore, s.system)])
        new._item = copy.deepcopy(self._item, memo)
        new._index = self._index
        new._last = copy.deepcopy(self._last, memo)
        return new

    def __reduce__(self):
        from fastctx._pickle import restore_context

        return (restore_context, (self._stores, self._item, self._index, self._last))

    @classmethod
    def _restore(cls, Stores stores, item, index, last):
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
    new._stores = self._stores
    new._last = self._last
    return new


cdef object _resolve(WorkflowContext self, object name):
    cdef Stores stores = self._stores
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
        raise VariableNotFound(_root_message(self, path), describe_path(path[0], path[1:]))
    for at in range(1, n):
        found = step(value, path[at])
        if found is _MISSING:
            keys = path[1:]
            raise VariableNotFound(missing_message(path[0], keys, at - 1, value),
                                   describe_path(path[0], keys))
        value = found
    return value


# -- what runs per render -------------------------------------------------------------------
cdef object _LAYER = None  # fastctx._templating
cdef object _API = None  # fastctx._context
cdef dict _TEMPLATES = {}
cdef dict _EXPRESSIONS = {}
cdef dict _JSON_STRINGS = {}
cdef object _NATIVE = None
cdef object _MISSING_TYPE = None
cdef object _BINOP = None
cdef object _CONCAT = None
cdef object _SOFT_MISSING = None

# Opcodes as C constants (their values come from the twin, which defines them).
cdef long C_CONST = OP_CONST, C_PATH = OP_PATH, C_SOFT = OP_SOFT, C_NOT = OP_NOT
cdef long C_AND = OP_AND, C_OR = OP_OR, C_CMP = OP_CMP, C_BINOP = OP_BINOP, C_NEG = OP_NEG
cdef long C_POS = OP_POS, C_CONCAT = OP_CONCAT, C_LIST = OP_LIST, C_TUPLE = OP_TUPLE
cdef long C_DICT = OP_DICT, C_COND = OP_COND, C_CALL = OP_CALL, C_RESULT = OP_RESULT
cdef long C_OUTCOME = OP_OUTCOME, C_IN = CMP_IN, C_NOTIN = CMP_NOTIN


def install(layer, api):
    """Connect the core to the Python layer: templating (caches, compilers, the Jinja2
    path, error reporting) and the API written in Python (publish, export, import)."""
    global _API, _LAYER, _TEMPLATES, _EXPRESSIONS, _JSON_STRINGS, _NATIVE, _BINOP, _CONCAT
    global _SOFT_MISSING, _MISSING_TYPE
    _LAYER = layer
    _API = api
    _TEMPLATES = layer.TEMPLATES
    _EXPRESSIONS = layer.EXPRESSIONS
    _JSON_STRINGS = layer.JSON_STRINGS
    _NATIVE = layer.native
    _MISSING_TYPE = layer.Missing
    _BINOP = layer.binop
    _CONCAT = layer.concat
    _SOFT_MISSING = layer.soft_missing
    if _read_limits not in limits._LISTENERS:
        limits.on_change(_read_limits)


cpdef bint truthy(object value) except -1:
    """The contract's truthiness: strings by their words, everything else as Python."""
    if type(value) is str:
        word = (<str>value).strip().lower()
        if word in ("true", "yes", "1", "on"):
            return True
        return word not in ("false", "no", "0", "off", "")
    return bool(value)


def render_parts(WorkflowContext ctx, tuple parts):
    """A fast-path template: literal strings, path look-ups and compiled expressions."""
    return _render_parts(ctx, parts)


def evaluate_node(WorkflowContext ctx, tuple node):
    """Evaluate a compiled expression with the operators' Python (and Jinja2) semantics."""
    return _eval(ctx, node)


cdef str _render_parts(WorkflowContext ctx, tuple parts):
    cdef Py_ssize_t n = len(parts), size = 0
    cdef str text
    cdef list out
    if n == 1:
        text = _part_text(ctx, parts[0])
        if len(text) > _MAX_OUTPUT:
            _output_too_long()
        return text
    out = []
    for part in parts:
        text = _part_text(ctx, part)
        size += len(text)
        if size > _MAX_OUTPUT:  # before joining: a thousand large parts are a gigabyte
            _output_too_long()
        out.append(text)
    return "".join(out)


cdef Py_ssize_t _MAX_OUTPUT = 0  # limits.LIMITS.max_output, kept current by on_change


def _read_limits():
    global _MAX_OUTPUT
    _MAX_OUTPUT = limits.LIMITS.max_output


cdef int _output_too_long() except -1:
    raise LimitExceeded(f"output is longer than max_output={limits.LIMITS.max_output}",
                        "max_output")


cdef inline str _part_text(WorkflowContext ctx, object part):
    if type(part) is str:
        return <str>part
    if type((<tuple>part)[0]) is str:
        return to_text(_lookup(ctx, <tuple>part))
    return to_text(_eval(ctx, <tuple>part))


cdef object _evaluate(WorkflowContext ctx, str expression, str name):
    # Errors name ``name``: the template the expression was written in.
    program = _EXPRESSIONS.get(expression)
    if program is None:
        program = _LAYER.compile_expression(expression, ctx)
    if type(program) is not tuple:
        return program.evaluate(ctx, name)
    cdef type kind
    try:
        made = _MISSING_TYPE.made
        value = _eval(ctx, <tuple>program)
        kind = type(value)
        if (kind is bool or kind is str or kind is int or kind is float or value is None
                or kind is list or kind is dict) and _MISSING_TYPE.made == made:
            return value
        return _NATIVE(value, _MISSING_TYPE.made != made)
    except Exception as exc:
        error = _LAYER.error_for(exc, name, ctx)
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
        return _BINOP(node[1], _eval(ctx, <tuple>node[2]), _eval(ctx, <tuple>node[3]))
    if op == C_SOFT:
        result = ctx.lookup_or_missing(<tuple>node[1])
        return _SOFT_MISSING(node[1]) if result is _MISSING else result
    if op == C_CONCAT:
        return _CONCAT([_eval(ctx, <tuple>arg) for arg in <tuple>node[1]])
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
    if op == C_DICT:
        return {_eval(ctx, <tuple>(<tuple>kv)[0]): _eval(ctx, <tuple>(<tuple>kv)[1])
                for kv in <tuple>node[1]}
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
            raise LimitExceeded(
                f"render_json: input nested deeper than max_depth={limits.LIMITS.max_depth}",
                "max_depth")
        if kind is dict:
            return {key: _render_value(ctx, member, depth + 1)
                    for key, member in (<dict>value).items()}
        return [_render_value(ctx, member, depth + 1) for member in <list>value]
    return value


cdef object _render_string(WorkflowContext ctx, str text):
    expression = _JSON_STRINGS.get(text)
    if expression is None:
        expression = _LAYER.classify_json_string(text)
    if expression:
        return _evaluate(ctx, <str>expression, text)
    return ctx.render_template(text)
