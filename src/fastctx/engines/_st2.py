"""StackStorm's own Jinja filters as plain functions, so st2 workflows run unchanged.

The functions reproduce st2's filters and Orquesta functions (``st2common/expressions/functions/``
in st2 3.x, formerly ``st2common/jinja/filters/``: ``data.py``, ``regex.py``, ``time.py``,
``version.py``, ``path.py``) with the same names, argument orders and results. Each one is used
both as a filter (``x | regex_match("y")``) and as a function (``regex_match(x, "y")``):
:data:`FILTERS` maps every st2 name to its function.

Differences from st2, all on input st2 would reject or mishandle anyway:

* Bad input raises :class:`~fastctx.errors.TypeConversion` (a wrong type) or
  :class:`~fastctx.errors.InvalidExpression` (a bad value: a bad regex, a string that is not a
  version or not JSON, an index with no match) where st2 raises ``TypeError``, ``ValueError``,
  ``IndexError``, ``AssertionError`` or ``re.error``. No message contains an argument's value
  (it may be a secret).
* Limits: a regex pattern longer than 1,000 characters, a subject string or a result longer than
  ``max_output`` raise :class:`~fastctx.errors.LimitExceeded` (limit ``"max_output"``); JSON
  nested deeper than ``max_depth`` raises it with limit ``"max_depth"``; ``to_json_string``
  refuses an ``indent`` larger than 100. A regex is matched by RE2 (the ``re2`` extra) or,
  by ``re``, charged its worst case against ``max_work`` first (``fastctx._regex``).
* Flags and switches (``ignorecase``, ``sort_keys``) must be booleans (or None where st2's
  default is None), not any truthy value; ``to_human_time_from_seconds`` refuses booleans
  (``True`` is ``1`` in st2).
* ``from_json_string`` (st2 uses ``orjson.loads(str(value))``) accepts a string or a number, not
  an array or object (whose Python ``str()`` st2 would try to parse); like orjson it refuses
  ``NaN`` and ``Infinity``; unlike orjson it keeps integers beyond 64 bits exact.
* Versions (st2 uses the ``semver`` 3 library, not a dependency here): ``MAJOR.MINOR.PATCH``
  with optional ``-prerelease`` and ``+build``, compared by semver 2.0 precedence (build
  ignored), one trailing newline tolerated as semver's ``$`` does. Not supported: semver's
  ``optional_minor_and_patch`` forms (``"1"``, ``"1.2"``), non-ASCII digits, and the ``dict``,
  ``list`` or ``tuple`` versions ``semver.Version.compare`` also accepts as its argument;
  version strings are limited to 1,000 characters.
* Not provided (they need a YAML or JSONPath library): ``from_yaml_string``, ``to_yaml_string``,
  ``jsonpath_query``; nor the datastore and crypto filters (``decrypt_kv``, ``st2kv``).

Kept as in st2, oddities included: ``regex_*`` match non-strings against Python's ``str()`` of
the value (``None`` → ``"None"``, ``True`` → ``"True"``); ``json_escape`` strips *every* leading
and trailing ``"`` of ``json.dumps``'s output; ``to_human_time_from_seconds`` writes values below
one second as ``"<value>μs"`` (the value in seconds, not microseconds) and counts days as the day
of the month of ``0001-01-01 + seconds`` (45,678,997 s is ``"1y12d16h36m37s"``, and exactly 31
days is ``"0s"``).
"""

from __future__ import annotations

import datetime
import json
import posixpath
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from fastctx import limits
from fastctx._regex import compile_pattern
from fastctx.errors import InvalidExpression, LimitExceeded, TypeConversion

from ._semver import (
    bad_type as _bad,
)
from ._semver import (
    version_bump_major,
    version_bump_minor,
    version_bump_patch,
    version_compare,
    version_equal,
    version_less_than,
    version_match,
    version_more_than,
    version_strip_patch,
)

__all__ = [
    "FILTERS",
    "NONE_MAGIC_VALUE",
    "basename",
    "dirname",
    "from_json_string",
    "json_escape",
    "regex_match",
    "regex_replace",
    "regex_search",
    "regex_substring",
    "to_human_time_from_seconds",
    "to_json_string",
    "use_none",
    "version_bump_major",
    "version_bump_minor",
    "version_bump_patch",
    "version_compare",
    "version_equal",
    "version_less_than",
    "version_match",
    "version_more_than",
    "version_strip_patch",
]

