# cython: language_level=3, binding=False, boundscheck=False, wraparound=False
"""Cython core of fastctx, middle layer: what runs per render of a compiled template or
expression. ``_render_parts`` renders a fast-path template (literal text, look-ups and compiled
expressions, each printed and joined in C); ``_eval`` walks a compiled expression
(``fastctx._opcodes``). Both read a context only through its four fields
(``_stores.ContextFields``). The pure-Python twin is ``fastctx._evaluate_py``.
"""

from cpython.object cimport PyObject, PyObject_RichCompare
from cpython.contextvars cimport PyContextVar_Reset, PyContextVar_Set, get_value
from cpython.ref cimport Py_INCREF
from cpython.sequence cimport PySequence_Contains
from libc.string cimport memcpy
cimport cython

from fastctx._stores cimport (ContextFields, _call_by_name, _call_registered, _lookup,
                              _lookup_or_missing, _to_text)

from fastctx import _opcodes, _regex, limits
from fastctx._data import MISSING, output_too_long
from fastctx._operators import binop, concat
from fastctx._sandbox import (CALL_UNITS, _charge_work, loop_values, resolved_path,
                              soft_missing)

cdef extern from "Python.h":
    # a string's length, width of a character, characters and widest possible character,
    # read from its header (macros: no call), through a borrowed pointer
    Py_ssize_t _length "PyUnicode_GET_LENGTH" (PyObject *text)
    int _kind "PyUnicode_KIND" (PyObject *text)
    void *_data "PyUnicode_DATA" (PyObject *text)
    unsigned int _widest "PyUnicode_MAX_CHAR_VALUE" (PyObject *text)
    void _release "Py_DECREF" (PyObject *text)
    object PyUnicode_New(Py_ssize_t size, unsigned int maxchar)
    Py_ssize_t PyUnicode_CopyCharacters(object to, Py_ssize_t to_start, PyObject *source,
                                        Py_ssize_t from_start, Py_ssize_t how_many) except -1

__all__ = []

cdef object _MISSING = MISSING
cdef object _WORK = _regex.WORK  # the ContextVar of the work budget calls are charged to

# Opcodes as C constants (``fastctx._opcodes`` defines them, checked below): known when the
# module compiles, so the evaluator dispatches with one switch.
cdef enum:
    C_CONST, C_PATH, C_SOFT, C_NOT, C_AND, C_OR, C_CMP, C_BINOP, C_NEG, C_POS, C_CONCAT, C_LIST
    C_TUPLE, C_DICT, C_COND, C_CALL, C_RESULT, C_OUTCOME, C_CALL_REG, C_CHECKED, C_CALL_CHARGED
    C_BRANCH, C_BUDGET, C_TEXT, C_LOOP, C_LOCAL
    C_IN = 6
    C_NOTIN = 7
_NAMES = ("OP_CONST OP_PATH OP_SOFT OP_NOT OP_AND OP_OR OP_CMP OP_BINOP OP_NEG OP_POS OP_CONCAT "
          "OP_LIST OP_TUPLE OP_DICT OP_COND OP_CALL OP_RESULT OP_OUTCOME OP_CALL_REG OP_CHECKED "
          "OP_CALL_CHARGED OP_BRANCH OP_BUDGET OP_TEXT OP_LOOP OP_LOCAL CMP_IN CMP_NOTIN").split()
assert [C_CONST, C_PATH, C_SOFT, C_NOT, C_AND, C_OR, C_CMP, C_BINOP, C_NEG, C_POS, C_CONCAT,
        C_LIST, C_TUPLE, C_DICT, C_COND, C_CALL, C_RESULT, C_OUTCOME, C_CALL_REG, C_CHECKED,
        C_CALL_CHARGED, C_BRANCH, C_BUDGET, C_TEXT, C_LOOP, C_LOCAL, C_IN, C_NOTIN] == [
            getattr(_opcodes, name) for name in _NAMES], "fastctx._opcodes and the core differ"

cdef enum:
    HELD = 16  # the parts a template's texts are held for in C (more: in a list)


# limits.LIMITS.max_output and .max_work, kept current by on_change
cdef Py_ssize_t _MAX_OUTPUT = 0, _MAX_WORK = 0
cdef Py_ssize_t _CALL_UNITS = CALL_UNITS


