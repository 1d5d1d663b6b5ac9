"""Bounded caches of compiled things: templates, expressions, regular expressions.

A cache is a plain dict (a look-up is one C-level probe on the hot path); :func:`remember`
is the one way entries go in, evicting the first entry when the cache is full; :func:`touch`
moves an entry that was used to the end, so the first is the least recently used.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["remember", "touch"]

V = TypeVar("V")


def remember(cache: dict[Any, Any], key: Any, value: V, max_entries: int) -> V:
    """Store ``value`` under ``key``, first evicting the oldest entry if ``cache`` holds
    ``max_entries``; return ``value``. Safe when another thread evicts at the same time."""
    if len(cache) >= max_entries:
        try:
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):
            pass
    cache[key] = value
    return value


def touch(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Record a use of ``key`` (found holding ``value``): move it to the end, where the
    entries evicted last are. Safe when another thread evicted it meanwhile."""
    try:
        del cache[key]
    except KeyError:
        pass
    cache[key] = value