#: What ``use_none`` turns None into (st2's ``NONE_MAGIC_VALUE``): st2 turns it back into None
#: when it casts a rendered parameter.
NONE_MAGIC_VALUE = "%*****__%NONE%__*****%"

_MAX_INDENT = 100
_INF = float("inf")


# -- shared helpers ---------------------------------------------------------------------------


def _limit(name: str) -> int:
    """A limit in force: the rendering engine's, or the process default."""
    return int(getattr(limits.current(), name))



def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _too_long(fn: str, what: str) -> LimitExceeded:
    return LimitExceeded(
        f"{fn}(): {what} is longer than max_output={_limit('max_output')}", "max_output")


def _too_deep(fn: str) -> LimitExceeded:
    return LimitExceeded(
        f"{fn}(): the value is nested deeper than max_depth={_limit('max_depth')}", "max_depth")


def _check_depth(fn: str, value: Any) -> None:
    """Refuse arrays and objects nested deeper than ``max_depth`` (iteratively)."""
    max_depth = _limit("max_depth")
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise _too_deep(fn)
            members = item.values() if isinstance(item, dict) else item
            stack.extend((member, depth + 1) for member in members)


# -- data (data.py) ---------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON values")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (_INF, -_INF):  # "1e400"
        raise ValueError("a number too large for a float")
    return number


def from_json_string(value: Any) -> Any:
    """Parse a JSON document (st2: ``orjson.loads(str(value))``); a number is parsed from its
    text, as st2 does (``5`` → ``5``)."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _bad("from_json_string", "a string", value)
    text = str(value)
    try:
        result = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise _too_deep("from_json_string") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer of too many digits
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
    else:
        if text.count("[") + text.count("{") > _limit("max_depth"):
            _check_depth("from_json_string", result)
        return result
    raise InvalidExpression(f"from_json_string() got a string that is not JSON: {reason}")


def _pair_of_strings(value: Any) -> tuple[str, str] | None:
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(item, str) for item in value)):
        return (str(value[0]), str(value[1]))
    return None


def _encode(fn: str, encoder: json.JSONEncoder, value: Any, stream: bool) -> str:
    """``encoder.encode(value)`` refused past ``max_output``; ``stream`` counts the output as it
    is made (for an indent or long separators, which can make it much longer than the value)."""
    max_output = _limit("max_output")
    try:
        if stream:
            parts: list[str] = []
            size = 0
            for chunk in encoder.iterencode(value):
                size += len(chunk)
                if size > max_output:
                    raise _too_long(fn, "the JSON text")
                parts.append(chunk)
            text = "".join(parts)
        else:
            text = encoder.encode(value)
    except RecursionError:
        raise _too_deep(fn) from None
    except (TypeError, ValueError) as exc:  # not JSON-shaped, a circular reference, mixed keys
        if isinstance(exc, ValueError):
            reason = "a circular reference"
        else:
            reason = "a value that is not data"
    else:
        if len(text) > max_output:
            raise _too_long(fn, "the JSON text")
        return text
    raise TypeConversion(f"{fn}() cannot write {reason} as JSON")


def to_json_string(
    value: Any,
    indent: Any = None,
    sort_keys: Any = False,
    separators: Any = (",", ": "),
) -> str:
    """``value`` as JSON text (``json.dumps``, ASCII only). ``indent``: None (one line), a number
    of spaces up to 100 or an indent string; ``sort_keys``: a boolean; ``separators``: the
    ``[item, key]`` separators, st2's default ``(",", ": ")``. None for any of them means
    ``json.dumps``'s default, as in st2."""
    fn = "to_json_string"
    if indent is not None:
        if _is_int(indent):
            if indent > _MAX_INDENT:
                raise InvalidExpression(f"{fn}() allows an indent of at most {_MAX_INDENT}")
        elif isinstance(indent, str):
            if len(indent) > _MAX_INDENT:
                raise InvalidExpression(
                    f"{fn}() allows an indent string of at most {_MAX_INDENT} characters")
            indent = str(indent)
        else:
            raise _bad(fn, "a number or string indent", indent)
    if sort_keys is not None and not isinstance(sort_keys, bool):
        raise _bad(fn, "a boolean sort_keys", sort_keys)
    pair = None
    if separators is not None:
        pair = _pair_of_strings(separators)
        if pair is None:
            raise TypeConversion(f"{fn}() expects separators as a pair of strings")
    encoder = json.JSONEncoder(indent=indent, sort_keys=bool(sort_keys), separators=pair)
    stream = indent is not None or (pair is not None and max(map(len, pair)) > 2)
    return _encode(fn, encoder, value, stream)


