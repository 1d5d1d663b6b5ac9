"""fastctx.distributed on a real Dask cluster: two worker processes on loopback.

Each core gets a cluster of its own whose workers select the same core (the environment
variable ``FASTCTX_NO_EXTENSIONS`` is set for the workers of the pure-Python core's cluster and
left empty for the compiled one's), and the caller's context is made on that core.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed_engine  # the custom engine the workers import by name
import pytest

import fastctx
from fastctx import (
    InvalidExpression,
    LimitExceeded,
    SerializationError,
    VariableNotFound,
    WorkflowContext,
)
from fastctx.engines.orquesta import ENGINE as ORQUESTA

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from fastctx.distributed import (  # noqa: E402
    ItemFailed,
    ItemResult,
    _forget,
    _Shipment,
    map_items,
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "distributed.md"
SECRET = "s3cr3t-distributed"
TASK_INPUT = {"cmd": "ping -c {{ parameters.count }} {{ item.host }}", "host": "{{ item.host }}",
              "n": "{{ index }}", "token": "{{ keystore.token }}", "fixed": 3}


@pytest.fixture(scope="module")
def client(implementation: str) -> Iterator[Any]:
    """A client of a two-worker LocalCluster whose workers run the core under test.

    Its scheduler's active memory manager runs every 10 ms (2 s by default): it drops the
    replicas of the shipped context that no queued chunk has asked for yet, and a worker then
    fetches it again, so the tests see that case on every run."""
    env = {"FASTCTX_NO_EXTENSIONS": "1" if implementation == "python" else ""}
    with dask.config.set({"distributed.scheduler.active-memory-manager.interval": "10ms"}), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                     host="127.0.0.1", dashboard_address=":0",
                                     env=env) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture
def ctx(wc_class: type[WorkflowContext]) -> WorkflowContext:
    ctx = wc_class({"count": 2}, {"region": "eu"}, keystore={"token": SECRET})
    ctx.set_task_result("fetch", {"hosts": [f"web{i}" for i in range(50)]})
    return ctx


def _items(count: int) -> list[dict[str, Any]]:
    return [{"host": f"web{i}", "enabled": i % 3 != 0} for i in range(count)]


# Functions the workers call: module-level, so that they pickle by name.
def echo(task_input: Any) -> Any:
    return task_input


def worker_core(view: WorkflowContext, task_input: Any) -> tuple[str, str, str]:
    return fastctx.IMPLEMENTATION, type(view).__module__, view.render_template("{{ region }}")


def worker_pid(task_input: Any) -> int:
    return os.getpid()


def fail_on_odd(task_input: Any) -> Any:
    if task_input["n"] % 2:
        raise RuntimeError(f"cannot reach {task_input['host']} with {task_input['token']}")
    return task_input["n"]


def raise_context_error(task_input: Any) -> Any:
    raise InvalidExpression(f"the API refused token {task_input['token']}")


def write_var(view: WorkflowContext, task_input: Any) -> Any:
    view.set_var("written_on_worker", view.current_index)
    return view.get_var("written_on_worker")


def count_context_loads() -> int:
    """On a worker: count the stores loaded from pickles from now on; its process id."""
    import fastctx._pickle as reconstructors

    original = getattr(reconstructors.restore_stores, "original", reconstructors.restore_stores)

    def counting(*state: Any) -> Any:
        counting.calls += 1  # type: ignore[attr-defined]
        return original(*state)

    counting.calls = 0  # type: ignore[attr-defined]
    counting.original = original  # type: ignore[attr-defined]
    reconstructors.restore_stores = counting
    return os.getpid()


def context_loads() -> tuple[int, int]:
    """On a worker: its process id and the stores loaded since count_context_loads()."""
    import fastctx._pickle as reconstructors

    return os.getpid(), getattr(reconstructors.restore_stores, "calls", -1)


def stop_counting() -> None:
    import fastctx._pickle as reconstructors

    reconstructors.restore_stores = getattr(reconstructors.restore_stores, "original",
                                            reconstructors.restore_stores)


# -- what comes back ---------------------------------------------------------------------------


def test_items_rendered_on_the_workers_in_item_order(client: Any, ctx: WorkflowContext) -> None:
    items = _items(100)
    results = map_items(client, ctx, items, echo, task_input=TASK_INPUT, when="item.enabled",
                        chunk_size=7)
    assert [result.index for result in results] == list(range(100))
    for index, (item, result) in enumerate(zip(items, results)):
        view = ctx.with_item(item, index)  # what the caller would have rendered itself
        if item["enabled"]:
            assert result == ItemResult(index, view.render_json(TASK_INPUT))
            assert result.ok and result.value["token"] == SECRET
        else:
            assert result == ItemResult(index, None, skipped=True)
            assert not result.ok
    assert results[1].value == {"cmd": "ping -c 2 web1", "host": "web1", "n": 1,
                                "token": SECRET, "fixed": 3}
    # The caller publishes.
    ctx.set_task_result("ping", [result.value["cmd"] for result in results if result.ok])
    assert ctx.evaluate("task.ping | length") == 66


def test_workers_run_the_callers_core(client: Any, ctx: WorkflowContext,
                                      implementation: str) -> None:
    results = map_items(client, ctx, range(8), worker_core, pass_context=True, chunk_size=1)
    assert {result.value for result in results} == \
        {(implementation, type(ctx).__module__, "eu")}


def test_context_is_loaded_once_per_worker(client: Any, ctx: WorkflowContext) -> None:
    """40 chunks on 2 workers: each worker process loads the context's stores once."""
    started = client.run(count_context_loads)
    try:
        assert len(started) == 2
        for _ in range(2):  # each call ships the context anew: once per worker again
            results = map_items(client, ctx, _items(400), worker_pid, task_input=TASK_INPUT,
                                chunk_size=10)
            ran = {result.value for result in results}
            assert ran <= set(started.values()) and ran
            loads = dict(client.run(context_loads).values())
            assert loads == {pid: 1 if pid in ran else 0 for pid in started.values()}
            client.run(count_context_loads)
    finally:
        client.run(stop_counting)


