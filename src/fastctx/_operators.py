"""The operators of templates and expressions, bounded by the limits: the same functions serve
the Jinja2 sandbox and compiled expressions, so both give the same value and the same error.

``*``, ``**`` and ``%`` are checked before they allocate (a repetition's length, an exponent,
a format's field widths); ``+`` and ``~`` are checked against ``max_output``. The ``%``
operator and the ``format`` filter print their arguments by the printing rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import limits
from ._data import to_text
from .errors import InvalidExpression, LimitExceeded

__all__ = ["binop", "check_format", "concat", "format_arguments", "printable"]


def binop(operator: str, left: Any, right: Any) -> Any:
    """Apply an arithmetic operator within the limits; errors as ContextError subclasses.

    A string a filter made (Markup) is a plain string here: its own operators would bypass
    the checks below, which look at exact types."""
    if type(left) is not str and isinstance(left, str):
        left = str(left)
    if type(right) is not str and isinstance(right, str):
        right = str(right)
    if operator == "*":
        _check_repeat(left, right)
        if not (type(left) is int and type(right) is int):  # int * int: checked once
            _check_repeat(right, left)
    elif operator == "**":
        _check_power(left, right)
    elif operator == "%" and isinstance(left, str):
        check_format("'%'", left)
        right = format_arguments(left, right)
    elif operator == "+" and type(left) in (str, list) and type(right) is type(left) \
            and len(left) + len(right) > limits.current().max_output:
        raise LimitExceeded(f"'+' would make a value longer than max_output="
                            f"{limits.current().max_output}", "max_output")
    try:
        return _BINOPS[operator](left, right)
    except ZeroDivisionError:
        raise InvalidExpression(f"division by zero in {operator!r}") from None
    except OverflowError:
        raise InvalidExpression(f"numeric overflow in {operator!r}") from None


def _check_power(base: Any, exponent: Any) -> None:
    if type(base) not in (int, bool) or type(exponent) not in (int, bool) or abs(base) <= 1:
        return
    bound = limits.current().max_power
    if exponent > bound or (abs(base).bit_length() - 1) * exponent > 4 * bound:
        # limit messages quote no operand: it may be (or be computed from) a secret
        raise LimitExceeded(f"'**' would pass max_power={bound} "
                            f"(exponent at most {bound}, result at most {4 * bound} bits)",
                            "max_power")


def _check_repeat(seq: Any, times: Any) -> None:
    """``seq * times``: its length, and for a list the text it holds, within max_repeat."""
    if type(times) not in (int, bool) or times <= 0:
        if type(seq) is int and type(times) is int:
            _check_int_product(seq, times)
        return
    if type(seq) is str:
        size = len(seq)
    elif type(seq) is list:  # ["x" * 10**6] * 1000 is short, and prints a gigabyte
        size = sum(len(member) if type(member) is str else 1 for member in seq)
    elif type(seq) is int:
        _check_int_product(seq, times)
        return
    else:
        return
    if size * times > limits.current().max_repeat:
        raise LimitExceeded(
            "repetition would make more elements than max_repeat="
            f"{limits.current().max_repeat}", "max_repeat")


def _check_int_product(left: int, right: int) -> None:
    # repeated squaring of a large int (x * x in a recursive macro) doubles its size each time
    bound = 4 * limits.current().max_power
    if left.bit_length() + right.bit_length() > bound:
        raise LimitExceeded(f"'*' would make an integer of more than {bound} bits "
                            f"(4 x max_power={limits.current().max_power})", "max_power")


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}


def concat(values: Any) -> str:
    """The ``~`` operator: the text of each value, joined, within ``max_output``."""
    out = "".join([to_text(value) for value in values])
    if len(out) > limits.current().max_output:
        raise LimitExceeded(f"'~' made a string longer than max_output="
                            f"{limits.current().max_output}", "max_output")
    return out


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?[hlL]?(.?)")


def check_format(name: str, value: Any, *args: Any) -> None:
    """A %-format: no field wider than max_repeat, and no ``%r`` or ``%a`` (they print
    Python's repr of a value, not its text)."""
    for width, precision, conversion in _FORMAT_SPEC.findall(str(value)):
        for part in (width, precision):
            if part == "*" or (part and int(part) > limits.current().max_repeat):
                raise LimitExceeded(f"{name}: a field width beyond max_repeat="
                                    f"{limits.current().max_repeat}", "max_repeat")
        if conversion in ("r", "a"):
            raise InvalidExpression(f"{name}: %{conversion} prints a Python repr; use %s")


def printable(value: Any) -> Any:
    """A %-format argument: numbers as they are (for %d, %x, %f...), the rest as text."""
    return value if type(value) in (str, int, float) else to_text(value)


def format_arguments(fmt: str, arguments: Any) -> Any:
    """The right operand of ``fmt % arguments`` with every value printed by the printing
    rule: a tuple member by member, a dict by its values when ``fmt`` names keys."""
    if type(arguments) is tuple:
        return tuple(printable(member) for member in arguments)
    if type(arguments) is dict and "%(" in fmt:
        return {key: printable(member) for key, member in arguments.items()}
    return printable(arguments)
