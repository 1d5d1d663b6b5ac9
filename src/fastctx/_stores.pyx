# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""Cython core of fastctx, lower half: the stores every clone shares, and the look-ups through
them (``_resolve``, ``_lookup``) with the compiled data rule ``_step`` (which defers to
``fastctx._data`` for everything else).

``fastctx._core`` cimports what ``_stores.pxd`` declares. The pure-Python twin (``_core_py``)
has the same ``Stores``, and the look-ups as methods of its context.
"""

from fastctx import _context_api
from fastctx._data import MISSING, ROOTS, describe_path, missing_message, root_message
from fastctx._engine import check_engine
from fastctx.errors import VariableNotFound
from fastctx._pickle import restore_stores

__all__ = ["Stores"]

cdef object _MISSING = MISSING

# Root names of a path, mapped to what they stand for: one dict probe, no string compares.
cdef enum Root:
    ROOT_ITEM, ROOT_INDEX, ROOT_PARAMETERS, ROOT_VARIABLES, ROOT_TASKS, ROOT_CONFIG,
    ROOT_KEYSTORE, ROOT_SYSTEM

cdef dict _CODES = {"item": ROOT_ITEM, "index": ROOT_INDEX, "parameters": ROOT_PARAMETERS,
                    "variables": ROOT_VARIABLES, "tasks": ROOT_TASKS, "config": ROOT_CONFIG,
                    "keystore": ROOT_KEYSTORE, "system": ROOT_SYSTEM}
cdef dict _ROOTS = {name: _CODES[meaning] for name, meaning in ROOTS.items()}  # the aliases too


cdef class Stores:
    """The stores every clone of one context shares, and the engine they render with (its
    caches, as typed dicts, and its limits held here too: a render reaches them in one step)."""

    # Fields (_stores.pxd): the six stores; the engine, its limits (None: it follows the
    # process defaults) and its three caches; namespaces: name -> store, one per namespace of
    # the engine, or None; lru_from: a cache hit is recorded once a cache is bigger than this.

    def __init__(self, dict parameters, dict variables, dict tasks, dict config,
                 dict keystore, dict system, engine=None, namespaces=None):
        self.parameters = parameters
        self.variables = variables
        self.tasks = tasks
        self.config = config
        self.keystore = keystore
        self.system = system
        self.engine = engine = check_engine(engine)
        self.namespaces = _context_api.namespace_stores(engine, namespaces)
        self.limits = engine.limits
        self.templates = engine.templates
        self.expressions = engine.expressions
        self.json_strings = engine.json_strings
        self.lru_from = engine.lru_from

    def __reduce__(self):
        return (restore_stores, (self.parameters, self.variables, self.tasks, self.config,
                                 self.keystore, self.system, self.engine.name, self.namespaces))


# The look-ups take what they read of a context (its stores, item and index) rather than the
# context: the context type stays in fastctx._core, one class with its four fields.


cdef object _resolve(Stores stores, object item, object index, object name):
    root = _ROOTS.get(name) if type(name) is str else None
    if root is None:
        if stores.namespaces is not None and name in stores.namespaces:
            return stores.namespaces[name]
        return stores.variables.get(name, _MISSING)
    cdef int code = root
    if code == ROOT_ITEM:
        return _MISSING if index is None else item
    if code == ROOT_INDEX:
        return _MISSING if index is None else index
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


cdef object _lookup(Stores stores, object item, object index, tuple path):
    cdef object value = _resolve(stores, item, index, path[0])
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


cdef object _lookup_or_missing(Stores stores, object item, object index, tuple path):
    cdef object value = _resolve(stores, item, index, path[0])
    for key in path[1:]:
        if value is _MISSING:
            break
        value = _step(value, key)
    return value