@pytest.mark.slow
def test_threads_of_one_worker_load_the_context_once(implementation: str,
                                                     ctx: WorkflowContext) -> None:
    """Four threads start chunks at once on one worker: one of them loads the context, the
    others wait for it and render over the same one."""
    env = {"FASTCTX_NO_EXTENSIONS": "1" if implementation == "python" else ""}
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=4,
                                  host="127.0.0.1", dashboard_address=":0", env=env) as cluster, \
            distributed.Client(cluster) as client:
        [pid] = client.run(count_context_loads).values()
        items = _items(2_000)
        results = map_items(client, ctx, items, echo, task_input=TASK_INPUT, chunk_size=5)
        assert [result.value for result in results] == \
            [ctx.with_item(item, index).render_json(TASK_INPUT)
             for index, item in enumerate(items)]
        assert dict(client.run(context_loads).values()) == {pid: 1}


def test_items_go_in_chunks_not_one_task_each(client: Any, ctx: WorkflowContext) -> None:
    """10,000 items on 2 worker threads: 8 tasks by default (4 per thread)."""
    items = [{"host": f"h{i}", "enabled": True} for i in range(10_000)]
    with distributed.get_task_stream(client) as stream:
        results = map_items(client, ctx, items, echo, task_input={"h": "{{ item.host }}"})
    chunks = [task for task in stream.data if "run_chunk" in str(task["key"])]
    assert len(chunks) == 8
    assert [result.value for result in results] == [{"h": f"h{i}"} for i in range(10_000)]
    with distributed.get_task_stream(client) as stream:
        map_items(client, ctx, items[:25], echo, task_input={"h": "{{ item.host }}"},
                  chunk_size=10)
    assert len([task for task in stream.data if "run_chunk" in str(task["key"])]) == 3


def test_writes_on_a_worker_stay_there(client: Any, ctx: WorkflowContext) -> None:
    results = map_items(client, ctx, range(4), write_var, pass_context=True)
    assert [result.value for result in results] == [0, 1, 2, 3]
    assert ctx.get_var("written_on_worker") is None


def test_no_items_no_tasks(client: Any, ctx: WorkflowContext) -> None:
    assert map_items(client, ctx, [], echo, task_input=TASK_INPUT) == []


