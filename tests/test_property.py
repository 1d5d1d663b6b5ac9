"""Property tests (Hypothesis): the two cores agree, exports round-trip, clones keep their own.

- ``test_cores_agree``: random sequences of operations applied in lockstep to a context on the
  pure-Python core and one on the Cython core give identical observable state after every step,
  and identical results or identical errors (class and message) for every call.
- ``test_export_round_trip``: ``from_export(export())`` exports what it was made from, with
  and without secrets, on each core and across the two.
- ``test_clone_fields_isolated``: a clone's item, index and last outcome never reach its parent
  or its siblings, while a store write through any clone is seen by all of them.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from fastctx import ContextError, TaskOutcome, VariableNotFound
from fastctx._impl import context_class

# No example database: the suite leaves no .hypothesis/ directory behind, and the runs stay
# reproducible from the printed seed.
SETTINGS = settings(deadline=None, database=None, max_examples=60,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
START = {"workflow_start": "2024-05-01T12:00:00.000000Z"}  # the same on both sides

# -- values ---------------------------------------------------------------------------------
NAMES = ["a", "b", "items", "x y", "t"]
KEYS = st.sampled_from(["name", "items", "n", "k", "x y", ""]) | st.text(max_size=3)
TEXT = st.sampled_from(["", "x", "yes", "0", "{{ a }}", "{% if %}", "}}{{"]) | st.text(max_size=4)
SCALARS = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | TEXT
    | st.floats(allow_nan=False, allow_infinity=False)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
NOT_JSON = st.sampled_from([{1, 2}, b"bytes", float("nan"), float("inf"), (1, 2), {1: "x"},
                            [object()], {"k": {"deep": {3.5}}}])


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, ``bad`` otherwise: refused calls, but full stores too."""
    return st.tuples(st.integers(1, 10), good, bad).map(lambda t: t[2] if t[0] == 5 else t[1])


VALUES = mostly(JSON, NOT_JSON)
STORE = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=4), JSON, max_size=4)
NAME = mostly(st.sampled_from(NAMES), st.sampled_from([5, None, b"a"]))
INDEX = mostly(st.integers(-2, 6), st.sampled_from(["1", True, 1.0, None]))
OUTCOME = mostly(st.sampled_from(list(TaskOutcome)), st.sampled_from(["succeeded", None]))

# -- what is rendered: both paths, all namespaces, the error paths --------------------------
TEMPLATES = [
    "plain text",
    "{{ a }}",
    "{{ vars.b }}/{{ workflow['x y'] }}",
    "{{ task.t }}",
    "{{ task.t.items }}",
    "{{ task.t[0] }}",
    "{{ item }}-{{ index }}",
    "{{ item.name }}",
    "{{ item['x y'] }}",
    "{{ parameters.count }}",
    "{{ config.region }}",
    "{{ keystore.password }}",
    "{{ system.workflow_start }}",
    "{{ result() }} {{ succeeded() }} {{ failed() }} {{ timed_out() }}",
    "{{ a | default('none') }}",
    "{{ a is defined }}:{{ item is defined }}",
    "{% for k in vars %}{{ k }};{% endfor %}",
    "{% if item %}{{ item | string | upper }}{% else %}no item{% endif %}",
    "{{ a ~ b }}",
    "{{ a + b }}",
    "{{ a * 2 }}",
    "{{ length(vars) }}",
    "{{ task[a] }}",
    "{{ }}",
    "{{ nope(1) }}",
    "{{ a.__class__ }}",
]
EXPRESSIONS = [
    "a", "a == b", "index + 1", "item.name", "result()", "failed() or timed_out()",
    "a * 2", "length(task)", "a ~ item", "[a, b]", "{'k': a}", "type_of(a)", "vars",
    "parameters.count > 2", "a / 0", "1 +", "keys(config)", "item is defined and index >= 0",
]
CONDITIONS: list[Any] = [
    "a", "{{ succeeded() }}", "index > 0", "item", "config.enabled", "{{ a }}", "not b",
    "a and b", "{{ item.name | default('') }}", True, False, 5, None,
]
DOCUMENTS: list[Any] = [
    {"v": "{{ a }}", "list": ["{{ index }}", "at {{ index }}", 3, None]},
    "{{ item }}",
    ["{{ result() }}", {"ok": "{{ succeeded() }}"}],
    {"deep": [[{"x": "{{ task.t.items }}"}]]},
]
PUBLISH_MAPS: list[Any] = [
    None,
    {"a": "{{ result() }}"},
    {"b": "{{ result().n }}", "items": ["{{ index }}", "{{ a }}"]},
    {"t": "{{ nope }}"},
]


