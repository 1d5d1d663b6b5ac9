# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""Cython core of fastctx, lower half: the stores every clone shares (and forks, with
``fastctx._forks``), the look-ups through them (``_resolve``, ``_lookup``) with the compiled
data rules (``_step``; ``_to_text`` in ``_stores.pxd``), the writes (``_put``), the JSON-shape
check of stored values (``check_json``) and the call of a registered function
(``_call_registered``); each defers to ``fastctx._data`` or ``fastctx._engine`` for the rest.

``fastctx._core`` cimports what ``_stores.pxd`` declares. The pure-Python twin has the same
``Stores`` (``_stores_py``), the look-ups as methods of its context (``_core_py``) and the
rest in ``_data``, ``_engine`` and ``_evaluate_py``.
"""

from fastctx import _context_api
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.dict cimport PyDict_Next
from cpython.list cimport PyList_GET_ITEM
from cpython.object cimport PyObject, PyTypeObject
from libc.math cimport isfinite
from libc.string cimport memcpy
cimport cython

from fastctx import _forks, _opcodes, limits
from fastctx._data import (MISSING, ROOTS, describe_path, missing_message, root_message,
                           to_text as _py_to_text, too_deep, _MAX_INT_BITS)
from fastctx.errors import SerializationError
from fastctx._engine import check_engine
from fastctx.errors import VariableNotFound
from fastctx._pickle import restore_fork, restore_stores
from threading import RLock
from sys import intern

cdef extern from "Python.h":
    unsigned int _interned "PyUnicode_CHECK_INTERNED" (PyObject *text)  # a flag: no call
    PyObject *_item_of "PyTuple_GET_ITEM" (object values, Py_ssize_t at)  # borrowed
    PyObject *_get "PyDict_GetItemWithError" (PyObject *mapping, PyObject *key)  # borrowed
    PyObject *_error_set "PyErr_Occurred" ()
    object PyUnicode_New(Py_ssize_t size, unsigned int maxchar)
    void *PyUnicode_DATA(object text)

__all__ = ["Stores"]

cdef object _MISSING = MISSING
cdef PyTypeObject *_DICT = <PyTypeObject *>dict
cdef PyTypeObject *_STR = <PyTypeObject *>str

# Root names of a path, mapped to what they stand for: one dict probe, no string compares.
cdef dict _CODES = {"item": ROOT_ITEM, "index": ROOT_INDEX, "parameters": ROOT_PARAMETERS,
                    "variables": ROOT_VARIABLES, "tasks": ROOT_TASKS, "config": ROOT_CONFIG,
                    "keystore": ROOT_KEYSTORE, "system": ROOT_SYSTEM}
cdef dict _ROOTS = {name: _CODES[meaning] for name, meaning in ROOTS.items()}  # the aliases too
# The same, as pointers to the interned names: a compiled path's names are interned, and an
# interned string is a root only if it is one of these very objects (no probe, no hashing).
cdef enum:
    N_ROOTS = 11
cdef tuple _ROOT_NAMES = tuple(intern(name) for name in _ROOTS)  # held: the pointers stay valid
cdef PyObject *_ROOT_NAME[N_ROOTS]
cdef int _ROOT_CODE[N_ROOTS]
assert len(_ROOT_NAMES) == N_ROOTS, "N_ROOTS must count fastctx._data.ROOTS"
for _at, _name in enumerate(_ROOT_NAMES):
    _ROOT_NAME[_at] = <PyObject *>_name
    _ROOT_CODE[_at] = _ROOTS[_name]


cdef class Stores:
    """The stores every clone of one context shares, and the engine they render with (its
    caches, as typed dicts, and its limits held here too: a render reaches them in one step)."""

    # Fields (_stores.pxd): the six stores; the engine, its limits (None: it follows the
    # process defaults) and its three caches; namespaces: name -> store, one per namespace of
    # the engine, or None; lru_from: a cache hit is recorded once a cache is bigger than this.

    def __init__(self, dict parameters, dict variables, dict tasks, dict config,
                 dict keystore, dict system, engine=None, namespaces=None, forked=None,
                 marks=None):
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
        self.lock = RLock()
        if forked is not None:  # a pickle's: (serial, stamps) of stores that had forks
            self.serial, self.stamps = forked
            self.tracked = True
        self.marks = {} if marks is None else marks

    def check(self, value, what):
        """``value`` if it is JSON-shaped within the nesting limit, else raise naming
        ``what``: fastctx._data.check_json, compiled (check_json below)."""
        return check_json(value, what)

    def fork(self):
        """New stores over these: the same tables until the fork writes (fastctx._forks)."""
        cdef Stores new = Stores.__new__(Stores)
        with self.lock:
            if self.stamps is None:  # from now on its writes are stamped for merge
                self.stamps = {}
                self.tracked = True
            self.forks += 1
        new.parameters = self.parameters
        new.variables = self.variables
        new.tasks = self.tasks
        new.config = self.config
        new.keystore = self.keystore
        new.system = self.system
        new.engine = self.engine
        new.namespaces = self.namespaces
        new.limits = self.limits
        new.templates = self.templates
        new.expressions = self.expressions
        new.json_strings = self.json_strings
        new.lru_from = self.lru_from
        new.marks = self.marks
        new.lock = self.lock  # one lock for a context and all its forks: no lock order
        new.parent = self
        new.tracked = True
        new.parent_serial = new.base = self.serial
        new.changes = {}
        return new

    def __dealloc__(self):
        # The last fork gone: the parent's writes need no stamps, and go direct again.
        # (No Python code runs between these reads and writes: atomic under the GIL.)
        cdef Stores parent = self.parent
        if parent is not None:
            parent.forks -= 1
            if parent.forks == 0:
                parent.stamps = None
                parent.tracked = parent.parent is not None

    def __reduce__(self):
        if self.parent is not None:
            return (restore_fork, (self.parent, self.changes, self.serial, self.base,
                                   self.stamps))
        return (restore_stores, (self.parameters, self.variables, self.tasks, self.config,
                                 self.keystore, self.system, self.engine.name, self.namespaces,
                                 None if self.stamps is None else (self.serial, self.stamps),
                                 self.marks))


@cython.freelist(64)  # clones and with-items views come and go by the thousand
cdef class ContextFields:
    """The fields of a workflow context, which :class:`fastctx.WorkflowContext` extends."""


# The look-ups take what they read of a context (its stores, item and index).


cdef inline int _code(PyObject *name):
    # the root code of a name, or -1
    cdef int at
    if name.ob_type is _STR:
        if _interned(name):
            for at in range(N_ROOTS):
                if name == _ROOT_NAME[at]:
                    return _ROOT_CODE[at]
            return -1
        return _ROOTS.get(<object>name, -1)
    return -1


cdef object _resolve(Stores stores, object item, object index, object name):
    cdef int code = _code(<PyObject *>name)
    if code < 0:
        if stores.namespaces is not None and name in stores.namespaces:
            return stores.namespaces[name]
        return stores.variables.get(name, _MISSING)
    if code == ROOT_ITEM:
        return _MISSING if index is None else item
    if code == ROOT_INDEX:
        return _MISSING if index is None else index
    return <object>_store(stores, code)


cdef inline PyObject *_store(Stores stores, int code):
    # the store a root code other than item and index stands for (borrowed from the stores)
    if code == ROOT_PARAMETERS:
        return <PyObject *>stores.parameters
    if code == ROOT_VARIABLES:
        return <PyObject *>stores.variables
    if code == ROOT_TASKS:
        return <PyObject *>stores.tasks
    if code == ROOT_CONFIG:
        return <PyObject *>stores.config
    if code == ROOT_KEYSTORE:
        return <PyObject *>stores.keystore
    return <PyObject *>stores.system


cdef object _lookup(Stores stores, object item, object index, tuple path):
    # A root, then string keys of dicts (most look-ups): followed here through borrowed
    # references (no Python code runs on the way: the dicts and the keys have their exact
    # types), the one reference taken at the end. Anything else: _lookup_from.
    cdef PyObject *value
    cdef PyObject *key
    cdef PyObject *found
    cdef Py_ssize_t n = len(path), at
    cdef int code = _code(_item_of(path, 0))
    if code == ROOT_ITEM or code == ROOT_INDEX:
        if index is None:
            return _lookup_from(path, 1, _MISSING)
        value = <PyObject *>(item if code == ROOT_ITEM else index)
    elif code < 0:
        return _lookup_from(path, 1, _resolve(stores, item, index, path[0]))
    else:
        value = _store(stores, code)
    for at in range(1, n):
        key = _item_of(path, at)
        if value.ob_type is not _DICT or key.ob_type is not _STR:
            return _lookup_from(path, at, <object>value)
        found = _get(value, key)
        if found is NULL:
            if _error_set() is not NULL:
                _propagate()
            _not_found(path, at, <object>value)
        value = found
    return <object>value


cdef object _lookup_from(tuple path, Py_ssize_t start, object value):
    # the look-up of path[start:] in value, what path[:start] found (MISSING: the root
    # stands for nothing)
    cdef Py_ssize_t n = len(path), at
    if value is _MISSING:
        _not_found(path, 0, value)
    for at in range(start, n):
        stepped = _step(value, path[at])
        if stepped is _MISSING:
            _not_found(path, at, value)
        value = stepped
    return value


cdef int _propagate() except -1:
    return -1  # the exception already set is raised from here


cdef int _not_found(tuple path, Py_ssize_t at, object value) except -1:
    # raise the error of a look-up that found nothing at path[at] (in ``value``)
    keys = path[1:]
    if at == 0:
        raise VariableNotFound(root_message(path), describe_path(path[0], keys))
    raise VariableNotFound(missing_message(path[0], keys, at - 1, value),
                           describe_path(path[0], keys))


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


# -- writes ------------------------------------------------------------------------------------
# The names fastctx._forks knows the stores by, by root code.
cdef dict _NAMES = {ROOT_VARIABLES: "variables", ROOT_TASKS: "tasks", ROOT_CONFIG: "config",
                    ROOT_KEYSTORE: "keystore", ROOT_SYSTEM: "system"}


cdef int _put(Stores stores, int code, object key, object value) except -1:
    # key None: replace the whole store (the pack config, the keystore)
    if stores.tracked:  # a fork's stores, or stores with forks
        _forks.write(stores, _NAMES[code], key, value)
    elif code == ROOT_VARIABLES:
        stores.variables[key] = value
    elif code == ROOT_TASKS:
        stores.tasks[key] = value
    elif code == ROOT_SYSTEM:
        stores.system[key] = value
    elif code == ROOT_CONFIG:
        stores.config = value
    else:
        stores.keystore = value
    return 0


# -- registered calls --------------------------------------------------------------------------
cdef long C_REG_PASS_CONTEXT = _opcodes.REG_PASS_CONTEXT, C_REG_TEST = _opcodes.REG_TEST


cdef object _call_registered(tuple node, list args, object ctx):
    # An OP_CALL_REG node called with its evaluated args: fastctx._engine.Registered.__call__,
    # with the accepted scalars judged here (fastctx._core's evaluator calls it)
    cdef long flags = node[3]
    if flags & C_REG_PASS_CONTEXT:
        args.insert(0, ctx)
    try:
        value = _call_by_name(node[1], args, <tuple>node[5])
    except Exception as exc:
        error = node[4].failure(exc)
    else:
        if value is True or value is False or (
                not flags & C_REG_TEST and (type(value) is str or value is None)):
            return value
        return node[4].check(value)
    raise error  # outside the except: the original is not chained


cdef object _call_by_name(object function, list args, tuple names):
    # function(*args), the last len(names) of args passed by those names (OP_CALL_CHARGED,
    # OP_CALL_REG)
    cdef Py_ssize_t n = len(args) - len(names), i
    if n == len(args):
        return function(*args)
    keywords = {}
    for i in range(len(names)):
        keywords[names[i]] = args[n + i]
    return function(*args[:n], **keywords)


# -- printing ----------------------------------------------------------------------------------
cdef str _int_text(object value):
    # str(value) of an int, printed here when it fits in 64 bits
    cdef int overflow
    cdef long long number = PyLong_AsLongLongAndOverflow(value, &overflow)
    cdef unsigned long long rest = number
    cdef char digits[24]
    cdef int at = 24
    if overflow:
        return str(value)
    if number < 0:
        rest = 0ULL - rest
    while True:
        at -= 1
        digits[at] = c'0' + <char>(rest % 10)
        rest //= 10
        if rest == 0:
            break
    if number < 0:
        at -= 1
        digits[at] = c'-'
    text = PyUnicode_New(24 - at, 127)
    memcpy(PyUnicode_DATA(text), digits + at, 24 - at)
    return text


cdef str _other_text(object value):
    # what _to_text (_stores.pxd) does not print itself
    return _py_to_text(value)


# -- the JSON-shape check ----------------------------------------------------------------------
cpdef object check_json(object value, str what):
    # fastctx._data.check_json, the same checks and messages, in the same order: iterative
    # (last in, first out), only containers wait, their depths beside them in a C array
    cdef Py_ssize_t max_depth = limits.current().max_depth, depth, n, at
    cdef PyObject *key
    cdef PyObject *member
    cdef list containers = []
    cdef Depths depths = Depths()
    _check_member(value, 0, containers, depths, what)
    while containers:
        container = containers.pop()
        depths.n -= 1
        depth = depths.at[depths.n]
        if depth >= max_depth:
            too_deep(what)
        depth += 1
        at = 0
        if type(container) is dict:
            while PyDict_Next(container, &at, &key, &member):  # borrowed references
                if type(<object>key) is not str:
                    raise SerializationError(f"{what}: object keys must be strings, not "
                                             f"{type(<object>key).__name__}")
                _check_member(<object>member, depth, containers, depths, what)
        else:
            n = len(<list>container)
            while at < n:
                _check_member(<object>PyList_GET_ITEM(container, at), depth, containers,
                              depths, what)
                at += 1
    return value


cdef class Depths:
    # a growing C array of depths (freed with the object, whatever raised)
    cdef Py_ssize_t *at
    cdef Py_ssize_t n, size

    def __dealloc__(self):
        PyMem_Free(self.at)

    cdef int push(self, Py_ssize_t depth) except -1:
        cdef Py_ssize_t *grown
        if self.n == self.size:
            self.size = self.size * 2 + 16
            grown = <Py_ssize_t *>PyMem_Realloc(self.at, self.size * sizeof(Py_ssize_t))
            if grown is NULL:
                raise MemoryError()
            self.at = grown
        self.at[self.n] = depth
        self.n += 1
        return 0


cdef inline int _check_member(object item, Py_ssize_t depth, list containers, Depths depths,
                              str what) except -1:
    cdef type kind = type(item)
    cdef int overflow
    if kind is str or kind is bool or item is None:
        return 0
    if kind is int:
        PyLong_AsLongLongAndOverflow(item, &overflow)
        if overflow and item.bit_length() > _MAX_INT_BITS:
            raise SerializationError(f"{what}: an integer too large to write as JSON")
    elif kind is float:
        if not isfinite(PyFloat_AS_DOUBLE(item)):
            raise SerializationError(f"{what}: NaN and infinity are not JSON values")
    elif kind is dict or kind is list:
        containers.append(item)
        depths.push(depth)
    else:
        raise SerializationError(f"{what}: a {kind.__name__} is not a JSON value")
    return 0
