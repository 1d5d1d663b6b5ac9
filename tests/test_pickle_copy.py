"""copy.copy, copy.deepcopy and pickling, within and across implementations."""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys

import pytest

import fastctx
from fastctx import TaskOutcome


@pytest.fixture
def ctx(wc_class: type):
    ctx = wc_class({"p": 1}, {"v": {"deep": [1, 2]}}, pack_config={"c": "x"},
                   keystore={"pw": "pickled-secret"}, system={"run": "r-1"})
    ctx.set_task_result("fetch", {"rc": 0, "out": ["line"]})
    ctx.set_last_task_outcome({"rc": 9}, TaskOutcome.FAILED)
    return ctx


def _views(ctx):
    views = [ctx.with_item({"host": f"h{i}"}, i) for i in range(3)]
    views[1].set_last_task_outcome({"rc": 1}, TaskOutcome.SUCCEEDED)
    return [*views, ctx]


def _check_loaded(loaded, original) -> None:
    """Loaded clones share one set of stores; per-clone fields survived."""
    assert len(loaded) == 4
    first = loaded[0]
    for view in loaded:
        assert view.shares_stores_with(first)
    assert [v.current_index for v in loaded] == [0, 1, 2, None]
    assert [v.current_item for v in loaded] == [{"host": "h0"}, {"host": "h1"}, {"host": "h2"},
                                                None]
    assert [v.evaluate("result().rc") for v in loaded] == [9, 1, 9, 9]
    assert [v.evaluate_condition("succeeded()") for v in loaded] == [False, True, False, False]
    assert loaded[2].render_template("{{ item.host }} {{ parameters.p }} {{ v.deep[-1] }} "
                                     "{{ task.fetch.out[0] }} {{ config.c }} {{ system.run }} "
                                     "{{ keystore.pw }}") \
        == "h2 1 2 line x r-1 pickled-secret"
    assert loaded[3].system["workflow_start"] == original.system["workflow_start"]
    # A write through one loaded clone is seen by all of them, not by the original.
    loaded[0].set_var("after", 1)
    loaded[1].set_task_result("later", [2])
    loaded[2].set_keystore({"pw": "replaced"})
    for view in loaded:
        assert view.render_template("{{ after }} {{ task.later }} {{ keystore.pw }}") \
            == "1 [2] replaced"
    assert "after" not in original.variables and "later" not in original.task_results
    assert original.keystore["pw"] == "pickled-secret"


# -- copy ------------------------------------------------------------------------------------
def test_copy_is_a_clone(ctx) -> None:
    view = ctx.with_item("x", 2)
    shallow = copy.copy(view)
    assert type(shallow) is type(ctx)
    assert shallow is not view
    assert shallow.shares_stores_with(ctx)
    assert (shallow.current_item, shallow.current_index) == ("x", 2)
    assert shallow.evaluate("result().rc") == 9
    shallow.set_var("from_copy", 1)
    assert ctx.get_var("from_copy") == 1
    shallow.set_current_item("y", 3)
    shallow.set_last_task_outcome(None, TaskOutcome.SUCCEEDED)
    assert (view.current_item, view.current_index) == ("x", 2)
    assert view.evaluate_condition("failed()")


def test_deepcopy_is_independent(ctx) -> None:
    view = ctx.with_item({"host": "h"}, 1)
    deep = copy.deepcopy(view)
    assert type(deep) is type(ctx)
    assert not deep.shares_stores_with(ctx)
    assert deep.export(include_secrets=True) == ctx.export(include_secrets=True)
    assert deep.current_item == {"host": "h"} and deep.current_item is not view.current_item
    assert deep.current_index == 1
    assert deep.evaluate("result().rc") == 9 and deep.evaluate_condition("failed()")
    assert deep.get_var("v") == ctx.get_var("v")
    assert deep.get_var("v") is not ctx.get_var("v")
    assert deep.get_var("v")["deep"] is not ctx.get_var("v")["deep"]
    deep.get_var("v")["deep"].append(3)
    deep.set_var("only_deep", 1)
    deep.set_task_result("only_deep", 1)
    deep.set_system("only_deep", 1)
    deep.set_keystore({})
    assert ctx.get_var("v") == {"deep": [1, 2]}
    assert "only_deep" not in ctx.variables
    assert "only_deep" not in ctx.task_results and "only_deep" not in ctx.system
    assert ctx.keystore == {"pw": "pickled-secret"}


# -- pickle ----------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL])
def test_pickled_clones_keep_sharing(ctx, protocol: int) -> None:
    loaded = pickle.loads(pickle.dumps(_views(ctx), protocol=protocol))
    _check_loaded(loaded, ctx)


def test_pickle_one_context(ctx) -> None:
    loaded = pickle.loads(pickle.dumps(ctx))
    assert loaded.export(include_secrets=True) == ctx.export(include_secrets=True)
    assert loaded.current_item is None and loaded.current_index is None
    assert loaded.evaluate_condition("failed()")
    loaded.set_var("after", 1)
    assert "after" not in ctx.variables


def test_pickles_load_as_the_selected_implementation(ctx) -> None:
    # A pickle made with either implementation's class loads as fastctx.WorkflowContext
    # (the implementation this process selected) and works.
    loaded = pickle.loads(pickle.dumps(_views(ctx)))
    assert all(type(view) is fastctx.WorkflowContext for view in loaded)
    _check_loaded(loaded, ctx)


@pytest.mark.c_extension  # one of the two processes runs the compiled core
def test_pickles_load_in_the_other_implementation(ctx, implementation: str) -> None:
    # The other process selects the other core (python when this one is cython and the
    # other way round): the pickle made here loads there, working and sharing.
    other_env = {**os.environ}
    if fastctx.IMPLEMENTATION == "cython":
        other_env["FASTCTX_NO_EXTENSIONS"] = "1"
        other = "python"
    else:
        other_env.pop("FASTCTX_NO_EXTENSIONS", None)
        other = "cython"
    code = (
        "import pickle, sys, fastctx\n"
        "views = pickle.loads(sys.stdin.buffer.read())\n"
        "print(fastctx.IMPLEMENTATION, type(views[0]).implementation)\n"
        "views[0].set_var('x', 1)\n"
        "print(all(v.shares_stores_with(views[0]) for v in views))\n"
        "print([v.current_index for v in views])\n"
        "print(views[2].render_template('{{ item.host }}:{{ x }}:{{ result().rc }}'))\n"
        "print(views[1].evaluate_condition('succeeded()'))\n"
        "sys.stdout.flush()\n"
        "sys.stdout.buffer.write(pickle.dumps(views))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(_views(ctx)),
                          env=other_env, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.split(b"\n", 5)
    got = [line.decode() for line in lines[:5]]
    assert got == [f"{other} {other}", "True", "[0, 1, 2, None]", "h2:1:9", "True"]
    # And back: the other implementation's pickle loads here.
    back = pickle.loads(lines[5])
    assert [v.current_index for v in back] == [0, 1, 2, None]
    assert all(v.shares_stores_with(back[0]) for v in back)
    assert back[3].get_var("x") == 1