def view_dict(view: Any) -> Any:
    """A store view (read-only) as the dict it shows, None as None."""
    return None if view is None else dict(view)


def tag(value: Any) -> Any:
    """A value with its types spelled out, so that 1, 1.0 and True differ."""
    kind = type(value)
    if kind is dict:
        return ("dict", tuple((key, tag(member)) for key, member in value.items()))
    if kind is list or kind is tuple:
        return (kind.__name__, tuple(tag(member) for member in value))
    if kind is float:
        return ("float", repr(value))
    if kind in (str, int, bool, type(None), TaskOutcome):
        return (kind.__name__, value)
    return (kind.__name__, repr(value))


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call did, comparable across cores: its value or its error's class and text."""
    try:
        return ("ok", tag(call()))
    except ContextError as exc:
        return ("error", type(exc), str(exc))


def state(ctx: Any) -> tuple[Any, ...]:
    """Everything observable about one context."""
    return (
        tag(ctx.current_item), tag(ctx.current_index), tag(ctx.last_result),
        ctx.last_outcome,
        *[tag(view_dict(getattr(ctx, name))) for name in (
            "parameters", "variables", "task_results", "pack_config", "keystore", "system")],
        repr(ctx),
    )


# -- (a) the two cores in lockstep -----------------------------------------------------------
class Lockstep(RuleBasedStateMachine):
    """Pairs (python context, cython context) that every rule treats alike."""

    PY: type
    CY: type
    MAX_PAIRS = 8

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[Any, Any]] = []

    def both(self, at: int, call: Callable[[Any], Any]) -> tuple[Any, ...]:
        py, cy = self.pairs[at % len(self.pairs)]
        expected = outcome(lambda: call(py))
        got = outcome(lambda: call(cy))
        assert got == expected, (expected, got)
        return expected

    @initialize(parameters=STORE, variables=STORE, config=STORE, keystore=STORE)
    def start(self, parameters: dict[str, Any], variables: dict[str, Any],
              config: dict[str, Any], keystore: dict[str, Any]) -> None:
        parameters.setdefault("count", 3)
        variables = {"a": 2, "b": "x", **variables}
        config.setdefault("region", "eu")
        keystore.setdefault("password", "s3cret")
        made = [cls(parameters, variables, pack_config=config, keystore=keystore,
                    system=dict(START)) for cls in (self.PY, self.CY)]
        for ctx in made:
            ctx.set_task_result("t", {"items": [1, "two", None], "n": 5})
        self.pairs.append((made[0], made[1]))

    # -- stores (shared by every clone of one root) ---------------------------------------
    @rule(at=st.integers(0, 99), name=NAME, value=VALUES)
    def set_var(self, at: int, name: Any, value: Any) -> None:
        self.both(at, lambda ctx: ctx.set_var(name, value))

    @rule(at=st.integers(0, 99), name=NAME, value=VALUES)
    def set_task_result(self, at: int, name: Any, value: Any) -> None:
        self.both(at, lambda ctx: ctx.set_task_result(name, value))

    @rule(at=st.integers(0, 99), name=NAME, value=VALUES)
    def set_system(self, at: int, name: Any, value: Any) -> None:
        self.both(at, lambda ctx: ctx.set_system(name, value))

    @rule(at=st.integers(0, 99), config=mostly(STORE, st.none() | NOT_JSON))
    def set_pack_config(self, at: int, config: Any) -> None:
        self.both(at, lambda ctx: ctx.set_pack_config(config))

    @rule(at=st.integers(0, 99), secrets=mostly(STORE, st.none() | NOT_JSON))
    def set_keystore(self, at: int, secrets: Any) -> None:
        self.both(at, lambda ctx: ctx.set_keystore(secrets))

    @rule(at=st.integers(0, 99), result=VALUES, names=st.lists(st.sampled_from(NAMES), max_size=2),
          publish_map=st.sampled_from(PUBLISH_MAPS))
    def publish_from_result(self, at: int, result: Any, names: list[str], publish_map: Any) -> None:
        self.both(at, lambda ctx: ctx.publish_from_result(result, names, publish_map))

    # -- clones and their own fields -------------------------------------------------------
    @precondition(lambda self: len(self.pairs) < self.MAX_PAIRS)
    @rule(at=st.integers(0, 99))
    def clone(self, at: int) -> None:
        py, cy = self.pairs[at % len(self.pairs)]
        self.pairs.append((py.clone(), cy.clone()))

    @precondition(lambda self: len(self.pairs) < self.MAX_PAIRS)
    @rule(at=st.integers(0, 99), item=JSON, index=INDEX)
    def with_item(self, at: int, item: Any, index: Any) -> None:
        made: list[Any] = []
        if self.both(at, lambda ctx: made.append(ctx.with_item(item, index)))[0] == "ok":
            self.pairs.append((made[0], made[1]))

    @precondition(lambda self: len(self.pairs) < self.MAX_PAIRS)
    @rule(at=st.integers(0, 99), shallow=st.booleans())
    def copy_context(self, at: int, shallow: bool) -> None:
        py, cy = self.pairs[at % len(self.pairs)]
        how = copy.copy if shallow else copy.deepcopy
        self.pairs.append((how(py), how(cy)))

    # -- forks -------------------------------------------------------------------------------
    @precondition(lambda self: len(self.pairs) < self.MAX_PAIRS)
    @rule(at=st.integers(0, 99))
    def fork(self, at: int) -> None:
        py, cy = self.pairs[at % len(self.pairs)]
        self.pairs.append((py.fork(), cy.fork()))

    @rule(at=st.integers(0, 99), branch=st.integers(0, 99),
          conflict=st.sampled_from(["error", "last", "sum", "bad"]))
    def merge(self, at: int, branch: int, conflict: str) -> None:
        py_branch, cy_branch = self.pairs[branch % len(self.pairs)]
        how: dict[str, Any] = {"sum": lambda ns, key, old, new: [old, new],
                               "bad": lambda ns, key, old, new: {1, 2}}
        self.both(at, lambda ctx: ctx.merge(py_branch if ctx.implementation == "python"
                                            else cy_branch, conflict=how.get(conflict, conflict)))

    @rule(at=st.integers(0, 99), include_secrets=st.booleans())
    def changes(self, at: int, include_secrets: bool) -> None:
        self.both(at, lambda ctx: ctx.changes(include_secrets=include_secrets))

    @rule(at=st.integers(0, 99), name=NAME, value=VALUES)
    def update_var(self, at: int, name: Any, value: Any) -> None:
        self.both(at, lambda ctx: ctx.update_var(name, lambda old: [old, value]))

    @rule(at=st.integers(0, 99), result=VALUES, publish_map=st.sampled_from(PUBLISH_MAPS))
    def publish_sequential(self, at: int, result: Any, publish_map: Any) -> None:
        self.both(at, lambda ctx: ctx.publish_from_result(result, (), publish_map,
                                                          sequential=True))

    @rule(at=st.integers(0, 99), item=JSON, index=INDEX)
    def set_current_item(self, at: int, item: Any, index: Any) -> None:
        self.both(at, lambda ctx: ctx.set_current_item(item, index))

    @rule(at=st.integers(0, 99))
    def clear_current_item(self, at: int) -> None:
        self.both(at, lambda ctx: ctx.clear_current_item())

    @rule(at=st.integers(0, 99), result=VALUES, done=OUTCOME)
    def set_last_task_outcome(self, at: int, result: Any, done: Any) -> None:
        self.both(at, lambda ctx: ctx.set_last_task_outcome(result, done))

    # -- reading ---------------------------------------------------------------------------
    @rule(at=st.integers(0, 99), template=st.sampled_from(TEMPLATES))
    def render_template(self, at: int, template: str) -> None:
        self.both(at, lambda ctx: ctx.render_template(template))

    @rule(at=st.integers(0, 99), expression=st.sampled_from(EXPRESSIONS))
    def evaluate(self, at: int, expression: str) -> None:
        self.both(at, lambda ctx: ctx.evaluate(expression))

    @rule(at=st.integers(0, 99), condition=st.sampled_from(CONDITIONS))
    def evaluate_condition(self, at: int, condition: Any) -> None:
        self.both(at, lambda ctx: ctx.evaluate_condition(condition))

    @rule(at=st.integers(0, 99), document=st.sampled_from(DOCUMENTS))
    def render_json(self, at: int, document: Any) -> None:
        self.both(at, lambda ctx: ctx.render_json(document))

    @rule(at=st.integers(0, 99), name=NAME)
    def get(self, at: int, name: Any) -> None:
        self.both(at, lambda ctx: (ctx.get_var(name, "?"), ctx.get_task_result(name)))

    @rule(at=st.integers(0, 99), include_secrets=st.booleans())
    def export(self, at: int, include_secrets: bool) -> None:
        self.both(at, lambda ctx: ctx.export(include_secrets=include_secrets))

    @rule(at=st.integers(0, 99))
    def pickle_round_trip(self, at: int) -> None:
        py, cy = self.pairs[at % len(self.pairs)]
        loaded = [pickle.loads(pickle.dumps([ctx, ctx.clone()])) for ctx in (py, cy)]
        assert state(loaded[0][0]) == state(loaded[1][0]) == state(py)
        assert all(pair[0].shares_stores_with(pair[1]) for pair in loaded)

    @invariant()
    def same_state(self) -> None:
        for py, cy in self.pairs:
            assert state(py) == state(cy)
        # Sharing of stores is the same on both sides (copy.deepcopy makes new ones).
        for py, cy in self.pairs:
            for other_py, other_cy in self.pairs:
                assert py.shares_stores_with(other_py) == cy.shares_stores_with(other_cy)


