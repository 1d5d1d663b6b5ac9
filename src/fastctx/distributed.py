"""With-items beyond one machine: map a function over items on a Dask cluster.

:func:`map_items` ships the context to each worker once (pickled once on the caller, sent with
``client.scatter(..., broadcast=True)``, loaded once per worker process on first use), sends
the items in chunks, and on the worker gives each item its view (``ctx.with_item(item,
index)``), checks the ``when`` condition, renders the task input (``render_json``) and calls
the function. The results come back in item order as :class:`ItemResult`; the caller publishes
them. Needs the ``dask`` extra: ``pip install 'fastctx[dask]'``.
"""

from __future__ import annotations

import copy
import importlib
import math
import pickle
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

try:
    import distributed
except ImportError as exc:  # the extra is not installed
    raise ImportError(
        "fastctx.distributed runs on Dask's distributed scheduler, which is not installed: "
        "pip install 'fastctx[dask]'", name=__name__) from exc

from . import _core_py
from ._impl import WorkflowContext
from ._reporting import scrub_secrets
from .errors import ContextError, SerializationError

__all__ = ["ItemFailed", "ItemResult", "map_items"]

R = TypeVar("R")

#: Chunks per worker thread when ``chunk_size`` is not given: enough for the scheduler to
#: balance the load, few enough that Dask's overhead per task stays small beside the items'.
CHUNKS_PER_THREAD = 4

# Per-item outcomes as a worker sends them back: (kind, payload).
_DONE, _SKIPPED, _ERROR, _FAILED = 0, 1, 2, 3


class ItemFailed(ContextError):
    """The mapped function raised for one item (an exception that is not a ``ContextError``).

    ``index`` is the item's index, ``error_type`` the qualified name of the exception the
    function raised on the worker, and ``remote_traceback`` its traceback as text. Keystore
    values are replaced by ``***`` in the message and the traceback.
    """

    def __init__(self, message: str, index: int = -1, error_type: str = "",
                 remote_traceback: str = "") -> None:
        super().__init__(message)
        self.index = index
        self.error_type = error_type
        self.remote_traceback = remote_traceback


@dataclass(frozen=True)
class ItemResult(Generic[R]):
    """What one item came to, in item order.

    ``value`` is what the function returned (None when the item was skipped or failed);
    ``skipped`` is true when its ``when`` condition was false, so the function was not called;
    ``error`` is the item's :class:`~fastctx.errors.ContextError` when ``errors="return"`` (with
    ``errors="raise"``, the default, :func:`map_items` raises it instead).
    """

    index: int
    value: R | None = None
    skipped: bool = False
    error: ContextError | None = None

    @property
    def ok(self) -> bool:
        """The function ran and returned ``value``."""
        return not self.skipped and self.error is None


#: On a worker: the contexts of the calls in progress, by shipment token, so that each is
#: loaded once per worker process even when Dask drops the worker's copy of the shipment and
#: fetches it again (its active memory manager drops replicas no queued task asked for yet).
#: The caller forgets a token when its call ends; at most _KEPT are kept should a caller die.
_LOADED: dict[str, WorkflowContext] = {}
_LOADED_LOCK = threading.Lock()
_KEPT = 8


def _forget(token: str) -> None:
    """On a worker: drop the context of a call that ended."""
    with _LOADED_LOCK:
        _LOADED.pop(token, None)