# -- errors ------------------------------------------------------------------------------------


def test_a_render_error_names_the_item(client: Any, ctx: WorkflowContext) -> None:
    items = _items(30)
    items[17] = {"enabled": True}  # no host
    items[23] = {"enabled": True}
    with pytest.raises(VariableNotFound) as caught:
        map_items(client, ctx, items, echo, task_input=TASK_INPUT, chunk_size=4)
    error = caught.value
    assert str(error).startswith("item 17: ")
    assert error.index == 17  # type: ignore[attr-defined]
    assert error.path == "item.host"
    assert SECRET not in str(error)


def test_a_bad_condition_names_the_item(client: Any, ctx: WorkflowContext) -> None:
    with pytest.raises(InvalidExpression, match=r"^item 0: .*syntax error"):
        map_items(client, ctx, _items(3), echo, task_input=TASK_INPUT, when="item.enabled and")


def test_errors_returned_per_item(client: Any, ctx: WorkflowContext) -> None:
    items = _items(10)
    items[4] = {"enabled": True}
    results = map_items(client, ctx, items, echo, task_input=TASK_INPUT, when="item.enabled",
                        chunk_size=3, errors="return")
    assert [result.index for result in results] == list(range(10))
    assert isinstance(results[4].error, VariableNotFound)
    assert str(results[4].error).startswith("item 4: ")
    assert not results[4].ok and results[4].value is None
    assert results[3].skipped and results[5].value["host"] == "web5"
    assert [result.ok for result in results] == \
        [False, True, True, False, False, True, False, True, True, False]


def test_a_failing_function_raises_item_failed_without_secrets(client: Any,
                                                              ctx: WorkflowContext) -> None:
    with pytest.raises(ItemFailed) as caught:
        map_items(client, ctx, _items(6), fail_on_odd, task_input=TASK_INPUT, chunk_size=2)
    error = caught.value
    assert isinstance(error, fastctx.ContextError)
    assert error.index == 1
    assert error.error_type == "builtins.RuntimeError"
    assert str(error) == "item 1: fn raised RuntimeError: cannot reach web1 with ***"
    assert "fail_on_odd" in error.remote_traceback
    assert SECRET not in error.remote_traceback and SECRET not in repr(error)
    results = map_items(client, ctx, _items(6), fail_on_odd, task_input=TASK_INPUT,
                        errors="return")
    assert [type(result.error) for result in results] == [type(None), ItemFailed] * 3
    assert [result.value for result in results] == [0, None, 2, None, 4, None]


def test_a_context_error_of_the_function_passes_through_scrubbed(client: Any,
                                                                 ctx: WorkflowContext) -> None:
    with pytest.raises(InvalidExpression) as caught:
        map_items(client, ctx, _items(3), raise_context_error, task_input=TASK_INPUT)
    assert str(caught.value) == "item 0: the API refused token ***"
    assert caught.value.index == 0  # type: ignore[attr-defined]


def test_an_engine_limit_on_a_worker_keeps_its_name(client: Any, wc_class: type) -> None:
    ctx = wc_class({"long": "x" * 60}, engine=distributed_engine.ENGINE)
    with pytest.raises(LimitExceeded) as caught:
        map_items(client, ctx, [1], echo, task_input="long: {{ parameters.long }}",
                  engine_modules=["distributed_engine"])
    assert caught.value.limit == "max_output"
    assert str(caught.value).startswith("item 0: ")


# -- engines -----------------------------------------------------------------------------------


def test_a_custom_engine_by_module(client: Any, wc_class: type) -> None:
    ctx = wc_class({"greeting": "hi"}, engine=distributed_engine.ENGINE)
    results = map_items(client, ctx, ["a", "b"], echo,
                        task_input="{{ shout(parameters.greeting ~ ' ' ~ item) }}",
                        engine_modules=["distributed_engine"])
    assert [result.value for result in results] == ["HI A!", "HI B!"]


