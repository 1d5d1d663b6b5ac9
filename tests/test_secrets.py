"""Keystore values never show in repr, export, error messages or logs."""

from __future__ import annotations

import json
import logging

import pytest

from fastctx import ContextError, SerializationError, TaskOutcome

SECRETS = ("hunter2-Secret", "n3sted-p4ssword", "987654321", "äöü-unicode-secret")


@pytest.fixture
def ctx(wc_class: type):
    ctx = wc_class({"p": 1}, {"d": {"a": 1}, "hosts": ["a", "b"]},
                   keystore={"pw": "hunter2-Secret", "db": {"password": "n3sted-p4ssword"},
                       "pin": 987654321, "list": ["äöü-unicode-secret"]})
    ctx.set_task_result("fetch", {"rc": 0})
    return ctx


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _error_leaks(error: BaseException) -> dict[str, list[str]]:
    """Secrets in what an executor could log about an error, by where they show: message,
    repr, args, each attribute (``path``, ``template``...), and the messages of the
    exceptions a traceback prints with it."""
    parts = {"str": str(error), "repr": repr(error), "args": repr(error.args)}
    for name, value in getattr(error, "__dict__", {}).items():
        parts[f"attribute {name}"] = repr(value)
    shown: BaseException | None = error.__cause__ or (
        None if error.__suppress_context__ else error.__context__)
    while shown is not None:
        parts[f"chained {type(shown).__name__}"] = str(shown)
        shown = shown.__cause__ or (None if shown.__suppress_context__ else shown.__context__)
    return {where: _leaks(text) for where, text in parts.items() if _leaks(text)}


def test_repr_and_str_hide_secrets(ctx) -> None:
    for view in (ctx, ctx.clone(), ctx.with_item("x", 3)):
        assert _leaks(repr(view)) == []
        assert _leaks(str(view)) == []
        assert _leaks(format(view)) == []
    assert "keystore" in repr(ctx)  # it says that there are hidden values


def test_export_hides_secrets_by_default(ctx) -> None:
    data = ctx.export()
    assert "keystore" not in data
    assert _leaks(json.dumps(data, ensure_ascii=False)) == []
    assert _leaks(json.dumps(ctx.export_variables(), ensure_ascii=False)) == []
    assert ctx.export(include_secrets=True)["keystore"]["pw"] == "hunter2-Secret"


def test_rendering_produces_secrets(ctx) -> None:
    # Tasks need them.
    assert ctx.render_template("{{ keystore.pw }}") == "hunter2-Secret"
    assert ctx.render_template("{{ keystore.db.password | upper }}") == "N3STED-P4SSWORD"
    assert ctx.evaluate("keystore.pin") == 987654321
    assert ctx.render_json({"k": "{{ keystore.list[0] }}"}) == {"k": "äöü-unicode-secret"}


TEMPLATE_ERRORS = [
    "{{ task[keystore.pw] }}",
    "{{ d[keystore.db.password] }}",
    "{{ task[keystore.pin] }}",
    "{{ task[keystore.list[0]] }}",
    "{{ {}[keystore.pw] }}",
    "{{ match(keystore.pw ~ '(', 'x') }}",
    "{{ (keystore.pw ~ '(') | int + 'x' }}",
    "{{ int(keystore.pw) }}",
    "{{ number(keystore.db.password) }}",
    "{{ float(keystore.pw) }}",
    "{{ keystore.pw + 1 }}",
    "{{ keystore.pin + 'x' }}",
    "{{ keystore.pw * 'x' }}",
    "{{ keystore.pw.nope }}",
    "{{ keystore.pw[99] }}",
    "{{ keystore.pw() }}",
    "{{ [keystore.pw] | map(keystore.pw) | list }}",
    "{{ [keystore.pw] | select(keystore.pw) | list }}",
    "{{ keystore.pw | dictsort }}",
    "{{ range(keystore.pw) }}",
    "{{ keystore.pw > 5 }}",
    "{% for c in keystore.pin %}{% endfor %}",
]


