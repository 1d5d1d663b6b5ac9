"""Declarations of ``_stores.pyx`` for ``_core.pyx``: the stores and the look-ups through them."""

# Root names of a path, as codes (one dict probe, no string compares); the writes use them too.
cdef enum Root:
    ROOT_ITEM, ROOT_INDEX, ROOT_PARAMETERS, ROOT_VARIABLES, ROOT_TASKS, ROOT_CONFIG,
    ROOT_KEYSTORE, ROOT_SYSTEM


cdef class Stores:
    cdef public dict parameters, variables, tasks, config, keystore, system
    cdef readonly object engine, limits
    cdef public dict namespaces
    cdef readonly dict templates, expressions, json_strings
    cdef readonly Py_ssize_t lru_from
    # forks (fastctx._forks): the parent of a fork, or None; tracked: writes go through
    # fastctx._forks (a fork, or stores with forks); serial: moves on each write once forked
    # and on each sync; parent_serial: the parent's serial when the views were last brought up
    # to date; base: the parent's serial when forked (or last merged); changes: a fork's own
    # writes by namespace; stamps: (namespace, key) -> serial of the write, once forked;
    # forks: how many forks of these stores are alive (when none is, writes are direct again).
    cdef readonly Stores parent
    cdef public bint tracked
    cdef public Py_ssize_t serial, parent_serial, base, forks
    cdef public dict changes, stamps
    # marks: store name -> the paths marked secret in it (fastctx._secrets), or None; shared
    # with forks
    cdef public dict marks
    cdef readonly object lock


# The four fields of a context (fastctx._core.WorkflowContext is this type with its methods):
# the shared stores, the item, the index (None when not iterating) and the last outcome as a
# (result, TaskOutcome) pair or None. A clone copies these pointers only. The evaluator
# (_evaluate.pyx) reads a context through them.
cdef class ContextFields:
    cdef Stores _stores
    cdef object _item
    cdef object _index
    cdef object _last


cdef object _resolve(Stores stores, object item, object index, object name)
cdef object _lookup(Stores stores, object item, object index, tuple path)
cdef object _lookup_or_missing(Stores stores, object item, object index, tuple path)
cpdef object check_json(object value, str what)
cdef object _call_registered(tuple node, list args, object ctx)
cdef object _call_by_name(object function, list args, tuple names)
cdef int _put(Stores stores, int code, object key, object value) except -1
cdef str _other_text(object value)
cdef str _int_text(object value)
cdef int _propagate() except -1


cdef inline str _to_text(object value):
    # fastctx._data.to_text, with the scalars printed here (inline in the modules that use it)
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
        return _int_text(value)
    if kind is float and value - value == 0.0:  # finite: repr is what json.dumps prints
        return repr(value)
    return _other_text(value)


cdef inline bint _fresh(Stores stores):
    # fastctx._forks.fresh: no stores above this fork were written since it last looked
    while stores.parent is not None:
        if stores.parent.serial != stores.parent_serial:
            return False
        stores = stores.parent
    return True