@pytest.mark.c_extension
def test_cores_agree() -> None:
    Lockstep.CY = context_class("cython")
    Lockstep.PY = context_class("python")
    run_state_machine_as_test(
        Lockstep, settings=settings(SETTINGS, max_examples=60, stateful_step_count=30))


DEEP = st.integers(0, 12).map(lambda n: _nested(n))


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


BIG_INTS = st.sampled_from([2**14_000, 2**14_001, -(2**14_001), 2**63, -(2**63) - 1])


@pytest.mark.c_extension
@settings(SETTINGS, max_examples=300)
@given(value=st.recursive(JSON | NOT_JSON | BIG_INTS | DEEP, lambda inner: st.lists(
    inner, max_size=3) | st.dictionaries(KEYS | st.integers(0, 2), inner, max_size=3),
    max_leaves=10))
def test_json_checks_agree(value: Any) -> None:
    """The compiled JSON-shape check and fastctx._data's accept and refuse alike, with the
    same message (the first fault found, in the same order)."""
    from fastctx import _data, _stores, limits

    old = limits.configure(max_depth=8)
    try:
        assert outcome(lambda: _stores.check_json(value, "v")) == outcome(
            lambda: _data.check_json(value, "v"))
    finally:
        limits.configure(**old)


# -- (b) export and import -------------------------------------------------------------------
def _other_class(wc_class: type) -> type | None:
    other = "python" if wc_class.implementation == "cython" else "cython"
    try:
        return context_class(other)
    except ImportError:
        return None