def json_escape(value: Any) -> str:
    """``value`` escaped for a JSON string (st2: ``json.dumps(value).strip('"')``): quotes,
    backslashes, control characters and non-ASCII characters are escaped."""
    return _encode("json_escape", json.JSONEncoder(), value, False).strip('"')


def use_none(value: Any) -> Any:
    """``value``, or :data:`NONE_MAGIC_VALUE` when it is None."""
    return NONE_MAGIC_VALUE if value is None else value


# -- regular expressions (regex.py) -----------------------------------------------------------


def _subject(fn: str, value: Any) -> str:
    """The string matched: ``value`` itself, else Python's ``str(value)`` as in st2."""
    if isinstance(value, (str, bool, int, float, list, tuple, dict)) or value is None:
        text = str(value)
    else:
        raise _bad(fn, "a string", value)
    if len(text) > _limit("max_output"):
        raise _too_long(fn, "the string")
    return text


def _regex(fn: str, pattern: Any, ignorecase: Any) -> Any:
    """``pattern`` compiled by the one rule of templates' regular expressions
    (``fastctx._regex``: linear time with RE2, or refused where it could backtrack)."""
    if not isinstance(pattern, str):
        raise _bad(fn, "a string pattern", pattern)
    if not isinstance(ignorecase, bool):
        raise _bad(fn, "a boolean ignorecase", ignorecase)
    return compile_pattern(fn, str(pattern), ignorecase)


def regex_match(value: Any, pattern: Any, ignorecase: Any = False) -> bool:
    """Whether ``pattern`` matches at the start of ``value`` (``re.match``)."""
    compiled = _regex("regex_match", pattern, ignorecase)
    return compiled.match(_subject("regex_match", value)) is not None


def regex_search(value: Any, pattern: Any, ignorecase: Any = False) -> bool:
    """Whether ``pattern`` matches anywhere in ``value`` (``re.search``)."""
    compiled = _regex("regex_search", pattern, ignorecase)
    return compiled.search(_subject("regex_search", value)) is not None


def regex_replace(value: Any, pattern: Any, replacement: Any, ignorecase: Any = False) -> str:
    """``value`` with every match of ``pattern`` replaced (``re.sub``; ``replacement`` may use
    backreferences such as ``\\1`` and ``\\g<name>``)."""
    fn = "regex_replace"
    compiled = _regex(fn, pattern, ignorecase)
    if not isinstance(replacement, str):
        raise _bad(fn, "a string replacement", replacement)
    text = _subject(fn, value)
    replacement = str(replacement)
    max_output = _limit("max_output")
    literal = "\\" not in replacement
    if literal and len(text) + (len(text) + 1) * len(replacement) <= max_output:
        return str(compiled.sub(replacement, text))  # cannot pass the limit
    if not literal:
        try:  # the template is checked even where nothing matches, as re.sub does (by re:
            # RE2 checks a group reference only when it expands it; compiling is no matching)
            re.compile(str(pattern)).sub(replacement, "")
        except (re.error, IndexError) as exc:
            reason = exc.msg if isinstance(exc, re.error) else "invalid group reference"
            raise InvalidExpression(f"{fn}() got an invalid replacement: {reason}") from None
    size = len(text)

    def substitute(match: re.Match[str]) -> str:
        nonlocal size
        try:
            piece = replacement if literal else match.expand(replacement)
        except (IndexError, re.error):  # RE2 checks a group reference only when it expands it
            raise InvalidExpression(
                f"{fn}() got an invalid replacement: invalid group reference") from None
        size += len(piece) - (match.end() - match.start())
        if size > max_output:
            raise _too_long(fn, "the result")
        return piece

    return str(compiled.sub(substitute, text))