def _read_limits():
    global _MAX_OUTPUT, _MAX_WORK
    _MAX_OUTPUT = limits.LIMITS.max_output
    _MAX_WORK = limits.LIMITS.max_work


limits.on_change(_read_limits)


cdef str _render_parts(ContextFields ctx, tuple parts):
    # Each part's text is charged to max_output as it comes, before anything is joined (a
    # thousand large parts are a gigabyte).
    cdef Py_ssize_t n = len(parts), size = 0, at, held = 0
    cdef Py_ssize_t max_output = (_MAX_OUTPUT if ctx._stores.limits is None
                                  else ctx._stores.limits.max_output)
    cdef PyObject *texts[HELD]
    cdef unsigned int widest = 0
    cdef str text
    if n == 1:
        text = _part_text(ctx, parts[0])
        if len(text) > max_output:
            output_too_long()
        return text
    if n > HELD:
        return _render_many(ctx, parts, max_output)
    try:
        for at in range(n):
            text = _part_text(ctx, parts[at])
            size += len(text)
            if size > max_output:
                output_too_long()
            texts[at] = <PyObject *>text
            Py_INCREF(text)
            held += 1
            # 127, 255, 65535 or 0x10FFFF: the widest of them is the union of their bits
            widest |= _widest(texts[at])
        return _join(texts, n, size, widest)
    finally:
        for at in range(held):
            _release(texts[at])


cdef str _render_many(ContextFields ctx, tuple parts, Py_ssize_t max_output):
    cdef Py_ssize_t size = 0
    cdef str text
    cdef list out = []
    for part in parts:
        text = _part_text(ctx, part)
        size += len(text)
        if size > max_output:
            output_too_long()
        out.append(text)
    return "".join(out)


cdef str _join(PyObject **texts, Py_ssize_t n, Py_ssize_t size, unsigned int widest):
    # "".join of n strings whose lengths add up to size: one allocation, then each copied in
    # (a byte copy when it has the result's width)
    cdef object result = PyUnicode_New(size, widest)
    cdef int kind = _kind(<PyObject *>result)
    cdef char *out = <char *>_data(<PyObject *>result)
    cdef Py_ssize_t at = 0, i, length
    cdef Py_ssize_t size_bytes, byte
    cdef char *source
    for i in range(n):
        length = _length(texts[i])
        if _kind(texts[i]) == kind:
            size_bytes = length * kind
            if size_bytes <= 16:  # a short part (most are): copied here, without the call
                source = <char *>_data(texts[i])
                for byte in range(size_bytes):
                    out[at * kind + byte] = source[byte]
            else:
                memcpy(out + at * kind, _data(texts[i]), size_bytes)
        else:
            PyUnicode_CopyCharacters(result, at, texts[i], 0, length)
        at += length
    return result


cdef inline str _part_text(ContextFields ctx, object part):
    if type(part) is str:
        return <str>part
    if type((<tuple>part)[0]) is str:
        return _to_text(_lookup(ctx._stores, ctx._item, ctx._index, <tuple>part))
    return _to_text(_eval(ctx, <tuple>part))


# compared by identity
cdef object _PATH = _opcodes.OP_PATH, _CONST = _opcodes.OP_CONST, _CMP = _opcodes.OP_CMP
cdef object _LOOP = _opcodes.OP_LOOP, _BRANCH = _opcodes.OP_BRANCH


cdef inline object _operand(ContextFields ctx, tuple node):
    # _eval(ctx, node), its two commonest operands (a look-up, a constant) taken inline
    cdef object op = node[0]
    if op is _PATH:
        return _lookup(ctx._stores, ctx._item, ctx._index, <tuple>node[1])
    if op is _CONST:
        return node[1]
    if op is _CMP:
        return _compare(ctx, node)
    return _eval(ctx, node)