@settings(SETTINGS, max_examples=40)
@given(parameters=STORE, variables=STORE, config=STORE, keystore=STORE, system=STORE,
       tasks=STORE)
def test_export_round_trip(wc_class: type, parameters: dict[str, Any], variables: dict[str, Any],
                           config: dict[str, Any], keystore: dict[str, Any],
                           system: dict[str, Any], tasks: dict[str, Any]) -> None:
    ctx = wc_class(parameters, variables, pack_config=config, keystore=keystore, system=system)
    for name, result in tasks.items():
        ctx.set_task_result(name, result)
    full = ctx.export(include_secrets=True)
    assert tag(json.loads(json.dumps(full))) == tag(full)  # JSON-safe as it is
    assert tag(full["keystore"]) == tag(keystore)
    assert tag(full["task_results"]) == tag(tasks)
    loaded = wc_class.from_export(full)
    assert tag(loaded.export(include_secrets=True)) == tag(full)
    assert loaded.render_template("{{ system.workflow_start }}") == \
        ctx.render_template("{{ system.workflow_start }}")

    public = ctx.export()
    assert "keystore" not in public
    assert tag({**public, "keystore": full["keystore"]}) == tag(full)
    again = wc_class.from_export(public)
    assert again.keystore == {}
    assert tag(again.export()) == tag(public)

    other = _other_class(wc_class)
    if other is not None:
        assert tag(other.from_export(full).export(include_secrets=True)) == tag(full)


