"""Error reporting: any failure while compiling or rendering becomes a :class:`ContextError`
that names the template, and no message carries a keystore value in any spelling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.utils import htmlsafe_json_dumps

from . import limits
from ._data import ContextView, to_text
from .errors import (
    ContextError,
    InvalidExpression,
    LimitExceeded,
    TypeConversion,
    VariableNotFound,
)

__all__ = ["error_for", "quote", "scrub", "scrub_secrets"]

_SHOWN = 120  # characters of a template quoted in an error message


def quote(source: str) -> str:
    """A template as error messages show it: quoted, cut to a readable length."""
    return repr(source if len(source) <= _SHOWN else source[:_SHOWN] + "...")


def error_for(exc: BaseException, source: str, wf: ContextView | None) -> ContextError:
    """``exc`` as a :class:`ContextError` naming ``source``, with no secret in it.

    The caller raises it after its ``except`` block, so that the original exception (whose
    message may quote a secret) is not chained to it as ``__context__``.
    """
    if isinstance(exc, ContextError):
        error: ContextError = exc
    elif isinstance(exc, TemplateSyntaxError):
        error = InvalidExpression(f"syntax error: {exc.message} (line {exc.lineno})")
    elif isinstance(exc, SecurityError):
        error = InvalidExpression(f"blocked by the sandbox: {exc}")
    elif isinstance(exc, UndefinedError):
        error = VariableNotFound(str(exc))
    elif isinstance(exc, (ZeroDivisionError, OverflowError, ValueError, TemplateError)):
        error = InvalidExpression(f"{type(exc).__name__}: {exc}")
    elif isinstance(exc, (TypeError, AttributeError)):
        error = TypeConversion(str(exc))
    elif isinstance(exc, (LookupError)):
        error = VariableNotFound(f"{type(exc).__name__}: {exc}")
    elif isinstance(exc, RecursionError):
        error = LimitExceeded(f"recursion deeper than Python allows (max_recursion="
                              f"{limits.current().max_recursion})", "max_recursion")
    elif isinstance(exc, MemoryError):  # no limit stopped it first: not max_output's doing
        error = LimitExceeded("ran out of memory while rendering", "memory")
    else:
        error = InvalidExpression(f"{type(exc).__name__}: {exc}")
    message = str(error)
    if getattr(error, "template", None) is None:
        message = f"{message} (in {quote(source)})"
        error.template = source  # type: ignore[attr-defined]
    error.args = (scrub(message, wf),)
    if getattr(error, "path", None):
        error.path = scrub(error.path, wf)  # type: ignore[attr-defined]
    error.__cause__ = error.__context__ = None
    return error


def scrub(message: str, wf: ContextView | None) -> str:
    """``message`` with every keystore value of ``wf`` replaced by ``***``."""
    return message if wf is None else scrub_secrets(message, wf.keystore)


def scrub_secrets(message: str, keystore: Mapping[str, Any]) -> str:
    """``message`` with every value in ``keystore`` (nested ones too) replaced by ``***``."""
    if not keystore:
        return message
    for secret in secret_spellings(keystore.values()):
        message = message.replace(secret, "***")
    return message


def secret_spellings(values: Iterable[Any]) -> list[str]:
    """Every spelling (``_spellings``) of every scalar in ``values`` (nested ones too), longest
    first, none empty: what must not be shown."""
    secrets: list[str] = []
    stack: list[Any] = list(values)
    while stack:
        value = stack.pop()
        if type(value) is dict:
            stack.extend(value.values())
        elif type(value) is list:
            stack.extend(value)
        elif value is not None and type(value) is not bool:
            secrets.extend(_spellings(to_text(value)))
    return sorted({secret for secret in secrets if secret}, key=len, reverse=True)


def _spellings(secret: str) -> list[str]:
    """A secret as messages may quote it: as is, escaped by repr, ascii, unicode-escape,
    JSON or the tojson filter, or repr of JSON and of repr (a path text holds JSON-quoted keys
    and is itself quoted with repr), and each of those with its single quotes escaped (what
    repr does to a text that holds both kinds of quote)."""
    as_json = json.dumps(secret, ensure_ascii=False)[1:-1]
    as_repr = repr(secret)[1:-1]
    spellings = [secret, as_json, as_repr, repr(as_json)[1:-1], repr(as_repr)[1:-1],
                 json.dumps(secret)[1:-1], ascii(secret)[1:-1],
                 secret.encode("unicode_escape").decode("ascii"),
                 str(htmlsafe_json_dumps(secret))[1:-1]]  # what the tojson filter writes
    return spellings + [spelling.replace("'", "\\'") for spelling in spellings]
