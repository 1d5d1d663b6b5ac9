"""Bounded caches of compiled things: templates, expressions, regular expressions.

A cache is a plain dict (a look-up is one C-level probe on the hot path); :func:`remember`
is the one way entries go in, evicting the first entry when the cache is full; :func:`touch`
moves an entry that was used to the end, so the first is the least recently used.
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["Size", "forget", "remember", "touch"]

V = TypeVar("V")


class Size:
    """The total length of the keys (template sources) one cache holds, and the most it may
    hold: a cache of large templates is bounded by what it keeps, not only by its entries."""

    __slots__ = ("total", "limit")

    def __init__(self, limit: int) -> None:
        self.total = 0
        self.limit = limit


def remember(cache: dict[Any, Any], key: Any, value: V, max_entries: int,
             size: Size | None = None) -> V:
    """Store ``value`` under ``key``, first evicting the oldest entries while ``cache`` holds
    ``max_entries`` (or, with ``size``, while the keys' total length would pass its limit);
    return ``value``. Safe when another thread evicts at the same time (``size`` may then be
    off by what that thread was doing: an estimate, always reset with the cache)."""
    weight = len(key) if size is not None else 0
    while cache and (len(cache) >= max_entries
                     or (size is not None and size.total + weight > size.limit)):
        try:
            oldest = next(iter(cache))
            del cache[oldest]
        except (KeyError, RuntimeError, StopIteration):
            break
        if size is not None:
            size.total -= len(oldest)
    if size is not None and key not in cache:
        size.total += weight
    cache[key] = value
    return value


def forget(cache: dict[Any, Any], key: Any, size: Size | None = None) -> None:
    """Drop ``key`` from ``cache`` if it is there (another thread may have evicted it)."""
    if cache.pop(key, _ABSENT) is not _ABSENT and size is not None:
        size.total -= len(key)


_ABSENT = object()


def touch(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Record a use of ``key`` (found holding ``value``): move it to the end, where the
    entries evicted last are. Safe when another thread evicted it meanwhile."""
    try:
        del cache[key]
    except KeyError:
        pass
    cache[key] = value
