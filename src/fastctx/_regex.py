"""Regular expressions in templates: matched in linear time, or refused.

Python's ``re`` backtracks: ``match('(a+)+$', s)`` doubles its time with each ``a`` of ``s``,
and a template is written by a user. So every pattern a template uses (``match()``, the
StackStorm ``regex_*`` filters) is compiled here, one way or the other:

- with the ``re2`` extra installed (``pip install 'fastctx[re2]'``: google-re2, the bindings
  of RE2), by RE2, which matches in time linear in the subject whatever the pattern;
- without it, by ``re``, after a check that refuses what can backtrack without bound: a
  quantifier over something that itself repeats or alternates (``(a+)+``, ``(a|ab)*``,
  ``(\\.\\d+)+``), and backreferences.

Either way lookaround and backreferences are refused (RE2 has neither), a pattern is at most
1,000 characters, and the subject at most ``max_output``. A refused pattern raises
:class:`InvalidExpression` naming the function and saying why.
"""

from __future__ import annotations

import re
from typing import Any

from . import limits
from ._cache import remember
from .errors import InvalidExpression, LimitExceeded

try:
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_parse as _sre_parse

try:
    import re2 as _re2  # type: ignore[import-not-found, import-untyped, unused-ignore]
except ImportError:
    _re2 = None

__all__ = ["ENGINE", "MAX_PATTERN", "compile_pattern", "subject"]

#: What compiles patterns: "re2" (linear time) or "re" (checked first).
ENGINE = "re" if _re2 is None else "re2"
#: The longest pattern accepted, in characters.
MAX_PATTERN = 1000

_CACHE_SIZE = 256
_cache: dict[tuple[str, bool, str], Any] = {}
_REPEATS = {_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT,
            getattr(_sre_parse, "POSSESSIVE_REPEAT", _sre_parse.MAX_REPEAT)}
_REFUSED = {_sre_parse.GROUPREF: "a backreference", _sre_parse.GROUPREF_EXISTS:
            "a conditional group", _sre_parse.ASSERT: "a lookaround",
            _sre_parse.ASSERT_NOT: "a lookaround"}


def compile_pattern(name: str, pattern: str, ignorecase: bool = False) -> Any:
    """``pattern`` compiled (cached) for the function ``name``: an object with ``search``,
    ``match``, ``fullmatch``, ``sub`` and ``findall`` as ``re``'s patterns have."""
    key = (pattern, ignorecase, ENGINE)
    compiled = _cache.get(key)
    if compiled is not None:
        return compiled
    if len(pattern) > MAX_PATTERN:
        raise LimitExceeded(f"{name}(): the pattern is longer than {MAX_PATTERN} characters",
                            "max_output")
    try:
        _check(_sre_parse.parse(pattern), inside_repeat=False)
        if ENGINE == "re2":
            compiled = _re2.compile(f"(?i){pattern}" if ignorecase else pattern)
        else:
            compiled = re.compile(pattern, re.IGNORECASE if ignorecase else 0)
    except _Refused as exc:
        reason = f"{exc.args[0]} can take time that grows without bound; " + (
            "RE2 has none" if ENGINE == "re2" else
            "write it without, or install fastctx[re2] for linear-time matching")
    except re.error as exc:
        reason = exc.msg  # re.error's own text, without the pattern
    except (OverflowError, RecursionError):
        reason = "a repetition count or a nesting too large"
    except Exception as exc:  # noqa: BLE001 - RE2's own error: the pattern is not for it
        reason = f"RE2 cannot compile it ({type(exc).__name__})"
    else:
        return remember(_cache, key, compiled, _CACHE_SIZE)
    raise InvalidExpression(f"{name}() got a regular expression it cannot use: {reason}")


def subject(name: str, text: str) -> str:
    """``text`` if it is short enough to match against (at most ``max_output``)."""
    if len(text) > limits.current().max_output:
        raise LimitExceeded(f"{name}(): the string is longer than max_output="
                            f"{limits.current().max_output}", "max_output")
    return text


class _Refused(Exception):
    pass


def _check(parsed: Any, inside_repeat: bool) -> None:
    """Refuse backreferences, lookaround, and (without RE2) a repeat over a repeat or an
    alternation: what makes a backtracking matcher exponential."""
    for op, argument in parsed:
        if op in _REFUSED:
            raise _Refused(_REFUSED[op])
        if op in _REPEATS:
            _, high, body = argument
            repeats = high is _sre_parse.MAXREPEAT or high > 1
            if repeats and inside_repeat and ENGINE == "re":
                raise _Refused("a quantifier over a repetition")
            _check(body, inside_repeat or repeats)
        elif op is _sre_parse.BRANCH:
            if inside_repeat and ENGINE == "re":
                raise _Refused("a quantifier over an alternation")
            for branch in argument[1]:
                _check(branch, inside_repeat)
        elif op is _sre_parse.SUBPATTERN:
            _check(argument[-1], inside_repeat)
        elif op is getattr(_sre_parse, "ATOMIC_GROUP", None):
            _check(argument, inside_repeat)

