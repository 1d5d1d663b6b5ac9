"""Resource limits on every render and import.

Templates come from users and data from remote systems, so each render and import is
bounded. Hitting a limit raises :class:`fastctx.errors.LimitExceeded` naming it.
Change the defaults for the whole process with :func:`configure`::

    >>> import fastctx.limits
    >>> old = fastctx.limits.configure(max_output=1_000_000)
    >>> fastctx.limits.LIMITS.max_output
    1000000
    >>> _ = fastctx.limits.configure(**old)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["LIMITS", "Limits", "Overrides", "configure", "current", "enter", "leave",
           "on_change"]


@dataclasses.dataclass
class Limits:
    """The limits in force; one instance, :data:`LIMITS`, serves the whole process."""

    #: Characters one render may produce.
    max_output: int = 1_000_000
    #: Characters in one template or expression.
    max_template_length: int = 100_000
    #: Elements ``range`` may produce (also caps each loop's iterations).
    max_range: int = 100_000
    #: Length of a string or list made by ``*`` repetition.
    max_repeat: int = 1_000_000
    #: Largest exponent of ``**`` on integers; the result may have at most 4 × this many bits.
    max_power: int = 1_000
    #: Nesting depth of stored values, ``render_json`` input and imported data.
    max_depth: int = 100
    #: Depth of macro calls while rendering.
    max_recursion: int = 50
    #: Loop iterations in one render, all loops together.
    max_loop_iterations: int = 1_000_000
    #: Units of work in one render on the Jinja2 path, each about 0.2 µs of CPU: a loop
    #: iteration is 5, a call of a filter or function 35 and one per element or character of
    #: its arguments (more for filters that do more per character, such as wordwrap).
    max_work: int = 10_000_000

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        for listener in _LISTENERS:
            listener()


#: Called after any limit changes: the caches of compiled templates (compiled under the old
#: limits) and the core's copy of ``max_output`` follow.
_LISTENERS: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` whenever a limit changes (and once now)."""
    _LISTENERS.append(listener)
    listener()


#: The process-wide limits: every engine follows them where it sets no limit of its own.
LIMITS = Limits()


def _check(changes: Mapping[str, Any]) -> None:
    names = {field.name for field in dataclasses.fields(Limits)}
    for name, value in changes.items():
        if name not in names:
            raise TypeError(f"unknown limit {name!r}; known: {', '.join(sorted(names))}")
        if type(value) is not int or value < 1:
            raise ValueError(f"limit {name!r} must be a positive int")


def configure(**changes: Any) -> dict[str, Any]:
    """Set limits by name; return the previous values of those names (to restore them).

    Every engine follows these defaults where it sets no limit of its own."""
    _check(changes)
    old = {name: getattr(LIMITS, name) for name in changes}
    for name, value in changes.items():
        setattr(LIMITS, name, value)
    return old


class Overrides:
    """The limits of one engine: its own values where it sets them, the process defaults
    (:data:`LIMITS`, as they are at each read) everywhere else."""

    def __init__(self, values: Mapping[str, int]) -> None:
        _check(values)
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # a limit the engine does not set
        return getattr(LIMITS, name)

    def __repr__(self) -> str:
        return f"Overrides({self.__dict__!r})"


# The limits in force while a context of an engine with limits of its own renders (set and
# reset around each render, per thread and per task); None: the process defaults.
_IN_FORCE: ContextVar[Overrides | None] = ContextVar("fastctx_limits", default=None)


def current() -> Limits | Overrides:
    """The limits in force: the rendering engine's, or the process defaults."""
    overrides = _IN_FORCE.get()
    return LIMITS if overrides is None else overrides


def enter(overrides: Overrides | None) -> Token[Overrides | None]:
    """Put an engine's limits in force (None: the process defaults) until :func:`leave` with
    the token returned."""
    return _IN_FORCE.set(overrides)


def leave(token: Token[Overrides | None]) -> None:
    """Put back the limits that were in force before the :func:`enter` that returned
    ``token``."""
    _IN_FORCE.reset(token)
