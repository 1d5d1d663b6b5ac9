"""Forks: isolated branches of a context, merged at the join; sequential publish; update_var.

- A fork reads what its parent holds (also what the parent is written later), while its own
  writes, and those of its clones, stay in it until ``merge``.
- ``merge`` is all or none, raises ``MergeConflict`` under ``conflict="error"`` for a key both
  sides changed since the fork was made, and leaves the fork starting afresh.
- ``test_forks_follow_the_model``: random trees of forks, writes and merges (Hypothesis)
  agree with a reference model written with plain dicts.
"""

from __future__ import annotations

import copy
import gc
import pickle
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import fastctx
from fastctx import (
    MergeConflict,
    SerializationError,
    TypeConversion,
    VariableNotFound,
)
from fastctx._pickle import restore_fork


def make(wc_class: type, **stores: Any) -> Any:
    return wc_class({"count": 3}, {"x": 0, "y": "why", **stores},
                    pack_config={"region": "eu"}, keystore={"token": "s3cr3t-t0ken"})


def test_a_fork_is_isolated_and_reads_through(wc_class: type) -> None:
    ctx = make(wc_class)
    left, right = ctx.fork(), ctx.fork()
    left.set_var("x", 1)
    right.set_var("x", 2)
    right.set_task_result("fetch", {"n": 5})
    assert (ctx.get_var("x"), left.get_var("x"), right.get_var("x")) == (0, 1, 2)
    assert ctx.get_task_result("fetch") is None and left.get_task_result("fetch") is None
    # writes to the parent after the fork are seen where the fork has not written
    ctx.set_var("y", "later")
    ctx.set_var("x", 9)
    assert left.get_var("y") == right.get_var("y") == "later"
    assert (left.get_var("x"), right.get_var("x")) == (1, 2)
    # every way of reading sees the fork's view
    assert left.render_template("{{ workflow.x }} {{ y }} {{ x | string }}") == "1 later 1"
    assert right.evaluate("task.fetch.n + x") == 7
    assert right.evaluate_condition("{{ vars.x > 1 }}") is True
    assert right.render_json({"x": "{{ x }}", "all": "{{ workflow | tojson }}"}) == {
        "x": 2, "all": '{"x": 2, "y": "later"}'}
    assert dict(left.variables) == {"x": 1, "y": "later"}
    assert left.export()["variables"] == {"x": 1, "y": "later"}