class _Shipment:
    """What every worker needs once: the context (pickled by the caller), the task input, the
    condition and the function. Dask gives it to every chunk that runs on a worker; the
    context is loaded from its pickle by the first chunk there."""

    __slots__ = ("_engine_modules", "_fn", "_pass_context", "_pickled", "_task_input",
                 "_token", "_when")

    def __init__(self, pickled: bytes, engine_modules: tuple[str, ...], fn: Callable[..., Any],
                 task_input: Any, when: str | bool | None, pass_context: bool) -> None:
        self._token = uuid.uuid4().hex
        self._pickled = pickled
        self._engine_modules = engine_modules
        self._fn = fn
        self._task_input = task_input
        self._when = when
        self._pass_context = pass_context

    def __getstate__(self) -> tuple[Any, ...]:
        return (self._token, self._pickled, self._engine_modules, self._fn, self._task_input,
                self._when, self._pass_context)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        (self._token, self._pickled, self._engine_modules, self._fn, self._task_input,
         self._when, self._pass_context) = state

    def __repr__(self) -> str:  # Dask logs task arguments: never the pickle (it holds secrets)
        return f"<fastctx context shipment, {len(self._pickled):,} bytes>"

    def context(self) -> WorkflowContext:
        """The context, loaded on this worker's core the first time a chunk asks."""
        with _LOADED_LOCK:
            context = _LOADED.get(self._token)
            if context is None:
                for module in self._engine_modules:
                    importlib.import_module(module)
                context = _LOADED[self._token] = pickle.loads(self._pickled)
                while len(_LOADED) > _KEPT:
                    del _LOADED[next(iter(_LOADED))]
            return context


def map_items(
    client: distributed.Client,
    ctx: WorkflowContext,
    items: Iterable[Any],
    fn: Callable[..., R],
    *,
    task_input: Any = None,
    when: str | bool | None = None,
    pass_context: bool = False,
    chunk_size: int | None = None,
    engine_modules: Sequence[str] = (),
    errors: Literal["raise", "return"] = "raise",
) -> list[ItemResult[R]]:
    """Run ``fn`` for every item on the workers of ``client``; the results in item order.

    On a worker, item ``index`` gets ``view = ctx.with_item(item, index)``; when ``when`` is
    given and ``view.evaluate_condition(when)`` is false the item is skipped (its result has
    ``skipped=True``); otherwise ``fn(view.render_json(task_input))`` is called, or
    ``fn(view, rendered)`` with ``pass_context=True`` (``rendered`` is None when no
    ``task_input`` is given). ``fn`` and what it returns must pickle; so must the items.

    The context is what ``ctx`` holds now, sent once per worker: writes the caller makes
    after this call, and writes ``fn`` makes through a view on a worker, are not seen
    elsewhere. Publish from the results (``ctx.set_task_result``, ``publish_from_result``).

    ``chunk_size`` items go in one Dask task (by default the items are cut into about four
    chunks per worker thread). ``engine_modules`` are imported on each worker before the
    context is loaded: name the module that creates a custom engine there (the engines
    fastctx ships need nothing).

    A failed item raises, with ``errors="raise"``, after every chunk has finished: a
    ``ContextError`` of the class the worker raised (``VariableNotFound``,
    ``InvalidExpression``, ``SerializationError``...), or :class:`ItemFailed` when ``fn``
    raised anything else; its message starts with ``item N:`` and its ``index`` attribute is
    N (the lowest failed index). With ``errors="return"`` each failed item's result carries
    its error and the others their values.
    """
    if not isinstance(ctx, (WorkflowContext, _core_py.WorkflowContext)):
        raise TypeError(f"ctx must be a fastctx WorkflowContext, not {type(ctx).__name__}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    if task_input is None and not pass_context:
        raise TypeError("give task_input (rendered for each item and passed to fn), or "
                        "pass_context=True to call fn(view, None) with each item's context")
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', not {errors!r}")
    if isinstance(engine_modules, str):
        engine_modules = (engine_modules,)
    items = list(items)
    if not items:
        return []
    if chunk_size is None:
        threads = max(1, sum(client.nthreads().values()))
        chunk_size = math.ceil(len(items) / (threads * CHUNKS_PER_THREAD))
    elif type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, not {chunk_size!r}")

    shipment = _Shipment(pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL),
                         tuple(engine_modules), fn, task_input, when, pass_context)
    [shipped] = client.scatter([shipment], broadcast=True, hash=False)
    try:
        futures = [client.submit(_run_chunk, shipped, start, items[start:start + chunk_size],
                                 pure=False)
                   for start in range(0, len(items), chunk_size)]
        chunks = client.gather(futures)
    finally:
        client.cancel([shipped])
        client.run(_forget, shipment._token, on_error="ignore")
    results: list[ItemResult[R]] = []
    first_error: ContextError | None = None
    for chunk in chunks:
        for index, (kind, payload) in enumerate(chunk, start=len(results)):
            if kind == _DONE:
                results.append(ItemResult(index, payload))
            elif kind == _SKIPPED:
                results.append(ItemResult(index, skipped=True))
            else:
                error = _error_for(kind, payload, index)
                first_error = first_error or error
                results.append(ItemResult(index, error=error))
    if first_error is not None and errors == "raise":
        raise first_error
    return results