def _found(match: re.Match[str]) -> str | list[str]:
    """What ``re.findall`` lists for ``match``: the match, its one group, or all its groups
    (as a list, not a tuple; an unmatched group is "")."""
    groups = match.re.groups
    if groups == 0:
        return match.group(0)
    if groups == 1:
        return match.group(1) or ""
    return [group or "" for group in match.groups()]


def regex_substring(
    value: Any, pattern: Any, result_index: Any = 0, ignorecase: Any = False,
) -> str | list[str]:
    """Match number ``result_index`` (negative: from the end) of ``pattern`` in ``value``, as
    ``re.findall(pattern, value)[result_index]``: the matched text, or the text of the one group
    in ``pattern``, or the list of the texts of its groups when it has several."""
    fn = "regex_substring"
    compiled = _regex(fn, pattern, ignorecase)
    if not _is_int(result_index):
        raise _bad(fn, "an integer result_index", result_index)
    text = _subject(fn, value)
    if result_index >= 0:
        for number, match in enumerate(compiled.finditer(text)):
            if number == result_index:
                return _found(match)
    elif -result_index <= len(text) + 1:  # there are at most len(text) + 1 matches
        last = deque(compiled.finditer(text), maxlen=-result_index)
        if len(last) == -result_index:
            return _found(last[0])
    raise InvalidExpression(f"{fn}() found no match at index {result_index}")


# -- paths (path.py) --------------------------------------------------------------------------


def basename(path: Any) -> str:
    """The last component of a POSIX ``path`` (``""`` when it ends with ``/``)."""
    if not isinstance(path, str):
        raise _bad("basename", "a string", path)
    return posixpath.basename(str(path))


def dirname(path: Any) -> str:
    """``path`` without its last component (``os.path.dirname`` on POSIX)."""
    if not isinstance(path, str):
        raise _bad("dirname", "a string", path)
    return posixpath.dirname(str(path))


# -- time (time.py) ---------------------------------------------------------------------------

_TIME_FORMATS = ("{}s", "{}m{}s", "{}h{}m{}s", "{}d{}h{}m{}s", "{}y{}d{}h{}m{}s")


def to_human_time_from_seconds(seconds: Any) -> str:
    """A number of seconds written like ``"3h25m45s"``, exactly as st2 writes it (see the module
    docstring for st2's oddities, which are kept)."""
    fn = "to_human_time_from_seconds"
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise _bad(fn, "a number", seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds}\u03bcs"
    try:
        whole = round(seconds)  # floats lose their fraction, rounding half to even
        offset = datetime.datetime(1, 1, 1) + datetime.timedelta(seconds=whole)
    except (OverflowError, ValueError):
        raise InvalidExpression(f"{fn}() got a number of seconds out of range") from None
    parts = [offset.year - 1, offset.day - 1, offset.hour, offset.minute, offset.second]
    first = next((i for i, part in enumerate(parts) if part), None)
    if first is None:
        return "0s"
    parts = parts[first:]
    return _TIME_FORMATS[len(parts) - 1].format(*parts)


#: Every st2 name and its function (each serves as a filter and as a function).
FILTERS: dict[str, Callable[..., Any]] = {
    "basename": basename,
    "dirname": dirname,
    "from_json_string": from_json_string,
    "json_escape": json_escape,
    "regex_match": regex_match,
    "regex_replace": regex_replace,
    "regex_search": regex_search,
    "regex_substring": regex_substring,
    "to_human_time_from_seconds": to_human_time_from_seconds,
    "to_json_string": to_json_string,
    "use_none": use_none,
    "version_bump_major": version_bump_major,
    "version_bump_minor": version_bump_minor,
    "version_bump_patch": version_bump_patch,
    "version_compare": version_compare,
    "version_equal": version_equal,
    "version_less_than": version_less_than,
    "version_match": version_match,
    "version_more_than": version_more_than,
    "version_strip_patch": version_strip_patch,
}