def test_an_engine_the_workers_lack(client: Any, wc_class: type) -> None:
    try:
        engine = fastctx.get_engine("distributed-caller-only")
    except KeyError:
        engine = fastctx.Engine("distributed-caller-only")
    ctx = wc_class({"greeting": "hi"}, engine=engine)
    with pytest.raises(SerializationError) as caught:
        map_items(client, ctx, range(5), echo, task_input="{{ item }}")
    message = str(caught.value)
    assert message.startswith("item 0: on worker tcp://127.0.0.1:")
    assert "'distributed-caller-only'" in message and "engine_modules=" in message
    with pytest.raises(SerializationError, match="after importing distributed_engine"):
        map_items(client, ctx, range(5), echo, task_input="{{ item }}",
                  engine_modules=["distributed_engine"])
    results = map_items(client, ctx, range(5), echo, task_input="{{ item }}", chunk_size=2,
                        engine_modules=["no_such_engine_module"], errors="return")
    assert [type(result.error) for result in results] == [SerializationError] * 5
    assert [str(result.error).split(":")[0] for result in results] == \
        [f"item {index}" for index in range(5)]
    assert "cannot load the context: ModuleNotFoundError: No module named " \
        "'no_such_engine_module' (after importing no_such_engine_module)" in str(results[4].error)


def test_a_shipped_engine_by_name(client: Any, wc_class: type) -> None:
    flow = wc_class({"hosts": ["web1"]}, {"region": "eu"}, engine=ORQUESTA)
    results = map_items(client, flow, [{"name": "web1"}, {"name": "web2"}], echo,
                        task_input="{{ item('name') }} in {{ ctx('region') }}")
    assert [result.value for result in results] == ["web1 in eu", "web2 in eu"]


# -- arguments, repr, imports ------------------------------------------------------------------


def test_bad_arguments(client: Any, ctx: WorkflowContext) -> None:
    with pytest.raises(TypeError, match="WorkflowContext"):
        map_items(client, {"a": 1}, [1], echo, task_input={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pass_context=True"):
        map_items(client, ctx, [1], echo)
    with pytest.raises(TypeError, match="callable"):
        map_items(client, ctx, [1], "echo", task_input={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunk_size"):
        map_items(client, ctx, [1], echo, task_input={}, chunk_size=0)
    with pytest.raises(ValueError, match="errors"):
        map_items(client, ctx, [1], echo, task_input={}, errors="ignore")  # type: ignore[arg-type]


def test_the_shipment_shows_no_secret(ctx: WorkflowContext) -> None:
    """Dask logs the arguments of tasks: the shipment's repr is its size, never its pickle."""
    import pickle

    shipment = _Shipment(pickle.dumps(ctx), (), echo, TASK_INPUT, None, False)
    assert SECRET.encode() in shipment._pickled
    assert SECRET not in repr(shipment) and "bytes>" in repr(shipment)
    loaded = pickle.loads(pickle.dumps(shipment))
    assert loaded.context().keystore["token"] == SECRET
    again = pickle.loads(pickle.dumps(shipment))  # another copy of one call's shipment
    first = loaded.context()
    assert again.context() is first
    _forget(shipment._token)  # the call ended: a later load is a new one
    assert again.context() is not first
    _forget(shipment._token)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(fastctx.__file__)),
                                         *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-W", "error", "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)


def test_import_fastctx_does_not_import_dask() -> None:
    proc = _python("import sys, fastctx, fastctx.cli, fastctx.engines.orquesta\n"
                   "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
                   "('dask', 'distributed'))\n"
                   "assert not loaded, loaded\n")
    assert proc.returncode == 0, proc.stderr


def test_without_dask_the_import_error_says_what_to_install() -> None:
    proc = _python("import sys\n"
                   "sys.modules['distributed'] = None  # as if it were not installed\n"
                   "try:\n"
                   "    import fastctx.distributed\n"
                   "except ImportError as exc:\n"
                   "    print(exc)\n")
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'fastctx[dask]'" in proc.stdout


@pytest.mark.skipif(not DOCS.exists(), reason="docs/ is not beside the tests")
def test_docs_examples_run() -> None:
    """The Python blocks of docs/distributed.md run in order, as one program (each starts a
    LocalCluster of its own; their asserts are the page's claims)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, object] = {"__name__": "docs_distributed"}
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/distributed.md, block {number}", "exec"), namespace)
