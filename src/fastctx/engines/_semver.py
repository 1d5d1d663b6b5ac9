"""Semantic versions as StackStorm's ``version_*`` filters compare and bump them (st2 uses the
``semver`` library, which is not a dependency here): ``MAJOR.MINOR.PATCH`` with an optional
``-prerelease`` and ``+build``, compared by semver 2.0 precedence (build ignored). See
``fastctx.engines._st2`` for what differs from st2.
"""

from __future__ import annotations

import re
from typing import Any

from fastctx._data import a_type_name
from fastctx.errors import InvalidExpression, TypeConversion

__all__ = ["bad_type", "version_bump_major", "version_bump_minor", "version_bump_patch",
           "version_compare", "version_equal", "version_less_than", "version_match",
           "version_more_than", "version_strip_patch"]

_MAX_VERSION = 1000


def bad_type(fn: str, expected: str, value: Any) -> TypeConversion:
    return TypeConversion(f"{fn}() expects {expected}, got {a_type_name(value)}")



# -- semantic versions (version.py) -----------------------------------------------------------

_SEMVER = re.compile(
    r"""
    ^
    (?P<major>0|[1-9][0-9]*)
    \.
    (?P<minor>0|[1-9][0-9]*)
    \.
    (?P<patch>0|[1-9][0-9]*)
    (?:-(?P<prerelease>
        (?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)
        (?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*
    ))?
    (?:\+(?P<build>
        [0-9a-zA-Z-]+
        (?:\.[0-9a-zA-Z-]+)*
    ))?
    $
    """,
    re.VERBOSE,
)

_Version = tuple[int, int, int, str | None]

_MATCH_OPERATORS: dict[str, tuple[int, ...]] = {
    ">": (1,),
    "<": (-1,),
    "==": (0,),
    "!=": (-1, 1),
    ">=": (0, 1),
    "<=": (-1, 0),
}


def _parse_version(fn: str, value: Any) -> _Version:
    if not isinstance(value, str):
        raise bad_type(fn, "a version string", value)
    if len(value) > _MAX_VERSION:
        raise InvalidExpression(
            f"{fn}() got a version string longer than {_MAX_VERSION} characters")
    match = _SEMVER.match(value)
    if match is None:
        raise InvalidExpression(
            f"{fn}() got a string that is not a semantic version "
            "(MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])")
    major, minor, patch, prerelease = match.group("major", "minor", "patch", "prerelease")
    return int(major), int(minor), int(patch), prerelease


def _sign(a: Any, b: Any) -> int:
    return 1 if a > b else -1 if a < b else 0


def _compare_prerelease(a: str | None, b: str | None) -> int:
    """semver 2.0 precedence of pre-release tags: none is higher than any; identifiers compare
    numerically when both are numbers, numbers sort before words, words compare in ASCII order,
    and a longer list of identifiers is higher when the shorter is its prefix."""
    if a == b:
        return 0
    if a is None:
        return 1
    if b is None:
        return -1
    a_parts, b_parts = a.split("."), b.split(".")
    for x, y in zip(a_parts, b_parts):
        if x == y:
            continue
        x_num, y_num = x.isdigit(), y.isdigit()  # ASCII digits only: _SEMVER checked
        if x_num and y_num:
            return _sign(int(x), int(y))
        if x_num or y_num:
            return -1 if x_num else 1
        return _sign(x, y)
    return _sign(len(a_parts), len(b_parts))


def _compare(a: _Version, b: _Version) -> int:
    return _sign(a[:3], b[:3]) or _compare_prerelease(a[3], b[3])


def version_compare(value: Any, pattern: Any) -> int:
    """-1, 0 or 1 as version ``value`` is lower than, equal to or higher than ``pattern``
    (semver precedence: build metadata is ignored)."""
    fn = "version_compare"
    return _compare(_parse_version(fn, value), _parse_version(fn, pattern))


def version_more_than(value: Any, pattern: Any) -> bool:
    """Whether version ``value`` is higher than ``pattern``."""
    fn = "version_more_than"
    return _compare(_parse_version(fn, value), _parse_version(fn, pattern)) == 1


def version_less_than(value: Any, pattern: Any) -> bool:
    """Whether version ``value`` is lower than ``pattern``."""
    fn = "version_less_than"
    return _compare(_parse_version(fn, value), _parse_version(fn, pattern)) == -1


def version_equal(value: Any, pattern: Any) -> bool:
    """Whether versions ``value`` and ``pattern`` have the same precedence."""
    fn = "version_equal"
    return _compare(_parse_version(fn, value), _parse_version(fn, pattern)) == 0


def version_match(value: Any, pattern: Any) -> bool:
    """Whether version ``value`` satisfies ``pattern``: an operator (``>=``, ``<=``, ``==``,
    ``!=``, ``>``, ``<``) directly followed by a version, or a bare version (``==``, as in
    semver 3), e.g. ``">=1.7.0"``."""
    fn = "version_match"
    version = _parse_version(fn, value)
    if not isinstance(pattern, str):
        raise bad_type(fn, "a match expression string", pattern)
    operator = pattern[:2]
    if operator in (">=", "<=", "==", "!="):
        other = pattern[2:]
    elif operator[:1] in (">", "<"):
        operator, other = operator[:1], pattern[1:]
    elif pattern[:1] in tuple("0123456789"):
        operator, other = "==", pattern
    else:
        raise InvalidExpression(
            f"{fn}() expects <op><version> with <op> one of <, >, ==, <=, >=, !=")
    return _compare(version, _parse_version(fn, other)) in _MATCH_OPERATORS[operator]


def version_bump_major(value: Any) -> str:
    """The next major version: ``"1.2.3-rc.1"`` → ``"2.0.0"``."""
    major, _, _, _ = _parse_version("version_bump_major", value)
    return f"{major + 1}.0.0"


def version_bump_minor(value: Any) -> str:
    """The next minor version: ``"1.2.3-rc.1"`` → ``"1.3.0"``."""
    major, minor, _, _ = _parse_version("version_bump_minor", value)
    return f"{major}.{minor + 1}.0"


def version_bump_patch(value: Any) -> str:
    """The next patch version: ``"1.2.3-rc.1"`` → ``"1.2.4"`` (as semver, which drops the
    pre-release and build and always increments the patch)."""
    major, minor, patch, _ = _parse_version("version_bump_patch", value)
    return f"{major}.{minor}.{patch + 1}"


def version_strip_patch(value: Any) -> str:
    """``MAJOR.MINOR`` of a version: ``"1.2.3-rc.1"`` → ``"1.2"``."""
    major, minor, _, _ = _parse_version("version_strip_patch", value)
    return f"{major}.{minor}"
