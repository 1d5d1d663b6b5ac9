"""The helper functions templates call as ``f(x)`` (``int(x)``, ``join(items, ",")``...).

Values are JSON-shaped (dict with str keys, list, str, int, float, bool, None). No function
mutates its arguments. Errors never contain an argument's value (it may be a secret): a wrong
argument type raises :class:`TypeConversion` naming the function and the JSON type received; a
bad argument value (empty ``min``, zero ``range`` step, bad regex...) raises
:class:`InvalidExpression`; a too long ``range`` raises :class:`LimitExceeded`.

Lists are compared JSON-wise by ``contains``, ``unique``, ``index_of`` and ``count``:
``true`` never equals ``1`` (Python's ``True == 1`` does not apply), ``1`` equals ``1.0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import limits
from ._data import to_text, type_name
from ._regex import compile_pattern, subject
from .errors import InvalidExpression, LimitExceeded, TypeConversion

__all__ = ["HELPERS", "check_join", "check_replace"] + [  # and every fn_* function
    "fn_abs", "fn_bool", "fn_ceil", "fn_chunks", "fn_contains", "fn_count", "fn_ends_with",
    "fn_flat", "fn_float", "fn_floor", "fn_index_of", "fn_int", "fn_join", "fn_keys",
    "fn_length", "fn_lower", "fn_match", "fn_max", "fn_merge", "fn_min", "fn_number",
    "fn_range", "fn_replace", "fn_reversed", "fn_round", "fn_slice", "fn_sort", "fn_split",
    "fn_starts_with", "fn_string", "fn_sum", "fn_trim", "fn_type_of", "fn_unique",
    "fn_upper", "fn_values", "fn_zip",
]  # fmt: skip


_EXACT = 2**52  # floats at least this large have no fractional part
_MISSING: Any = object()  # range()'s absent stop (None is a wrong-type argument there)


def _max_range() -> int:
    return limits.current().max_range


def check_join(items: Any, sep: str) -> None:
    """Refuse a join whose separators alone would be longer than ``max_output``."""
    if len(sep) * max(len(items) - 1, 0) > limits.current().max_output:
        raise LimitExceeded(
            f"join() would make a string longer than max_output={limits.current().max_output}",
            "max_output")


def check_replace(text: str, old: str, new: str) -> None:
    """Refuse a replacement whose result would be longer than ``max_output``."""
    grows = text.count(old) if old else len(text) + 1
    if len(text) + grows * (len(new) - len(old)) > limits.current().max_output:
        raise LimitExceeded(
            f"replace() would make a string longer than max_output={limits.current().max_output}",
            "max_output")


# -- shared helpers -------------------------------------------------------------------------


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(fn: str, expected: str, value: Any) -> TypeConversion:
    return TypeConversion(f"{fn}() expects {expected}, got {type_name(value)}")


def _need_str(fn: str, *values: Any) -> None:
    for value in values:
        if not isinstance(value, str):
            raise _bad(fn, "a string", value)


def _need_list(fn: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(fn, "an array", value)
    return value


def _need_num(fn: str, value: Any) -> None:
    if not _is_num(value):
        raise _bad(fn, "a number", value)


def _need_finite(fn: str, value: float) -> None:
    if not math.isfinite(value):
        raise TypeConversion(f"{fn}() cannot convert a non-finite number")


def _eq(a: Any, b: Any) -> bool:
    """JSON equality: booleans equal only booleans; arrays and objects compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    return bool(a == b)


def _incomparable(fn: str, values: list[Any]) -> TypeConversion:
    names = " and ".join(sorted({type_name(v) for v in values}))
    return TypeConversion(f"{fn}() got values that cannot be compared ({names})")


def _parse_number(fn: str, text: str) -> int | float:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        result: float | None = float(text)
    except ValueError:
        result = None
    if result is None:  # raised outside the except block: no chained exception with the value
        raise TypeConversion(f"{fn}() cannot convert this string to a number")
    _need_finite(fn, result)
    return result


