"""With-items on a Dask cluster: fastctx.distributed against a deep-copied dict per item.

    python benchmarks/distributed_with_items.py [--items N] [--baseline-items N] [--json OUT]

A LocalCluster of 2 worker processes (1 thread each) on 127.0.0.1 runs the same with-items
task both ways, over a ~1 MB context (100 task results of ~10 KB, the workload of
``fastctx bench``) and N items (10,000 by default):

- fastctx: ``map_items(client, ctx, items, run_task, task_input=TASK_INPUT, when=WHEN)``: the
  context is pickled once, scattered once to each worker, and the items go in chunks; each
  worker renders its items' input with fastctx.
- deep-copied dict: what executors do without fastctx: for each item, ``copy.deepcopy`` of the
  dict context with the item and index set, one ``client.submit`` per item (at most 16 in
  flight), and the worker renders the input with cached sandboxed Jinja2.

The mapped function returns the rendered input either way. Two byte counts per item:

- payload: the pickled bytes the caller hands to Dask. fastctx: the pickled shipment (the
  context, the task input, the condition, the function) times the number of workers, plus the
  pickled arguments of every chunk. Deep-copied dict: the pickled arguments of one task (the
  dict with its item; every item's is the same size within a few bytes), measured on a sample
  outside the timed run.
- wire: what the kernel counted as sent on the loopback interface during the run
  (``psutil.net_io_counters(pernic=True)["lo"].bytes_sent``): the client, the scheduler and the
  workers together (each task crosses twice: caller to scheduler, scheduler to worker), plus
  heartbeats and anything else on the machine's loopback at the time.

``--baseline-items`` runs the deep-copied dict on fewer items (its time and bytes are then
per item over those; the table says so). Needs the ``dask`` extra. (The file is not named
``distributed.py``: with ``benchmarks/`` on ``sys.path``, as a pytest run of ``benchmarks/``
puts it, that name would hide Dask's ``distributed`` package.)
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import sys
import time
import warnings
from typing import Any

import distributed
import psutil  # a dependency of distributed

import fastctx
from fastctx._workload import (
    TASK_INPUT,
    WHEN,
    JinjaBaseline,
    build_context,
    json_size,
    make_items,
    make_task_results,
    plain_context,
    results_size,
)
from fastctx.distributed import _Shipment, map_items

WORKERS = 2
IN_FLIGHT = 16  # tasks of the deep-copied dict run at once (bounds the cluster's memory)


def run_task(task_input: Any) -> Any:
    """The mapped function: what a task runner would receive, sent back."""
    return task_input


_JINJA: JinjaBaseline | None = None


def naive_task(context: dict[str, Any], task_input: Any, when: str) -> Any:
    """On a worker: the item's deep-copied dict context, rendered with cached Jinja2."""
    global _JINJA
    if _JINJA is None:
        _JINJA = JinjaBaseline()
    if not _JINJA.condition(when, context):
        return None
    return run_task(_JINJA.render_json(task_input, context))


def loopback_sent() -> int:
    return int(psutil.net_io_counters(pernic=True)["lo"].bytes_sent)