@pytest.mark.parametrize("template", TEMPLATE_ERRORS)
def test_render_errors_hide_secrets(ctx, template: str) -> None:
    with pytest.raises(ContextError) as err:
        ctx.render_template(template)
    assert _error_leaks(err.value) == {}
    assert ctx.render_template("{{ keystore.pw }}") == "hunter2-Secret"  # still usable


@pytest.mark.parametrize("template", TEMPLATE_ERRORS)
def test_other_paths_hide_secrets(ctx, template: str) -> None:
    expression = template[3:-3] if template.startswith("{{") else None
    calls = [lambda: ctx.render_json({"a": [template]}),
             lambda: ctx.evaluate_condition(template),
             lambda: ctx.publish_from_result({"r": 1}, (), {"out": template})]
    if expression is not None:
        calls += [lambda: ctx.evaluate(expression), lambda: ctx.evaluate_condition(expression)]
    for call in calls:
        with pytest.raises(ContextError) as err:
            call()
        assert _error_leaks(err.value) == {}


def test_replaced_keystore_is_hidden_too(ctx) -> None:
    ctx.set_keystore({"pw": "brand-new-secret-42"})
    with pytest.raises(ContextError) as err:
        ctx.clone().render_template("{{ task[keystore.pw] }}")
    assert "brand-new-secret-42" not in str(err.value)
    assert "brand-new-secret-42" not in repr(vars(err.value))


def test_refused_keystore_values_are_not_shown(wc_class: type) -> None:
    with pytest.raises(SerializationError) as err:
        wc_class(keystore={"pw": b"hunter2-Secret"})
    assert _error_leaks(err.value) == {}
    with pytest.raises(SerializationError) as err:
        wc_class().set_keystore({"pw": {"hunter2-Secret"}})
    assert _error_leaks(err.value) == {}


def test_logs_hide_secrets(ctx, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("executor")
    view = ctx.with_item({"host": "h"}, 0)
    view.set_last_task_outcome({"rc": 1}, TaskOutcome.FAILED)
    view.render_template("{{ keystore.pw }}")
    view.render_template("{% for k in keystore %}{{ k }}{% endfor %}")
    view.render_json({"pw": "{{ keystore.pw }}", "n": "{{ keystore.pin }}"})
    view.evaluate_condition("keystore.pw == 'x' or failed()")
    view.publish_from_result({"rc": 1}, (), {"ok": "{{ result().rc }}"})
    for template in TEMPLATE_ERRORS:
        try:
            view.render_template(template)
        except ContextError:
            log.exception("task failed while rendering")  # what an executor would log
        try:
            view.evaluate_condition(template)
        except ContextError as exc:
            log.error("condition failed: %s", exc)
    log.info("context: %r", view)
    log.info("export: %s", view.export())
    assert caplog.records
    for record in caplog.records:
        assert _leaks(record.getMessage()) == [], record.getMessage()
    assert _leaks(caplog.text) == []


@pytest.mark.parametrize("secret", ["O'Reilly-pass-42", 'say "hi"-42', "both ' and \" -42",
                                    "back\\slash-'q'-42"])
@pytest.mark.parametrize("source", ["{{ task[keystore.pw] }}", "{{ {}[keystore.pw] }}",
                                    "{{ parameters[keystore.pw].x }}", "{{ keystore.pw.nope }}"])
def test_secrets_with_quotes_are_scrubbed_in_every_spelling(wc_class: type, secret: str,
                                                             source: str) -> None:
    ctx = wc_class({}, {}, keystore={"pw": secret})
    for call in (lambda: ctx.render_template(source),
                 lambda: ctx.evaluate(source[3:-3]),
                 lambda: ctx.render_json({"a": source}),
                 lambda: ctx.evaluate_condition(source)):
        with pytest.raises(ContextError) as info:
            call()
        for text in (str(info.value), str(getattr(info.value, "path", ""))):
            assert "42" not in text, text