# -- (c) per-clone fields --------------------------------------------------------------------
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["clone", "with_item", "set_current_item", "clear_current_item",
                         "set_last_task_outcome", "set_var", "set_task_result", "set_system"]),
        st.integers(0, 99),  # which clone
        JSON,  # item, result or stored value
        st.integers(0, 5),  # index, or the key written
        st.sampled_from(list(TaskOutcome)),
    ),
    max_size=30,
)


def _check_family(family: list[Any], model: list[tuple[Any, Any, Any]],
                  stores: dict[str, dict[str, Any]]) -> None:
    root = family[0]
    for ctx, (item, index, last) in zip(family, model):
        assert ctx.current_item is item
        assert ctx.current_index == index
        if last is None:
            assert ctx.last_result is None and ctx.last_outcome is None
            assert ctx.evaluate("result()") is None
        else:
            assert ctx.last_result is last[0] and ctx.last_outcome is last[1]
            assert tag(ctx.evaluate("result()")) == tag(last[0])
        assert ctx.evaluate_condition("succeeded()") == (
            last is not None and last[1] is TaskOutcome.SUCCEEDED)
        if index is None:
            with pytest.raises(VariableNotFound):
                ctx.evaluate("item")
        else:
            assert ctx.render_template("{{ index }}") == str(index)
            assert tag(ctx.evaluate("item")) == tag(item)
        # Stores: one set for the whole family, holding every write made through any clone.
        assert ctx.shares_stores_with(root)
        assert ctx.variables == root.variables and ctx.system == root.system
        assert tag(view_dict(ctx.variables)) == tag(stores["variables"])
        assert tag(view_dict(ctx.task_results)) == tag(stores["tasks"])
        assert tag(view_dict(ctx.system)) == tag(stores["system"])
        for name, value in stores["variables"].items():
            assert ctx.get_var(name) is value


@SETTINGS
@given(steps=STEPS)
def test_clone_fields_isolated(wc_class: type, steps: list[tuple[Any, ...]]) -> None:
    root = wc_class({"p": 1}, system=dict(START))
    family = [root]
    model: list[tuple[Any, Any, Any]] = [(None, None, None)]
    stores: dict[str, dict[str, Any]] = {"variables": {}, "tasks": {}, "system": dict(START)}
    for kind, who, value, n, done in steps:
        at = who % len(family)
        ctx, (item, index, last) = family[at], model[at]
        if kind == "clone":
            family.append(ctx.clone())
            model.append((item, index, last))
        elif kind == "with_item":
            family.append(ctx.with_item(value, n))
            model.append((value, n, last))
        elif kind == "set_current_item":
            ctx.set_current_item(value, n)
            model[at] = (value, n, last)
        elif kind == "clear_current_item":
            ctx.clear_current_item()
            model[at] = (None, None, last)
        elif kind == "set_last_task_outcome":
            ctx.set_last_task_outcome(value, done)
            model[at] = (item, index, (value, done))
        elif kind == "set_var":
            ctx.set_var(f"v{n}", value)
            stores["variables"][f"v{n}"] = value
        elif kind == "set_task_result":
            ctx.set_task_result(f"t{n}", value)
            stores["tasks"][f"t{n}"] = value
        else:
            ctx.set_system(f"s{n}", value)
            stores["system"][f"s{n}"] = value
        _check_family(family, model, stores)