def run_fastctx(client: Any, ctx: Any, items: list[Any]) -> dict[str, Any]:
    sent = loopback_sent()
    start = time.perf_counter()
    results = map_items(client, ctx, items, run_task, task_input=TASK_INPUT, when=WHEN)
    seconds = time.perf_counter() - start
    wire = loopback_sent() - sent
    # The payload, measured outside the timed run: the shipment as Dask pickles it (cloudpickle:
    # run_task lives in __main__), once per worker, and each chunk's (start, items) arguments.
    shipment = _Shipment(pickle.dumps(ctx, protocol=pickle.HIGHEST_PROTOCOL), (), run_task,
                         TASK_INPUT, WHEN, False)
    shipped = len(distributed.protocol.pickle.dumps(shipment))
    threads = sum(client.nthreads().values())
    size = -(-len(items) // (threads * 4))  # map_items' default chunk size
    chunks = sum(len(pickle.dumps((first, items[first:first + size]), protocol=5))
                 for first in range(0, len(items), size))
    assert [result.value for result in results] == [expected(item, i)
                                                    for i, item in enumerate(items)]
    return {"items": len(items), "seconds": seconds,
            "payload_bytes": shipped * WORKERS + chunks, "wire_bytes": wire,
            "shipment_bytes": shipped}


def run_deepcopy(client: Any, plain: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    sent = loopback_sent()
    start = time.perf_counter()
    values: list[Any] = [None] * len(items)
    running = distributed.as_completed()
    order: dict[str, int] = {}

    def submit(index: int) -> None:
        context = copy.deepcopy(plain)
        context["item"], context["index"] = items[index], index
        future = client.submit(naive_task, context, TASK_INPUT, WHEN, pure=False)
        order[future.key] = index
        running.add(future)

    submitted = min(IN_FLIGHT, len(items))
    for index in range(submitted):
        submit(index)
    for future in running:
        values[order.pop(future.key)] = future.result()
        future.release()
        if submitted < len(items):
            submit(submitted)
            submitted += 1
    seconds = time.perf_counter() - start
    wire = loopback_sent() - sent
    sample = range(0, len(items), max(1, len(items) // 20))
    per_task = []
    for index in sample:
        context = copy.deepcopy(plain)
        context["item"], context["index"] = items[index], index
        per_task.append(len(distributed.protocol.pickle.dumps((context, TASK_INPUT, WHEN))))
    # Jinja2 renders every field as text ("8000"), fastctx keeps a pure {{ expr }}'s type.
    assert [value and (value["cmd"], value["host"]) for value in values] == \
        [(want["cmd"], want["host"]) for want in map(expected, items, range(len(items)))]
    return {"items": len(items), "seconds": seconds,
            "payload_bytes": sum(per_task) / len(per_task) * len(items), "wire_bytes": wire}


_CHECK: Any = None


def expected(item: Any, index: int) -> Any:
    """What both ways must return for one item (rendered here, with fastctx)."""
    view = _CHECK.with_item(item, index)
    return view.render_json(TASK_INPUT) if view.evaluate_condition(WHEN) else None


def human(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.2f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000, help="items (default 10,000)")
    parser.add_argument("--baseline-items", type=int, default=None,
                        help="items for the deep-copied dict (default: --items)")
    parser.add_argument("--task-results", type=int, default=100,
                        help="task results of ~10 KB in the context (default 100: ~1 MB)")
    parser.add_argument("--json", metavar="OUT", help="write the figures to OUT as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    global _CHECK
    args = parse_args(argv)
    task_results = make_task_results(args.task_results)
    ctx = build_context(fastctx.WorkflowContext, task_results)
    _CHECK = ctx
    plain = plain_context(task_results)
    items = make_items(args.items)
    baseline_items = items[:args.baseline_items] if args.baseline_items else items
    print(f"context: {human(results_size(task_results))} of task results "
          f"({human(json_size(ctx.export()))} as JSON); {len(items):,} items; "
          f"{WORKERS} worker processes x 1 thread; fastctx {fastctx.IMPLEMENTATION} core; "
          f"distributed {distributed.__version__}")
    with warnings.catch_warnings():
        # Dask warns that each deep-copied dict is a large object in the graph: that is the
        # cost this benchmark measures.
        warnings.filterwarnings("ignore", message=".*[Ll]arge")
        with distributed.LocalCluster(n_workers=WORKERS, processes=True, threads_per_worker=1,
                                      host="127.0.0.1", dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            client.wait_for_workers(WORKERS)
            rows = {"fastctx": run_fastctx(client, ctx, items),
                    "deep-copied dict": run_deepcopy(client, plain, baseline_items)}
    print(f"\n{'':18} {'items':>7} {'total':>10} {'per item':>10} {'payload/item':>13} "
          f"{'wire/item':>11}")
    for name, row in rows.items():
        n = row["items"]
        print(f"{name:18} {n:>7,} {row['seconds']:>9.2f}s {row['seconds'] / n * 1e6:>8,.0f}µs "
              f"{human(row['payload_bytes'] / n):>13} {human(row['wire_bytes'] / n):>11}")
    fast, slow = rows["fastctx"], rows["deep-copied dict"]
    per_item = (slow["seconds"] / slow["items"]) / (fast["seconds"] / fast["items"])
    wire = (slow["wire_bytes"] / slow["items"]) / (fast["wire_bytes"] / fast["items"])
    print(f"\nper item: {per_item:,.0f}x less time, {wire:,.0f}x fewer bytes on the wire; "
          f"the shipment is {human(fast['shipment_bytes'])}, sent once to each worker")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"implementation": fastctx.IMPLEMENTATION,
                       "distributed": distributed.__version__, "rows": rows}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