def _run_chunk(shipment: _Shipment, start: int, items: list[Any]) -> list[tuple[int, Any]]:
    """On a worker: the outcome of each item of one chunk."""
    try:
        ctx = shipment.context()
    except Exception as exc:  # noqa: BLE001 - reported for every item of the chunk
        message = f"on worker {distributed.get_worker().address}: "
        if not isinstance(exc, ContextError):
            message += f"cannot load the context: {type(exc).__name__}: "
        message += str(exc)
        if shipment._engine_modules:
            message += f" (after importing {', '.join(shipment._engine_modules)})"
        elif isinstance(exc, SerializationError):
            message += "; pass engine_modules= naming the module that creates the engine"
        return [(_ERROR, SerializationError(message))] * len(items)
    fn, task_input, when = shipment._fn, shipment._task_input, shipment._when
    pass_context = shipment._pass_context
    outcomes: list[tuple[int, Any]] = []
    for index, item in enumerate(items, start=start):
        view = ctx.with_item(item, index)
        try:
            if when is not None and not view.evaluate_condition(when):
                outcomes.append((_SKIPPED, None))
                continue
            rendered = None if task_input is None else view.render_json(task_input)
            value = fn(view, rendered) if pass_context else fn(rendered)
        except ContextError as exc:
            outcomes.append((_ERROR, _portable(exc, view)))
        except Exception as exc:  # noqa: BLE001 - the function's own failure, reported
            outcomes.append((_FAILED, _failure(exc, view)))
        else:
            outcomes.append((_DONE, value))
    return outcomes


def _failure(exc: BaseException, view: WorkflowContext) -> tuple[str, str, str]:
    keystore = view.keystore
    return (_qualname(exc),
            scrub_secrets(f"fn raised {type(exc).__name__}: {exc}", keystore),
            scrub_secrets(traceback.format_exc(), keystore))


def _portable(exc: ContextError, view: WorkflowContext | None = None) -> Any:
    """``exc`` as it can travel back: the exception itself when it pickles and loads (the
    classes of ``fastctx.errors`` do), else the parts of an :class:`ItemFailed`. Its message
    is scrubbed of keystore values (fastctx's own never hold one; ``fn``'s might)."""
    if view is not None and exc.args and isinstance(exc.args[0], str):
        exc.args = (scrub_secrets(exc.args[0], view.keystore), *exc.args[1:])
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - a user's error class that does not pickle
        message = f"{type(exc).__name__}: {exc}"  # its class does not pickle
        if view is not None:
            message = scrub_secrets(message, view.keystore)
        return (_FAILED, (_qualname(exc), message, ""))
    return exc


def _qualname(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _error_for(kind: int, payload: Any, index: int) -> ContextError:
    """The caller's exception for one failed item: it names the item."""
    if kind == _ERROR and isinstance(payload, tuple):  # an error that did not pickle
        kind, payload = payload
    if kind == _ERROR:
        error: ContextError = copy.copy(payload)  # a chunk's items may share one instance
        error.args = (f"item {index}: {error}", *error.args[1:])
        error.index = index  # type: ignore[attr-defined]
        return error
    error_type, message, remote_traceback = payload
    return ItemFailed(f"item {index}: {message}", index, error_type,
                      remote_traceback)