cdef object _eval(ContextFields ctx, tuple node):
    cdef long op = node[0]
    cdef object left, result
    if op == C_PATH:
        return _lookup(ctx._stores, ctx._item, ctx._index, <tuple>node[1])
    elif op == C_CONST:
        return node[1]
    elif op == C_CMP:
        return _compare(ctx, node)
    elif op == C_AND:
        left = _operand(ctx, <tuple>node[1])
        return _operand(ctx, <tuple>node[2]) if left else left
    elif op == C_OR:
        left = _operand(ctx, <tuple>node[1])
        return left if left else _operand(ctx, <tuple>node[2])
    elif op == C_NOT:
        return not _eval(ctx, <tuple>node[1])
    elif op == C_CALL:
        return node[1](*[_eval(ctx, <tuple>arg) for arg in <tuple>node[2]])
    elif op == C_CALL_CHARGED:
        args = [_eval(ctx, <tuple>arg) for arg in <tuple>node[2]]
        _charge(args, node[4])
        return _call_by_name(node[1], args, <tuple>node[3])
    elif op == C_BRANCH:  # {% if %}: the text of one branch
        return _render_parts(ctx, <tuple>(node[2] if _eval(ctx, <tuple>node[1]) else node[3]))
    elif op == C_TEXT:
        return _render_parts(ctx, <tuple>node[1])
    elif op == C_BUDGET:
        return _budgeted(ctx, node)
    elif op == C_CALL_REG:
        args = [_eval(ctx, <tuple>arg) for arg in <tuple>node[2]]
        _charge(args, 1)
        return _call_registered(node, args,
                                (<_Frame>ctx)._ctx if type(ctx) is _Frame else ctx)
    elif op == C_LOCAL:
        return _local(ctx, node)
    elif op == C_LOOP:
        return _loop(ctx, node, _max_output(ctx))
    elif op == C_BINOP:
        return binop(node[1], _eval(ctx, <tuple>node[2]), _eval(ctx, <tuple>node[3]))
    elif op == C_SOFT:
        result = _lookup_or_missing(ctx._stores, ctx._item, ctx._index, <tuple>node[1])
        return soft_missing(node[1]) if result is _MISSING else result
    elif op == C_CONCAT:
        return concat([_eval(ctx, <tuple>arg) for arg in <tuple>node[1]])
    elif op == C_COND:
        return _eval(ctx, <tuple>(node[2] if _eval(ctx, <tuple>node[1]) else node[3]))
    elif op == C_NEG:
        return -_eval(ctx, <tuple>node[1])
    elif op == C_POS:
        return +_eval(ctx, <tuple>node[1])
    elif op == C_LIST:
        return [_eval(ctx, <tuple>arg) for arg in <tuple>node[1]]
    elif op == C_TUPLE:
        return tuple([_eval(ctx, <tuple>arg) for arg in <tuple>node[1]])
    elif op == C_DICT:  # every key and value first, then the dict: as Python's {k: v} display
        return dict([(_eval(ctx, <tuple>(<tuple>kv)[0]), _eval(ctx, <tuple>(<tuple>kv)[1]))
                     for kv in <tuple>node[1]])
    elif op == C_RESULT:
        return None if ctx._last is None else (<tuple>ctx._last)[0]
    elif op == C_OUTCOME:
        return ctx._last is not None and (<tuple>ctx._last)[1] is node[1]
    raise AssertionError(f"unknown opcode {op}")


cdef object _compare(ContextFields ctx, tuple node):
    # OP_CMP: a comparison chain, a < b <= c (the value of the first that fails, else of the last)
    cdef object left = _operand(ctx, <tuple>node[1]), right, result = True
    cdef tuple pairs = <tuple>node[2], pair
    cdef Py_ssize_t at
    cdef long code
    for at in range(len(pairs)):
        pair = <tuple>pairs[at]
        code = pair[0]
        right = _operand(ctx, <tuple>pair[1])
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


cdef object _budgeted(ContextFields ctx, tuple node):
    # OP_BUDGET: the program run with a work budget of its own, which its calls charge (the
    # limits in force are the stores' engine's, or the process defaults)
    token = PyContextVar_Set(_WORK, [_MAX_WORK if ctx._stores.limits is None
                                     else ctx._stores.limits.max_work])
    flag = node[2]
    try:
        if flag is True:
            return _render_parts(ctx, <tuple>node[1])
        if flag is False:
            return _eval(ctx, <tuple>node[1])
        return _render_blocks(ctx, <tuple>node[1], _max_output(ctx))  # a template with loops
    finally:
        PyContextVar_Reset(_WORK, token)


