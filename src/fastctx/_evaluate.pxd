"""Declarations of ``_evaluate.pyx`` for ``_core.pyx``: what runs per render."""

from fastctx._stores cimport ContextFields

cdef str _render_parts(ContextFields ctx, tuple parts)
cdef object _eval(ContextFields ctx, tuple node)
