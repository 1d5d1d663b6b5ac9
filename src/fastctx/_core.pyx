# cython: language_level=3
"""Cython core of fastctx: the context type, its shared stores, clone and look-ups.

Behaviour, errors and pickle format are those of the pure-Python twin ``_core_py``, which
also supplies the cold paths (error messages, JSON checks, printing of containers).
"""

from fastctx._core_py import (
    MISSING,
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
from fastctx.errors import TypeConversion, VariableNotFound

import copy

__all__ = ["MISSING", "ContextCore", "Stores", "describe_path", "step", "to_text", "walk",
           "type_name", "check_json", "missing_message"]

cdef object _MISSING = MISSING

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
        return int.__repr__(value)
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


cdef class ContextCore:
    """Per-clone state (item, index, last outcome) plus one pointer to the shared stores."""

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
    cdef inline ContextCore _new(self):
        # tp_new of the (sub)type: no __init__, fields start as None.
        cdef ContextCore new = ContextCore.__new__(type(self))
        new._stores = self._stores
        new._last = self._last
        return new

    def clone(self):
        cdef ContextCore new = self._new()
        new._item = self._item
        new._index = self._index
        return new

    def with_item(self, item, index):
        cdef ContextCore new = self._new()
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

    def shares_stores_with(self, ContextCore other):
        return self._stores is other._stores

    # -- look-ups ----------------------------------------------------------------------
    cdef object _resolve(self, object name):
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

    def resolve(self, name):
        """The value a root name stands for in a template, or ``MISSING``."""
        return self._resolve(name)

    cdef object _lookup(self, tuple path):
        cdef object value = self._resolve(path[0])
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

    def lookup(self, tuple path):
        """Resolve ``path[0]`` and follow the keys after it; raise naming the full path."""
        return self._lookup(path)

    def lookup_or_missing(self, tuple path):
        cdef object value = self._resolve(path[0])
        if value is _MISSING:
            return _MISSING
        return walk_or_missing(value, path[1:])

    def render_parts(self, tuple parts):
        """The fast path: concatenate literal strings and the text of path look-ups."""
        cdef list out = []
        for part in parts:
            if type(part) is str:
                out.append(part)
            else:
                out.append(to_text(self._lookup(<tuple>part)))
        return "".join(out)

    # -- copy and pickle ---------------------------------------------------------------
    def __copy__(self):
        return self.clone()

    def __deepcopy__(self, memo):
        cdef ContextCore new = ContextCore.__new__(type(self))
        memo[id(self)] = new
        cdef Stores s = self._stores
        new._stores = Stores(*[copy.deepcopy(store, memo) for store in (
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
        cdef ContextCore new = ContextCore.__new__(cls)
        new._stores = stores
        new._item = item
        new._index = index
        new._last = last
        return new
