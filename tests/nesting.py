"""Deeply nested JSON values, for the depth limits (shared by the hostile-input tests)."""

from __future__ import annotations

from typing import Any


def nest(depth: int, leaf: Any = 0) -> Any:
    """``leaf`` inside ``depth`` lists."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nest_dict(depth: int) -> Any:
    """An empty object inside ``depth`` objects."""
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value
