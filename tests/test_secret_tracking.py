"""Secret tracking: ``render_json(doc, track_secrets=True)`` reports the fields computed from
the keystore or a marked path, ``mark_secret`` marks paths, ``export(redact=True)`` hides
them and every keystore value in any spelling."""

from __future__ import annotations

import base64
import copy
import json
import pickle
from typing import Any

import pytest

import fastctx
from fastctx import TypeConversion
from fastctx.engines.orquesta import ENGINE as ORQUESTA

TOKEN = "s3cr3t-T0ken"


def make(wc_class: type, **kwargs: Any) -> Any:
    ctx = wc_class({"url": "http://x", "token": "param-t0ken", "users": [{"pw": "pw-0"}]},
                   {"greeting": "hi"}, keystore={"token": TOKEN, "quote": "O'Reilly-42"},
                   **kwargs)
    ctx.set_task_result("fetch", {"data": {"id": 7, "key": "task-k3y"}})
    return ctx


# Each field, and whether it is computed from the keystore.
FROM_KEYSTORE = {
    "{{ keystore.token }}": True,
    "{{ keystore.token | upper }}": True,
    "{{ keystore['token'] | reverse | join }}": True,
    "{{ keystore.token[2:5] }}": True,
    "{{ 'x' ~ keystore.quote ~ 'y' }}": True,
    "id {{ keystore.token | length }}": True,  # used, not shown: tracking errs on hiding
    "{% for k in keystore %}{{ k }}{% endfor %}": True,
    "{{ keystore | tojson }}": True,
    "{{ parameters.url }}": False,
    "{{ greeting | upper }}": False,
    "{{ task.fetch.data.id + 1 }}": False,
    "{% if parameters.url %}yes{% endif %}": False,
    "plain text": False,
}


@pytest.mark.parametrize("template", list(FROM_KEYSTORE))
def test_keystore_reads_are_reported(wc_class: type, template: str) -> None:
    ctx = make(wc_class)
    value, paths = ctx.render_json({"field": template}, track_secrets=True)
    assert value == ctx.render_json({"field": template})
    assert paths == (["/field"] if FROM_KEYSTORE[template] else [])


def test_pointers_name_each_field(wc_class: type) -> None:
    ctx = make(wc_class)
    doc = {"env": {"a/b": "{{ keystore.token | upper }}", "m~n": ["{{ greeting }}",
                                                                 "{{ keystore.quote }}"]},
           "n": 5, "list": [["{{ 1 }}", {"deep": "{{ keystore.token ~ '' }}"}]]}
    value, paths = ctx.render_json(doc, track_secrets=True)
    assert value["env"]["a/b"] == TOKEN.upper()
    assert paths == ["/env/a~1b", "/env/m~0n/1", "/list/0/1/deep"]
    assert ctx.render_json(doc) == value  # without tracking: the value alone


def test_no_secrets_no_paths(wc_class: type) -> None:
    ctx = wc_class({"a": 1})
    assert ctx.render_json({"x": "{{ parameters.a }}"}, track_secrets=True) == ({"x": 1}, [])


@pytest.mark.parametrize(("namespace", "pointer", "template", "secret"), [
    ("parameters", "/token", "{{ parameters.token | upper }}", True),
    ("parameters", "/token", "{{ parameters | tojson }}", True),  # a container holding it
    ("parameters", "/token", "{{ parameters.url }}", False),
    ("parameters", "/users/0/pw", "{{ parameters.users[0].pw }}", True),
    ("parameters", "/users/0/pw", "{{ parameters.users | map(attribute='pw') | list }}", True),
    ("parameters", "/users", "{{ parameters.users[0]['pw'][1:] }}", True),  # inside it
    ("variables", "/greeting", "{{ greeting ~ '!' }}", True),
    ("variables", "/greeting", "{{ workflow.greeting }}", True),
    ("variables", "", "{{ vars | tojson }}", True),
    ("task_results", "/fetch/data/key", "{{ task.fetch.data.key }}", True),
    ("task_results", "/fetch/data/key", "{{ task.fetch.data.id }}", False),
    ("task_results", "/fetch/data/key", "{{ tasks['fetch'] | tojson }}", True),
])
def test_marked_paths(wc_class: type, namespace: str, pointer: str, template: str,
                      secret: bool) -> None:
    ctx = wc_class({"url": "http://x", "token": "param-t0ken", "users": [{"pw": "pw-0"}]},
                   {"greeting": "hi"})
    ctx.set_task_result("fetch", {"data": {"id": 7, "key": "task-k3y"}})
    assert ctx.render_json({"f": template}, track_secrets=True)[1] == []
    ctx.clone().mark_secret(namespace, pointer)  # marks are shared by clones
    assert ctx.render_json({"f": template}, track_secrets=True)[1] == (
        ["/f"] if secret else [])


