"""Regular expressions in templates: matched in linear time, or charged for their worst case.

Python's ``re`` backtracks: ``match('(a+)+$', s)`` doubles its time with each ``a`` of ``s``,
``a*a*a*b`` takes n³ steps, and a template is written by a user. So every pattern a template
uses (``match()``, the StackStorm ``regex_*`` filters) is compiled here, one way or the other:

- with the ``re2`` extra installed (``pip install 'fastctx[re2]'``: google-re2, the bindings
  of RE2), by RE2, which matches in time linear in the subject whatever the pattern (its
  error logging off: a refused pattern says so only by :class:`InvalidExpression`);
- without it, by ``re``, after a check that refuses what can backtrack exponentially: a
  quantifier over something that itself repeats, is optional or alternates (``(a+)+``,
  ``(a|ab)*``, ``(\\.\\d+)+``, ``(a?a)*``). What is left is at worst polynomial
  (``.*a.*b.*c``, ``\\s+$`` under search): before each match, ``fastctx._backtrack`` bounds
  the steps ``re`` can take on that subject, from the pattern and the longest run of each
  repeated character class in the subject, and the bound is charged to ``max_work`` at
  ``STEPS_PER_UNIT`` steps a unit (measured: ``re`` takes 1 to 4 ns a step; a unit is about
  0.2 µs). Past the render's budget (on the compiled path: past ``max_work`` for the one
  call), the match is not run and :class:`LimitExceeded` (``"max_work"``) is raised.
  Ordinary patterns on ordinary text are cheap (``^\\d+$`` is linear, ``\\s+`` costs the
  longest run of spaces per start); the same patterns on hostile subjects are refused.

Either way lookaround and backreferences are refused (RE2 has neither), a pattern is at most
1,000 characters, and the subject at most ``max_output``. A refused pattern raises
:class:`InvalidExpression` naming the function and saying why.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from typing import Any

from . import limits
from ._backtrack import Backtracking
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

__all__ = ["ENGINE", "MAX_PATTERN", "STEPS_PER_UNIT", "WORK", "compile_pattern", "subject"]

#: What compiles patterns: "re2" (linear time) or "re" (checked first).
ENGINE = "re" if _re2 is None else "re2"
#: The longest pattern accepted, in characters.
MAX_PATTERN = 1000
#: Steps of ``re``'s matcher charged as one unit of ``max_work`` (about 0.2 µs of CPU):
#: ``re`` takes 1 to 4 ns a step on the worst cases measured, so a unit buys 50 to 200.
STEPS_PER_UNIT = 32
#: The work budget of the render calling (a one-element list, as the sandbox keeps it), set
#: by the sandbox around each filter and function call; None on the compiled path.
WORK: ContextVar[list[int] | None] = ContextVar("fastctx_regex_work", default=None)

_CACHE_SIZE = 256
_cache: dict[tuple[str, str, bool, str], Any] = {}
_REPEATS = {_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT,
            getattr(_sre_parse, "POSSESSIVE_REPEAT", _sre_parse.MAX_REPEAT)}
_REFUSED = {_sre_parse.GROUPREF: "a backreference", _sre_parse.GROUPREF_EXISTS:
            "a conditional group", _sre_parse.ASSERT: "a lookaround",
            _sre_parse.ASSERT_NOT: "a lookaround"}


def compile_pattern(name: str, pattern: str, ignorecase: bool = False) -> Any:
    """``pattern`` compiled (cached) for the function ``name``: an object with ``search``,
    ``match``, ``fullmatch``, ``sub`` and ``findall`` as ``re``'s patterns have."""
    key = (name, pattern, ignorecase, ENGINE)
    compiled = _cache.get(key)
    if compiled is not None:
        return compiled
    if len(pattern) > MAX_PATTERN:
        raise LimitExceeded(f"{name}(): the pattern is longer than {MAX_PATTERN} characters",
                            "max_output")
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE if ignorecase else 0)
        _check(parsed, inside_repeat=False)
        if ENGINE == "re2":
            compiled = _re2.compile(f"(?i){pattern}" if ignorecase else pattern, _re2_options())
        else:
            compiled = _Charged(name, re.compile(pattern, re.IGNORECASE if ignorecase else 0),
                                Backtracking(parsed))
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


def _re2_options() -> Any:
    """RE2's options: its defaults, without the lines it logs to stderr for a bad pattern."""
    options = _re2.Options()
    options.log_errors = False
    return options


class _Charged:
    """A pattern compiled by ``re``, each match charged its worst case first."""

    __slots__ = ("name", "compiled", "worst", "groups")

    def __init__(self, name: str, compiled: re.Pattern[str], worst: Backtracking) -> None:
        self.name, self.compiled, self.worst = name, compiled, worst
        self.groups = compiled.groups

    def _charge(self, text: str, searching: bool) -> None:
        steps = self.worst.steps(text, searching)
        units = steps // STEPS_PER_UNIT + len(self.worst.runs) * len(text) // STEPS_PER_UNIT
        budget = WORK.get()
        if budget is not None:
            budget[0] -= units
            over = budget[0] < 0
        else:
            over = units > limits.current().max_work
        if over:
            raise LimitExceeded(
                f"{self.name}(): matching this pattern against a string of {len(text)} "
                f"characters may take up to {units} units of work, past max_work="
                f"{limits.current().max_work} (re backtracks: write it with fewer "
                "overlapping quantifiers, or install fastctx[re2] for linear-time matching)",
                "max_work")

    def search(self, text: str) -> Any:
        self._charge(text, True)
        return self.compiled.search(text)

    def match(self, text: str) -> Any:
        self._charge(text, False)
        return self.compiled.match(text)

    def fullmatch(self, text: str) -> Any:
        self._charge(text, False)
        return self.compiled.fullmatch(text)

    def sub(self, replacement: Any, text: str, count: int = 0) -> str:
        self._charge(text, True)
        return self.compiled.sub(replacement, text, count)

    def finditer(self, text: str) -> Any:
        self._charge(text, True)
        return self.compiled.finditer(text)

    def findall(self, text: str) -> list[Any]:
        self._charge(text, True)
        return self.compiled.findall(text)


class _Refused(Exception):
    pass


def _check(parsed: Any, inside_repeat: bool) -> None:
    """Refuse backreferences, lookaround, and (without RE2) a repeat over a repeat, an
    optional part or an alternation: what makes a backtracking matcher exponential (the
    ways to split a run between iterations multiply)."""
    for op, argument in parsed:
        if op in _REFUSED:
            raise _Refused(_REFUSED[op])
        if op in _REPEATS:
            low, high, body = argument
            repeats = high is _sre_parse.MAXREPEAT or high > 1
            if inside_repeat and (repeats or low != high) and ENGINE == "re":
                raise _Refused("a quantifier over a repetition" if repeats else
                               "a quantifier over an optional part")
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