cdef int _charge(list args, Py_ssize_t weight) except -1:
    # fastctx._sandbox.charge_call: a call and the elements and characters of its arguments
    cdef object work = get_value(_WORK)
    cdef Py_ssize_t size = 0
    if work is None:
        return 0
    for value in args:
        if isinstance(value, (str, list, tuple, dict)):
            size += len(value)
    (<list>work)[0] -= _CALL_UNITS + weight * size
    if (<list>work)[0] < 0:
        _charge_work(work, 0)  # raises the error the Jinja2 path raises
    return 0


# -- {% for %} ---------------------------------------------------------------------------------
@cython.auto_pickle(False)
cdef class _Frame(ContextFields):
    # What a loop's body is rendered with: the context's four fields, the context itself
    # (what a registered function is given), the loop's variable and ``loop`` (a LoopContext,
    # or None) and the frame of the loop around it, or None
    cdef object _ctx, _value, _loop
    cdef _Frame _outer


cdef object _local(ContextFields ctx, tuple node):
    # OP_LOCAL: (OP_LOCAL, up, slot, sandbox, keys, root, soft)
    cdef Py_ssize_t up = node[1]
    cdef _Frame frame = <_Frame>ctx
    while up:
        frame = frame._outer
        up -= 1
    cdef object value = frame._loop if node[2] else frame._value
    if node[2] and len(<tuple>node[4]) == 1:  # loop.index, ...: what the sandbox allows of it
        return getattr(value, (<tuple>node[4])[0])
    cdef type kind = type(value)
    if not (<tuple>node[4]) and (kind is str or kind is int or kind is dict or kind is list
                                 or kind is float or kind is bool or value is None):
        return value  # a value of data, no keys: resolved_path gives it as it is
    return resolved_path(node[3], value, node[4], node[5], node[6])


cdef inline Py_ssize_t _max_output(ContextFields ctx):
    return _MAX_OUTPUT if ctx._stores.limits is None else ctx._stores.limits.max_output


cdef str _render_blocks(ContextFields ctx, tuple parts, Py_ssize_t room):
    # The parts of a template with loops, within the room left under max_output
    cdef list out = []
    _add_parts(ctx, parts, room, 0, out)
    return "".join(out)


cdef Py_ssize_t _add_parts(ContextFields ctx, tuple parts, Py_ssize_t room, Py_ssize_t size,
                           list out) except -1:
    # Each part's text appended to out, charged as it comes to the room left under
    # max_output (size of it used already), which each loop and if-block is given for its
    # own parts: the limit is exceeded at the part where the Jinja2 path exceeds it, before
    # any error of a later part. The size used after them.
    cdef str text
    for part in parts:
        op = None if type(part) is str else (<tuple>part)[0]
        if op is _LOOP:
            text = _loop(ctx, <tuple>part, room - size)
        elif op is _BRANCH:
            text = _render_blocks(ctx, <tuple>(part[2] if _eval(ctx, <tuple>part[1])
                                               else part[3]), room - size)
        else:
            text = _part_text(ctx, part)
        size += len(text)
        if size > room:
            output_too_long()
        out.append(text)
    return size


cdef str _loop(ContextFields ctx, tuple node, Py_ssize_t room):
    # OP_LOOP: (OP_LOOP, iterable, parts, other_parts, uses_loop, sandbox); the body's texts
    # charged to the room left under max_output as they come
    cdef Py_ssize_t size = 0
    cdef bint uses_loop = node[4], ran = False
    cdef tuple body = <tuple>node[2]
    cdef list out = []
    values = loop_values(node[5], _eval(ctx, <tuple>node[1]), uses_loop)
    cdef _Frame frame = _Frame.__new__(_Frame)
    frame._stores, frame._item, frame._index, frame._last = (
        ctx._stores, ctx._item, ctx._index, ctx._last)
    if type(ctx) is _Frame:
        frame._ctx, frame._outer = (<_Frame>ctx)._ctx, <_Frame>ctx
    else:
        frame._ctx = ctx
    for value in values:
        ran = True
        if uses_loop:
            frame._value, frame._loop = value
        else:
            frame._value = value
        size = _add_parts(frame, body, room, size, out)
    if not ran and node[3]:
        return _render_blocks(ctx, <tuple>node[3], room)
    return "".join(out)