def test_clones_and_items_of_a_fork_share_its_writes(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    views = [branch.with_item({"host": f"h{i}"}, i) for i in range(3)]
    for view in views:
        view.set_var(view.render_template("seen_{{ index }}"), view.current_item["host"])
    assert {name: branch.get_var(name) for name in ("seen_0", "seen_1", "seen_2")} == {
        "seen_0": "h0", "seen_1": "h1", "seen_2": "h2"}
    assert branch.clone().shares_stores_with(branch) and not branch.shares_stores_with(ctx)
    assert ctx.get_var("seen_0") is None
    assert branch.fork().render_template("{{ seen_2 }}") == "h2"


def test_forking_copies_nothing(wc_class: type) -> None:
    ctx = make(wc_class, big=list(range(1000)))
    stores = ctx._shared_stores()
    branch = ctx.fork()
    forked = branch._shared_stores()
    assert forked.variables is stores.variables and forked.tasks is stores.tasks
    branch.set_var("x", 1)  # the first write: a table of its own, the values still shared
    assert forked.variables is not stores.variables
    assert forked.variables["big"] is stores.variables["big"]
    assert forked.tasks is stores.tasks


def test_changes(wc_class: type) -> None:
    ctx = make(wc_class)
    assert ctx.changes() == {}
    branch = ctx.fork()
    assert branch.changes() == {}
    branch.set_var("x", 1)
    branch.set_task_result("t", [1])
    branch.set_system("node", "n1")
    branch.set_pack_config({"region": "us"})
    branch.set_keystore({"token": "other-secret"})
    assert branch.changes() == {"variables": {"x": 1}, "task_results": {"t": [1]},
                                "system": {"node": "n1"}, "pack_config": {"region": "us"}}
    assert branch.changes(include_secrets=True)["keystore"] == {"token": "other-secret"}
    assert ctx.keystore["token"] == "s3cr3t-t0ken" and branch.keystore["token"] == "other-secret"
    assert ctx.pack_config == {"region": "eu"} and branch.pack_config == {"region": "us"}
    assert "other-secret" not in repr(branch)


def test_merge_applies_the_changes_and_the_fork_starts_afresh(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    branch.set_task_result("t", {"ok": True})
    branch.set_pack_config({"region": "us"})
    ctx.merge(branch)
    assert (ctx.get_var("x"), ctx.get_task_result("t"), ctx.pack_config) == (
        1, {"ok": True}, {"region": "us"})
    assert branch.changes() == {}
    ctx.set_var("x", 5)  # the fork reads through again
    assert branch.get_var("x") == 5
    ctx.merge(branch)  # nothing to apply
    assert ctx.get_var("x") == 5


def test_merge_conflicts(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    branch.set_var("z", "new")
    ctx.set_var("x", 2)
    with pytest.raises(MergeConflict, match="variables 'x'") as caught:
        ctx.merge(branch)
    assert (caught.value.namespace, caught.value.key) == ("variables", "x")
    assert isinstance(caught.value, fastctx.ContextError)
    assert ctx.get_var("z") is None and ctx.get_var("x") == 2  # nothing was applied
    assert branch.changes() == {"variables": {"x": 1, "z": "new"}}
    seen: list[tuple[Any, ...]] = []

    def decide(namespace: str, key: Any, ours: Any, theirs: Any) -> Any:
        seen.append((namespace, key, ours, theirs))
        return ours + theirs

    ctx.merge(branch, conflict=decide)
    assert seen == [("variables", "x", 2, 1)]
    assert (ctx.get_var("x"), ctx.get_var("z")) == (3, "new")


def test_merge_conflict_choices(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    branch.set_var("same", [1])
    ctx.set_var("x", 2)
    ctx.set_var("same", [1])  # equal values are no conflict
    later = ctx.fork()
    later.set_var("x", 7)  # the context wrote x before this fork was made: no conflict
    ctx.merge(later)
    assert ctx.get_var("x") == 7
    with pytest.raises(TypeConversion, match="conflict must be"):
        ctx.merge(branch, conflict="first")
    with pytest.raises(SerializationError):  # a resolver's value must be JSON-shaped
        ctx.merge(branch, conflict=lambda *args: {1, 2})
    assert ctx.get_var("x") == 7
    ctx.merge(branch, conflict="last")
    assert ctx.get_var("x") == 1
    later.set_var("x", 8)  # the merge of branch wrote x after later started afresh
    with pytest.raises(MergeConflict):
        ctx.merge(later)


def test_a_resolver_value_is_checked_as_its_setter_would(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    branch.set_pack_config({"region": "us"})
    ctx.set_pack_config({"region": "ap"})
    with pytest.raises(TypeConversion, match="pack_config must be a dict"):
        ctx.merge(branch, conflict=lambda ns, key, ours, theirs: [ours, theirs])
    assert ctx.pack_config == {"region": "ap"} and ctx.get_var("x") == 0  # nothing applied
    ctx.merge(branch, conflict=lambda ns, key, ours, theirs: None)
    assert ctx.pack_config is None and ctx.get_var("x") == 1


def test_merge_conflict_after_a_merge(wc_class: type) -> None:
    ctx = make(wc_class)
    first, second = ctx.fork(), ctx.fork()
    first.set_var("x", 1)
    second.set_var("x", 2)
    ctx.merge(first)
    with pytest.raises(MergeConflict):
        ctx.merge(second)
    third = ctx.fork()
    third.set_keystore({"token": "mine"})
    ctx.set_keystore({"token": "theirs"})
    with pytest.raises(MergeConflict, match="keystore") as caught:
        ctx.merge(third, conflict="error")
    assert "mine" not in str(caught.value) and "theirs" not in str(caught.value)


def test_merge_takes_only_its_own_forks(wc_class: type) -> None:
    ctx = make(wc_class)
    child = ctx.fork()
    grandchild = child.fork()
    for other in (grandchild, make(wc_class), ctx, ctx.clone(), "x"):
        with pytest.raises(TypeConversion, match="merge takes a fork"):
            ctx.merge(other)
    grandchild.set_var("x", 3)
    child.merge(grandchild)
    assert (ctx.get_var("x"), child.get_var("x")) == (0, 3)
    ctx.merge(child)
    assert ctx.get_var("x") == 3


def test_nested_forks_read_through_every_level(wc_class: type) -> None:
    ctx = make(wc_class)
    chain = [ctx]
    for depth in range(1, 6):
        chain.append(chain[-1].fork())
        chain[-1].set_var(f"level{depth}", depth)
    ctx.set_var("root_later", True)
    deepest = chain[-1]
    assert deepest.evaluate("level1 + level5") == 6
    assert deepest.render_template("{{ root_later }}") == "true"
    assert chain[2].get_var("level3") is None


ENGINE = fastctx.Engine("fork-test", namespaces=("inquiry",))


def test_engine_namespaces_in_forks(wc_class: type) -> None:
    ctx = wc_class({}, engine=ENGINE)
    ctx.set_namespace("inquiry", {"answer": "no"})
    branch = ctx.fork()
    branch.set_namespace("inquiry", {"answer": "yes"})
    assert ctx.render_template("{{ inquiry.answer }}") == "no"
    assert branch.render_template("{{ inquiry.answer }}") == "yes"
    assert branch.changes() == {"namespaces": {"inquiry": {"answer": "yes"}}}
    ctx.merge(branch)
    assert ctx.get_namespace("inquiry") == {"answer": "yes"}


def test_pickle_keeps_forks_and_their_parents(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    twig = branch.fork()
    twig.set_var("deep", True)
    ctx.set_var("x", 2)  # a conflict with branch, which survives the pickle
    loaded_ctx, loaded_branch, loaded_twig = pickle.loads(pickle.dumps([ctx, branch, twig]))
    assert (loaded_ctx.get_var("x"), loaded_branch.get_var("x"), loaded_twig.get_var("x")) == (
        2, 1, 1)
    assert loaded_twig.changes() == {"variables": {"deep": True}}
    loaded_branch.merge(loaded_twig)
    with pytest.raises(MergeConflict):
        loaded_ctx.merge(loaded_branch)
    loaded_ctx.merge(loaded_branch, conflict="last")
    assert loaded_ctx.export()["variables"] == {"x": 1, "y": "why", "deep": True}
    alone = pickle.loads(pickle.dumps(twig))  # its parents come along
    assert alone.get_var("deep") is True and alone.get_var("x") == 1


def test_deepcopy_of_a_fork_is_a_plain_context(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.set_var("x", 1)
    copied = copy.deepcopy(branch)
    assert copied.get_var("x") == 1 and copied.changes() == {}
    copied.set_var("x", 2)
    assert branch.get_var("x") == 1


def test_malformed_fork_pickles(wc_class: type) -> None:
    parent = make(wc_class)._shared_stores()
    for args in (({}, {}, 0, 0, None), (parent, [], 0, 0, None),
                 (parent, {"nope": {}}, 0, 0, None), (parent, {"variables": []}, 0, 0, None),
                 (parent, {}, "0", 0, None), (parent, {}, 0, 0, [])):
        with pytest.raises(SerializationError, match="malformed"):
            restore_fork(*args)


def test_writes_go_direct_again_when_the_forks_are_gone(wc_class: type) -> None:
    ctx = make(wc_class)
    stores = ctx._shared_stores()
    assert not stores.tracked
    branch = ctx.fork()
    twig = branch.fork()
    assert stores.tracked and stores.stamps is not None
    del branch  # twig holds its parent's stores
    gc.collect()
    assert stores.tracked
    del twig
    gc.collect()
    assert not stores.tracked and stores.stamps is None
    ctx.set_var("x", 4)
    assert ctx.get_var("x") == 4


# -- sequential publish ------------------------------------------------------------------------
PUBLISH = {"a": "{{ result().v }}", "b": "{{ workflow.a + 1 }}", "c": "{{ b * 2 }}"}


def test_sequential_publish_sees_the_entries_before(wc_class: type) -> None:
    ctx = make(wc_class)
    with pytest.raises(VariableNotFound):  # all at once: `a` is not set yet
        ctx.publish_from_result({"v": 3}, publish_map=PUBLISH)
    ctx.publish_from_result({"v": 3}, ["whole"], PUBLISH, sequential=True)
    assert [ctx.get_var(name) for name in ("whole", "a", "b", "c")] == [{"v": 3}, 3, 4, 8]
    view = ctx.with_item({"v": 10}, 0)  # a clone publishes into the shared stores
    view.publish_from_result({"v": 10}, publish_map={"a": "{{ a + result().v }}",
                                                     "b": "{{ a }}"}, sequential=True)
    assert (ctx.get_var("a"), ctx.get_var("b")) == (13, 13)


def test_sequential_publish_is_all_or_nothing(wc_class: type) -> None:
    ctx = make(wc_class)
    with pytest.raises(VariableNotFound, match="nope"):
        ctx.publish_from_result({"v": 3}, ["whole"], {"a": "{{ result().v }}",
                                                      "b": "{{ nope }}"}, sequential=True)
    assert ctx.get_var("a") is None and ctx.get_var("whole") is None
    with pytest.raises(TypeConversion):
        ctx.publish_from_result({"v": 3}, (), {"a": "{{ result().v }}", 5: "x"},
                                sequential=True)
    assert ctx.get_var("a") is None
    branch = ctx.fork()  # in a fork: published there only
    branch.publish_from_result({"v": 1}, (), PUBLISH, sequential=True)
    assert branch.get_var("c") == 4 and ctx.get_var("c") is None


# -- update_var and threads -------------------------------------------------------------------
def test_update_var(wc_class: type) -> None:
    ctx = make(wc_class)
    assert ctx.update_var("n", lambda old: (old or 0) + 1) == 1
    assert ctx.clone().update_var("n", lambda old: old + 1) == 2
    with pytest.raises(SerializationError):
        ctx.update_var("n", lambda old: {old})
    with pytest.raises(TypeConversion):
        ctx.update_var("n", "not callable")
    with pytest.raises(ZeroDivisionError):  # the function's own error, unchanged
        ctx.update_var("n", lambda old: old / 0)
    assert ctx.get_var("n") == 2
    branch = ctx.fork()
    branch.update_var("n", lambda old: old * 10)
    assert (ctx.get_var("n"), branch.get_var("n")) == (2, 20)


THREADS = 16
ROUNDS = 300


@pytest.mark.parametrize("forked", [False, True], ids=["context", "fork"])
def test_threads_lose_no_update(wc_class: type, forked: bool) -> None:
    root = make(wc_class)
    keep = root.fork() if forked else None  # the context is tracked: writes take the lock
    target = root.fork() if forked else root
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        view = target.with_item({"t": t}, t)
        try:
            barrier.wait()
            for i in range(ROUNDS):
                view.update_var("counter", lambda old: (old or 0) + 1)
                view.set_var(f"t{t}", i)
                assert view.evaluate(f"t{t}") == i
                branch = view.fork()
                branch.set_var(f"b{t}_{i % 4}", i)
                view.merge(branch)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.get_var("counter") == THREADS * ROUNDS
    assert all(target.get_var(f"t{t}") == ROUNDS - 1 for t in range(THREADS))
    assert all(target.get_var(f"b{t}_3") == ROUNDS - 1 for t in range(THREADS))
    if forked:
        root.merge(target)
        assert root.get_var("counter") == THREADS * ROUNDS
    del keep


# -- the model ---------------------------------------------------------------------------------
class Node:
    """A fork in the reference model: its own writes over its parent's, with a clock."""

    def __init__(self, parent: Node | None, clock: int) -> None:
        self.parent = parent
        self.own: dict[str, Any] = {}
        self.written: dict[str, int] = {}  # key -> when this node last wrote it
        self.base = clock

    def read(self, key: str) -> Any:
        if key in self.own:
            return self.own[key]
        return None if self.parent is None else self.parent.read(key)

    def view(self) -> dict[str, Any]:
        below = {} if self.parent is None else self.parent.view()
        return {**below, **self.own}


KEYS = st.sampled_from(["x", "y", "z"])


class ForkModel(RuleBasedStateMachine):
    """Contexts and forks of one core, beside the model; the variables must agree."""

    CLS: type

    @initialize()
    def start(self) -> None:
        self.clock = 0
        self.pairs: list[tuple[Any, Node]] = [(self.CLS({}, {"x": 0}), Node(None, 0))]
        self.pairs[0][1].own["x"] = 0
        self.changed: dict[int, set[str]] = {}  # id(node) -> keys the fork wrote

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    @rule(at=st.integers(0, 50))
    def fork(self, at: int) -> None:
        ctx, node = self.pairs[at % len(self.pairs)]
        if len(self.pairs) < 8:
            self.pairs.append((ctx.fork(), Node(node, self.clock)))

    @rule(at=st.integers(0, 50), key=KEYS, value=st.integers(0, 3))
    def write(self, at: int, key: str, value: int) -> None:
        ctx, node = self.pairs[at % len(self.pairs)]
        ctx.set_var(key, value)
        node.own[key] = value
        node.written[key] = self.tick()
        self.changed.setdefault(id(node), set()).add(key)

    @rule(at=st.integers(0, 50), last=st.booleans())
    def merge(self, at: int, last: bool) -> None:
        ctx, node = self.pairs[at % len(self.pairs)]
        if node.parent is None:
            return
        parent_ctx = next(c for c, n in self.pairs if n is node.parent)
        mine = {key: node.own[key] for key in self.changed.get(id(node), set())}
        conflicts = [key for key, value in mine.items()
                     if node.parent.written.get(key, -1) > node.base
                     and node.parent.read(key) != value]
        if conflicts and not last:
            with pytest.raises(MergeConflict):
                parent_ctx.merge(ctx)
            return
        parent_ctx.merge(ctx, conflict="last" if last else "error")
        now = self.tick()
        for key, value in mine.items():
            node.parent.own[key] = value
            node.parent.written[key] = now
            self.changed.setdefault(id(node.parent), set()).add(key)
        node.own = {}  # afresh: nothing of its own
        self.changed[id(node)] = set()
        node.base = self.clock

    @invariant()
    def agree(self) -> None:
        for ctx, node in self.pairs:
            assert dict(ctx.variables) == node.view()
            expected = {key: node.own[key] for key in self.changed.get(id(node), set())}
            if node.parent is None:
                assert ctx.changes() == {}
            else:
                assert ctx.changes().get("variables", {}) == expected


def test_forks_follow_the_model(wc_class: type) -> None:
    ForkModel.CLS = wc_class
    run_state_machine_as_test(ForkModel, settings=settings(
        deadline=None, database=None, max_examples=80, stateful_step_count=30,
        suppress_health_check=[HealthCheck.too_slow]))
