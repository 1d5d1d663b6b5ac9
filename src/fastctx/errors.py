"""The exceptions fastctx raises: every one is a :class:`ContextError`.

Messages name the template or expression (and, for a missing name, the full
dotted path); they never contain a keystore value.
"""

from __future__ import annotations

__all__ = [
    "ContextError",
    "InvalidExpression",
    "LimitExceeded",
    "MergeConflict",
    "SerializationError",
    "TypeConversion",
    "VariableNotFound",
]


class ContextError(Exception):
    """Base class of every error raised by fastctx."""


class VariableNotFound(ContextError, LookupError):
    """A name, key, field or index that a template or path looked up is missing.

    ``path`` is the full dotted path of the look-up as written
    (``task.fetch.data.items[0]``); ``template`` the template or expression.
    """

    def __init__(self, message: str, path: str = "", template: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.template = template

    def __str__(self) -> str:  # LookupError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidExpression(ContextError, ValueError):
    """A syntax error, a bad index, an unknown function or a division by zero."""


class TypeConversion(ContextError, TypeError):
    """Operands or arguments of the wrong type (``"a" + 5``, ``int("x")``)."""


class SerializationError(ContextError, ValueError):
    """Malformed import data, or a value that is not JSON-shaped."""


class LimitExceeded(ContextError):
    """A render or import hit one of the configured limits (see ``fastctx.limits``).

    ``limit`` is the name of the limit that was hit.
    """

    def __init__(self, message: str, limit: str = "") -> None:
        super().__init__(message)
        self.limit = limit


class MergeConflict(ContextError):
    """``merge(fork, conflict="error")`` found a key that both the context and its fork
    changed since the fork was made; nothing was merged.

    ``namespace`` is the namespace (as ``export()`` names it) and ``key`` the key in it
    (None for a namespace replaced whole: the pack config, the keystore).
    """

    def __init__(self, message: str, namespace: str = "", key: object = None) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.key = key