def _to_number(fn: str, value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if _is_num(value):
        return value
    if isinstance(value, str):
        return _parse_number(fn, value)
    raise _bad(fn, "a number, string or boolean", value)


# -- conversion -----------------------------------------------------------------------------


def fn_string(value: Any) -> str:
    return to_text(value)


def fn_number(value: Any) -> int | float:
    return _to_number("number", value)


def fn_int(value: Any) -> int:
    number = _to_number("int", value)
    if isinstance(number, float):
        _need_finite("int", number)
    return int(number)


def fn_float(value: Any) -> float:
    number = _to_number("float", value)
    if isinstance(number, float):
        return number
    try:
        return float(number)
    except OverflowError:
        pass
    raise TypeConversion("float() got a number out of range")


def fn_bool(value: Any) -> bool:
    """Plain truthiness, as a bare condition is judged: ``bool("x")`` and ``bool("no")`` are
    true, ``bool("")``, ``bool(0)``, ``bool(null)`` and ``bool([])`` false."""
    return bool(value)


# -- introspection --------------------------------------------------------------------------


def fn_type_of(value: Any) -> str:
    return type_name(value)


def fn_length(value: Any) -> int:
    if not isinstance(value, (str, list, dict)):
        raise _bad("length", "a string, array or object", value)
    return len(value)


def fn_keys(value: Any) -> list[str]:
    if not isinstance(value, dict):
        raise _bad("keys", "an object", value)
    return list(value)


def fn_values(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        raise _bad("values", "an object", value)
    return list(value.values())


# -- math -----------------------------------------------------------------------------------


def fn_abs(value: Any) -> int | float:
    _need_num("abs", value)
    return abs(value)


def fn_floor(value: Any) -> int:
    _need_num("floor", value)
    if isinstance(value, float):
        _need_finite("floor", value)
    return math.floor(value)


def fn_ceil(value: Any) -> int:
    _need_num("ceil", value)
    if isinstance(value, float):
        _need_finite("ceil", value)
    return math.ceil(value)


def _round_int(value: int, digits: int) -> int:
    if digits >= 0:
        return value
    places = -digits
    if 3 * places >= abs(value).bit_length() + 1:  # 10**places > 2*|value|: rounds to 0
        return 0
    scale = 10**places
    rounded = (abs(value) + scale // 2) // scale * scale
    return -rounded if value < 0 else rounded


def _round_float(value: float, digits: int) -> int | float:
    """Half away from zero; ``abs(value) < 2**52`` and finite."""
    magnitude = abs(value)
    if digits > 0:
        if digits > 308:
            return value
        scale = 10**digits
        scaled = magnitude * scale
        if scaled >= _EXACT:  # no digit left to round at that precision
            return value
        result = math.floor(scaled + 0.5) / scale
        return -result if value < 0 and result else result
    if digits == 0:  # exact: floor() and the fraction of a float are exact
        whole = math.floor(magnitude)
        rounded = whole + 1 if magnitude - whole >= 0.5 else whole
    elif -digits > 16:  # 10**16 / 2 > 2**52 > magnitude
        return 0
    else:
        scale = 10**-digits
        rounded = math.floor(magnitude / scale + 0.5) * scale
    return -rounded if value < 0 else rounded


def fn_round(value: Any, digits: Any = 0) -> int | float:
    _need_num("round", value)
    if not _is_int(digits):
        raise _bad("round", "an integer number of digits", digits)
    if isinstance(value, float):
        _need_finite("round", value)
        if abs(value) < _EXACT:
            return _round_float(value, digits)
        if digits > 0:
            return value
        value = int(value)
    return _round_int(value, digits)


def _extreme(fn: str, args: tuple[Any, ...], pick: Callable[[list[Any]], Any]) -> Any:
    if not args:
        raise InvalidExpression(f"{fn}() expects at least one value")
    if len(args) == 1:
        values = _need_list(fn, args[0])
    else:
        values = list(args)
    if not values:
        raise InvalidExpression(f"{fn}() of an empty array")
    try:
        return pick(values)
    except TypeError:
        pass
    raise _incomparable(fn, values)


def fn_min(*args: Any) -> Any:
    return _extreme("min", args, min)


def fn_max(*args: Any) -> Any:
    return _extreme("max", args, max)


def fn_sum(values: Any) -> int | float:
    for item in _need_list("sum", values):
        if not _is_num(item):
            kind = type_name(item)
            raise TypeConversion(f"sum() expects an array of numbers, got one containing {kind}")
    return sum(values)


# -- strings --------------------------------------------------------------------------------


def fn_lower(text: Any) -> str:
    _need_str("lower", text)
    return text.lower()


def fn_upper(text: Any) -> str:
    _need_str("upper", text)
    return text.upper()


def fn_trim(text: Any) -> str:
    _need_str("trim", text)
    return text.strip()


def fn_split(text: Any, sep: Any = None) -> list[str]:
    _need_str("split", text)
    if sep is not None:
        _need_str("split", sep)
        if not sep:
            raise InvalidExpression("split() separator must not be empty")
    return text.split(sep)


def fn_join(items: Any, sep: Any = "") -> str:
    _need_str("join", sep)
    check_join(_need_list("join", items), sep)
    return sep.join(to_text(item) for item in items)


def fn_replace(text: Any, old: Any, new: Any) -> str:
    _need_str("replace", text, old, new)
    check_replace(text, old, new)
    return text.replace(old, new)


def fn_starts_with(text: Any, prefix: Any) -> bool:
    _need_str("starts_with", text, prefix)
    return text.startswith(prefix)


def fn_ends_with(text: Any, suffix: Any) -> bool:
    _need_str("ends_with", text, suffix)
    return text.endswith(suffix)


def fn_match(pattern: Any, text: Any) -> bool:
    _need_str("match", pattern, text)
    return compile_pattern("match", pattern).search(subject("match", text)) is not None


# -- collections ----------------------------------------------------------------------------


def fn_contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise _bad("contains", "a string to look for in a string", item)
        return item in container
    if isinstance(container, list):
        return any(_eq(element, item) for element in container)
    if isinstance(container, dict):
        return isinstance(item, str) and item in container
    raise _bad("contains", "a string, array or object", container)


def fn_reversed(value: Any) -> list[Any] | str:
    if not isinstance(value, (list, str)):
        raise _bad("reversed", "an array or string", value)
    return value[::-1]


def fn_sort(values: Any) -> list[Any]:
    _need_list("sort", values)
    try:
        return sorted(values)
    except TypeError:
        pass
    raise _incomparable("sort", values)


def fn_unique(values: Any) -> list[Any]:
    """The first of each group of equal values, in order; linear in the total size (each
    value's key is made once, then one set probe)."""
    result: list[Any] = []
    seen: set[Any] = set()
    for item in _need_list("unique", values):
        key = _equality_key(item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _equality_key(value: Any) -> Any:
    """A hashable key of ``value``: equal keys exactly when :func:`_eq` holds (true and 1
    apart, 1 and 1.0 together, objects whatever their key order)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, list):
        return ("array", tuple(_equality_key(member) for member in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _equality_key(member))
                                    for key, member in value.items()))
    if isinstance(value, (int, float)):
        return ("number", value)
    return ("value", value)


def fn_flat(values: Any) -> list[Any]:
    result: list[Any] = []
    for item in _need_list("flat", values):
        if isinstance(item, list):
            result.extend(item)
        else:
            result.append(item)
    return result


def fn_zip(*lists: Any) -> list[list[Any]]:
    for value in lists:
        _need_list("zip", value)
    return [list(group) for group in zip(*lists)]


def fn_range(start: Any, stop: Any = _MISSING, step: Any = 1) -> list[int]:
    if stop is _MISSING:
        start, stop = 0, start
    for value in (start, stop, step):
        if not _is_int(value):
            raise _bad("range", "integers", value)
    if step == 0:
        raise InvalidExpression("range() step must not be zero")
    if step > 0:
        length = max(0, (stop - start + step - 1) // step)
    else:
        length = max(0, (start - stop - step - 1) // -step)
    limit = _max_range()
    if length > limit:
        raise LimitExceeded(
            f"range() would exceed the range length limit of {limit} (max_range)",
            limit="max_range",
        )
    return list(range(start, stop, step))


def fn_slice(value: Any, start: Any, end: Any = None) -> list[Any] | str:
    if not isinstance(value, (list, str)):
        raise _bad("slice", "an array or string", value)
    for bound in (start, end):
        if bound is not None and not _is_int(bound):
            raise _bad("slice", "integer bounds", bound)
    return value[start:end]


def fn_index_of(value: Any, item: Any) -> int:
    if isinstance(value, str):
        _need_str("index_of", item)
        return value.find(item)
    for position, element in enumerate(_need_list("index_of", value)):
        if _eq(element, item):
            return position
    return -1


def fn_count(value: Any, item: Any) -> int:
    if isinstance(value, str):
        _need_str("count", item)
        return value.count(item)
    return sum(1 for element in _need_list("count", value) if _eq(element, item))


def fn_merge(*dicts: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for value in dicts:
        if not isinstance(value, dict):
            raise _bad("merge", "objects", value)
        result.update(value)
    return result


def fn_chunks(values: Any, size: Any) -> list[list[Any]]:
    _need_list("chunks", values)
    if not _is_int(size) or size <= 0:
        raise InvalidExpression("chunks() size must be a positive integer")
    return [values[i : i + size] for i in range(0, len(values), size)]


HELPERS: dict[str, Callable[..., object]] = {
    name[3:]: function for name, function in globals().items() if name.startswith("fn_")
}
