"""Declarations of ``_stores.pyx`` for ``_core.pyx``: the stores and the look-ups through them."""

cdef class Stores:
    cdef public dict parameters, variables, tasks, config, keystore, system
    cdef readonly object engine, limits
    cdef public dict namespaces
    cdef readonly dict templates, expressions, json_strings
    cdef readonly Py_ssize_t lru_from


cdef object _resolve(Stores stores, object item, object index, object name)
cdef object _lookup(Stores stores, object item, object index, tuple path)
cdef object _lookup_or_missing(Stores stores, object item, object index, tuple path)