def test_item_marks(wc_class: type) -> None:
    ctx = wc_class({})
    ctx.mark_secret("item", "/password")
    views = [ctx.with_item({"user": f"u{i}", "password": f"pw-{i}"}, i) for i in range(2)]
    for view in views:
        _, paths = view.render_json({"u": "{{ item.user }}", "p": "{{ item.password }}",
                                         "all": "{{ item }}"}, track_secrets=True)
        assert paths == ["/p", "/all"]
    assert ctx.render_json({"x": "{{ 1 }}"}, track_secrets=True) == ({"x": 1}, [])


def test_a_stored_copy_is_found_by_its_text(wc_class: type) -> None:
    ctx = make(wc_class)
    ctx.set_var("copied", TOKEN.upper())  # derived from a secret, stored earlier
    ctx.set_var("encoded", base64.b64encode(TOKEN.encode()).decode())
    _, paths = ctx.render_json({"a": "{{ copied }}", "b": "{{ encoded }}",
                                    "c": "{{ greeting }}"}, track_secrets=True)
    assert paths == ["/a", "/b"]


def test_orquesta_functions_say_what_they_read(wc_class: type) -> None:
    ctx = wc_class({"region": "eu"}, {"level": 3}, keystore={"k": "v4lue"}, engine=ORQUESTA)
    doc = {"a": "{{ ctx('region') }}", "b": "{{ st2kv('k') | upper }}", "c": "{{ ctx().level }}"}
    assert ctx.render_json(doc, track_secrets=True)[1] == ["/b"]
    ctx.mark_secret("parameters", "/region")
    assert ctx.render_json(doc, track_secrets=True)[1] == ["/a", "/b", "/c"]


ENGINE = fastctx.Engine("secret-tracking-test")


@ENGINE.function("peek", pass_context=True)
def _peek(ctx: Any, key: str) -> Any:
    return ctx.keystore[key]


@ENGINE.function("setting", pass_context=True, reads=("parameters",))
def _setting(ctx: Any, key: str) -> Any:
    return ctx.parameters[key]


def test_functions_given_the_context(wc_class: type) -> None:
    ctx = wc_class({"mode": "fast"}, keystore={"token": TOKEN}, engine=ENGINE)
    value, paths = ctx.render_json({"a": "{{ peek('token') | lower }}",
                                    "b": "{{ setting('mode') }}"}, track_secrets=True)
    assert value == {"a": TOKEN.lower(), "b": "fast"}
    assert paths == ["/a"]  # peek declares nothing: it may read the keystore
    with pytest.raises(ValueError, match="reads must list root names"):
        ENGINE.function("bad", pass_context=True, reads=("nowhere",))(lambda ctx: 1)


def test_forks_pickles_and_copies_keep_the_marks(wc_class: type) -> None:
    ctx = make(wc_class)
    branch = ctx.fork()
    branch.mark_secret("variables", "/greeting")
    doc = {"g": "{{ greeting }}"}
    for other in (ctx, branch, pickle.loads(pickle.dumps(branch)), copy.deepcopy(ctx)):
        assert other.render_json(doc, track_secrets=True)[1] == ["/g"]


def test_mark_secret_refuses(wc_class: type) -> None:
    ctx = make(wc_class)
    for namespace, pointer in (("keystore", "/x"), ("nope", ""), (3, ""),
                               ("variables", "x"), ("variables", 5)):
        with pytest.raises(TypeConversion):
            ctx.mark_secret(namespace, pointer)


def _every_spelling(text: str) -> list[str]:
    return [text, text.upper(), text.lower(), json.dumps(text)[1:-1],
            base64.b64encode(text.encode()).decode()]


def test_export_redacted_holds_no_secret(wc_class: type) -> None:
    ctx = make(wc_class)
    ctx.mark_secret("task_results", "/fetch/data/key")
    rendered = ctx.render_json({"echo": "token is {{ keystore.token }}",
                                "shout": "{{ keystore.token | upper }}",
                                "quote": "{{ keystore.quote | tojson }}"})
    ctx.set_task_result("echo", rendered)
    ctx.set_var("copy", rendered["shout"])
    plain = json.dumps(ctx.export())
    assert TOKEN in plain and "task-k3y" in plain
    for include_secrets in (False, True):
        data = ctx.export(redact=True, include_secrets=include_secrets)
        text = json.dumps(data, ensure_ascii=False)
        for secret in (TOKEN, "O'Reilly-42", "task-k3y"):
            for spelling in _every_spelling(secret):
                assert spelling not in text, spelling
        assert data["task_results"]["fetch"]["data"] == {"id": 7, "key": "***"}
        assert data["task_results"]["echo"] == {"echo": "***", "shout": "***", "quote": "***"}
        assert data["parameters"]["url"] == "http://x"
        assert data["variables"] == {"greeting": "hi", "copy": "***"}
    assert data["keystore"] == {"token": "***", "quote": "***"}
    assert json.dumps(ctx.export()) == plain  # redaction changed no stored value
