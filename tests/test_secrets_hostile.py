"""Secrets under attack: keystore values stay out of everything but a render's output.

``test_secrets.py`` covers the messages, reprs and chained messages an executor would log.
This goes further: secrets of every JSON type (strings with quotes, backslashes, newlines and
non-ASCII, ints, negative and big ints, floats, nested lists and objects), searched in their
escaped spellings too (``repr`` and JSON escapes), in every attribute of an error, in its
``__cause__`` and ``__context__`` chains whether or not they are shown, in the traceback that
``traceback.format_exception`` prints, in log records (a root handler and ``caplog``), on the
compiled/fast path and on the Jinja2 path of every entry point; and a secret that is a
substring of the template's own text.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fastctx import ContextError, TaskOutcome

KEYSTORE: dict[str, Any] = {
    "pw": "hunter2-Secret",
    "pin": 987654321,
    "neg": -123456789,
    "pi": 3.14159265358,
    "big": 12345678901234567890,
    "list": ["nested-l1st-secret", [31337123, {"deep": "deep-d1ct-secret"}]],
    "obj": {"user": "svc-account-xyz", "token": "t0ken-abc-XYZ"},
    "quote": "p\"w\\d'x-quoted-secret",
    "nl": "line-one\nline-two-secret",
    "tab": "tab\tseparated-secret",
    "uni": "äöü-ünïcödé-secret",
    "My Key": "spaced-key-secret",
    "flag": True,  # not secret-able: true/false/null are everywhere
    "nothing": None,
}


def _leaves(value: Any) -> Iterator[Any]:
    if type(value) is dict:
        for member in value.values():
            yield from _leaves(member)
    elif type(value) is list:
        for member in value:
            yield from _leaves(member)
    elif value is not None and type(value) is not bool:
        yield value


def spellings(secret: Any) -> set[str]:
    """Every way a message could spell ``secret``: as printed, as ``repr`` shows it (inside
    quotes), as JSON shows it (ASCII-escaped or not)."""
    text = secret if type(secret) is str else json.dumps(secret)
    found = {text, str(secret), repr(secret)}
    if type(secret) is str:
        found |= {repr(secret)[1:-1], json.dumps(secret)[1:-1],
                  json.dumps(secret, ensure_ascii=False)[1:-1],
                  secret.encode("unicode_escape").decode("ascii")}
    return {spelling for spelling in found if len(spelling) >= 6}


SECRETS = sorted(set().union(*(spellings(leaf) for leaf in _leaves(KEYSTORE))), key=len)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _chain(error: BaseException) -> Iterator[tuple[str, BaseException]]:
    """The error, its causes and contexts: shown or suppressed, everything reachable."""
    seen: set[int] = set()
    stack: list[tuple[str, BaseException]] = [("error", error)]
    while stack:
        where, exc = stack.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield where, exc
        if exc.__cause__ is not None:
            stack.append((f"{where}.__cause__", exc.__cause__))
        if exc.__context__ is not None:
            stack.append((f"{where}.__context__", exc.__context__))


def error_leaks(error: BaseException, template: str | None = None) -> dict[str, list[str]]:
    """Where a secret shows in ``error``: message, repr, args, attributes (``.template`` may
    hold the template's source), causes and contexts, the formatted traceback."""
    parts: dict[str, str] = {}
    for where, exc in _chain(error):
        parts[f"{where} str"] = str(exc)
        parts[f"{where} repr"] = repr(exc)
        parts[f"{where} args"] = repr(exc.args)
        for name, value in getattr(exc, "__dict__", {}).items():
            if name == "template" and template is not None and value == template:
                continue
            parts[f"{where}.{name}"] = repr(value)
        for note in getattr(exc, "__notes__", ()):
            parts[f"{where} note"] = str(note)
    parts["traceback.format_exception"] = "".join(traceback.format_exception(error))
    return {where: found for where, text in parts.items() if (found := leaks(text))}


@pytest.fixture
def ctx(wc_class: type) -> Any:
    ctx = wc_class({"p": 1}, {"d": {"a": 1}, "hosts": ["a", "b"], "n": 5}, keystore=KEYSTORE,
                   pack_config={"url": "https://example.invalid"})
    ctx.set_task_result("fetch", {"rc": 0, "out": "ok"})
    return ctx.with_item({"host": "h"}, 0)


def test_the_secrets_under_test() -> None:
    assert "hunter2-Secret" in SECRETS and "987654321" in SECRETS
    assert "3.14159265358" in SECRETS and "-123456789" in SECRETS
    assert "31337123" in SECRETS and "deep-d1ct-secret" in SECRETS
    assert 'p\\"w\\\\d\'x-quoted-secret' in SECRETS  # JSON's spelling
    assert "line-one\\nline-two-secret" in SECRETS  # repr's spelling
    assert "\\xe4\\xf6\\xfc-\\xfcn\\xefc\\xf6d\\xe9-secret" in SECRETS or \
        "\\u00e4\\u00f6\\u00fc-\\u00fcn\\u00efc\\u00f6d\\u00e9-secret" in SECRETS


# -- the context itself --------------------------------------------------------------------
def test_repr_str_copies_and_export(ctx: Any) -> None:
    views = [ctx, ctx.clone(), ctx.with_item("x", 1), copy.copy(ctx), copy.deepcopy(ctx)]
    for view in views:
        for text in (repr(view), str(view), format(view), f"{view!r:>200}"):
            assert leaks(text) == [], text
        assert leaks(json.dumps(view.export(), ensure_ascii=False)) == []
        assert leaks(json.dumps(view.export())) == []
        assert leaks(repr(view.export_variables())) == []
    everything = ctx.export(include_secrets=True)
    assert everything["keystore"] == KEYSTORE
    assert "keystore" not in ctx.export()


def test_rendering_produces_the_secrets(ctx: Any) -> None:
    assert ctx.render_template("{{ keystore.quote }}") == KEYSTORE["quote"]
    assert ctx.render_template("{{ keystore['My Key'] }}") == "spaced-key-secret"
    assert ctx.evaluate("keystore.list[1][1].deep") == "deep-d1ct-secret"
    assert ctx.evaluate("keystore.big") == KEYSTORE["big"]
    assert ctx.render_json({"k": "{{ keystore.obj }}"}) == {"k": KEYSTORE["obj"]}


# -- errors raised while rendering templates that use secrets ------------------------------
TEMPLATES = [
    # a secret in arithmetic, a conversion, a regular expression, a key, an attribute, an
    # index, a division, a range and a filter
    "{{ keystore.pw + 1 }}",
    "{{ int(keystore.pw) }}",
    "{{ match(keystore.pw ~ '(', 'x') }}",
    "{{ task[keystore.pw] }}",
    "{{ keystore.pw.x }}",
    "{{ keystore.pw[100] }}",
    "{{ keystore.pw / 2 }}",
    "{{ range(keystore.pin) }}",
    "{{ keystore.pw | int + [] }}",
    # every JSON type of secret, as a missing key (the message names the key)
    "{{ task[keystore.pin] }}",
    "{{ task[keystore.neg] }}",
    "{{ task[keystore.pi] }}",
    "{{ task[keystore.big] }}",
    "{{ task[keystore.list] }}",
    "{{ task[keystore.list[1]] }}",
    "{{ task[keystore.list[1][1].deep] }}",
    "{{ d[keystore.obj] }}",
    "{{ d[keystore.obj.token] }}",
    "{{ d[keystore['My Key']] }}",
    "{{ d[keystore.uni] }}",
    # secrets that a message spells with escapes
    "{{ task[keystore.quote] }}",
    "{{ task[keystore.nl] }}",
    "{{ task[keystore.tab] }}",
    "{{ d[keystore.quote ~ keystore.nl] }}",
    # secrets as the names of filters and tests, attribute names, widths, operands
    "{{ [1] | map(keystore.pw) | list }}",
    "{{ [1] | select(keystore.obj.token) | list }}",
    "{{ [1] | reject(keystore.quote) | list }}",
    "{{ [d] | map(attribute=keystore.pw) | first }}",
    "{{ [d, d] | sort(attribute=keystore.nl) }}",
    "{{ [d] | groupby(keystore.uni) }}",
    "{{ 'x' | truncate(keystore.pin) }}",
    "{{ 'x' | center(keystore.big) }}",
    "{{ 2 ** keystore.pin }}",
    "{{ keystore.big * 'ab' }}",
    "{{ keystore.pi + 'x' }}",
    "{{ keystore.list + 1 }}",
    "{{ keystore.obj + 1 }}",
    "{{ keystore.obj.token * keystore.obj.user }}",
    "{{ keystore.pw > 5 }}",
    "{{ keystore.list < 1 }}",
    "{{ '%d' | format(keystore.pw) }}",
    "{{ keystore.pw | format(keystore.pin) }}",
    "{{ keystore.pw | dictsort }}",
    "{{ keystore.obj | dictsort(by=keystore.pw) }}",
    "{{ keystore.pw() }}",
    "{{ keystore.obj.token(1) }}",
    "{{ nope(keystore.pw) }}",
    "{{ keys(keystore.pw) }}",
    "{{ lower(keystore.list) }}",
    "{{ split(keystore.pw, '') }}",
    "{{ keystore.pi // 0 }}",
    "{{ keystore.pin % 0 }}",
    "{{ keystore[keystore.pw] }}",
    "{% set s = keystore.pw %}{{ task[s] }}",
    "{% for a, b in keystore.list %}{% endfor %}",
    "{% for c in keystore.pin %}{% endfor %}",
    "{% macro m(x) %}{{ task[x] }}{% endmacro %}{{ m(keystore.obj.user) }}",
]
TEMPLATE_IDS = [f"{n:02d}" for n in range(len(TEMPLATES))]


def _entry_points(ctx: Any, template: str) -> list[tuple[str, Callable[[], Any]]]:
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("render_template", lambda: ctx.render_template(template)),
        ("render_template (Jinja2 path)",
         lambda: ctx.render_template("{% if true %}" + template + "{% endif %}")),
        ("render_template (with text)", lambda: ctx.render_template("pre " + template)),
        ("evaluate_condition (template)", lambda: ctx.evaluate_condition(template)),
        ("render_json", lambda: ctx.render_json(template)),
        ("render_json (nested)", lambda: ctx.render_json({"a": [1, {"b": template}]})),
        ("render_json (text)", lambda: ctx.render_json(template + " post")),
        ("publish_from_result",
         lambda: ctx.publish_from_result({"rc": 1}, ["whole"], {"o": template})),
        ("clone render", lambda: ctx.clone().render_template(template)),
    ]
    if template.startswith("{{") and template.endswith("}}") and "{%" not in template:
        expression = template[2:-2].strip()
        calls += [("evaluate", lambda: ctx.evaluate(expression)),
                  ("evaluate_condition", lambda: ctx.evaluate_condition(expression)),
                  ("evaluate (parenthesized)", lambda: ctx.evaluate(f"({expression})"))]
    return calls


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_IDS)
def test_errors_never_show_a_secret(ctx: Any, template: str) -> None:
    found: dict[str, list[str]] = {}
    for where, call in _entry_points(ctx, template):
        try:
            call()
        except ContextError as exc:
            for part, secrets in error_leaks(exc, getattr(exc, "template", None)).items():
                found.setdefault(f"{part} shows {secrets[-1]!r}", []).append(where)
        except BaseException as exc:  # noqa: BLE001 - raw exceptions are a failure too
            found.setdefault(f"raised {type(exc).__name__}, not a ContextError", []).append(
                where)
    assert found == {}, "\n".join(f"{what}  (from {', '.join(wheres)})"
                                   for what, wheres in found.items())
    assert ctx.render_template("{{ keystore.pw }}") == "hunter2-Secret"


def test_a_secret_that_is_part_of_the_template_text(wc_class: type) -> None:
    """The template names the same text as a keystore value: the message hides it anyway
    (``.template`` keeps the template as written)."""
    secret = "fetch-and-deploy"
    ctx = wc_class(None, {"x": 1}, keystore={"k": secret})
    ctx.set_task_result(secret, {"rc": 0})
    for template in ("{{ task['fetch-and-deploy'].missing }}",
                     "fetch-and-deploy: {{ nope }}",
                     "{% if true %}fetch-and-deploy: {{ x.missing }}{% endif %}",
                     "{{ 'fetch-and-deploy' + 1 }}",
                     "{{ 'fetch-and-deploy' +* 1 }}",        # a syntax error
                     "{% for %}fetch-and-deploy",            # another one
                     "{{ task[keystore.k].nope }}"):
        for call in (lambda: ctx.render_template(template),
                     lambda: ctx.render_json({"a": template}),
                     lambda: ctx.evaluate_condition(template)):
            with pytest.raises(ContextError) as err:
                call()
            shown = {where: text for where, text in (
                ("str", str(err.value)), ("args", repr(err.value.args)),
                ("path", repr(getattr(err.value, "path", ""))),
                ("traceback", "".join(traceback.format_exception(err.value))))
                if secret in text}
            assert shown == {}, (template, shown)
            # .template keeps the template as written (or the expression inside it)
            assert getattr(err.value, "template", template).strip() in template


def test_refused_secrets_are_not_shown(wc_class: type, ctx: Any) -> None:
    """A keystore value refused as not JSON is not quoted in the refusal."""
    for bad in ({"pw": b"hunter2-Secret"}, {"pw": ["ok", {"hunter2-Secret"}]},
                {"pw": bytearray(b"hunter2-Secret")}, {"pw": ("hunter2-Secret",)},
                {"hunter2-Secret": object()}, {"pw": {"deep-d1ct-secret": math.nan}},
                {"list": [["nested-l1st-secret", b"x"]]}):
        for call in (lambda: wc_class(keystore=bad), lambda: ctx.set_keystore(bad),
                     lambda: wc_class.from_export({"keystore": bad})):
            with pytest.raises(ContextError) as err:
                call()
            assert error_leaks(err.value) == {}, (bad, str(err.value))
    assert ctx.render_template("{{ keystore.pw }}") == "hunter2-Secret"


# -- logs ----------------------------------------------------------------------------------
class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records: list[logging.LogRecord] = []
        self.text = io.StringIO()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.text.write(self.format(record) + "\n")


def test_logs_never_show_a_secret(ctx: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("jinja2", "fastctx"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    log = logging.getLogger("executor")
    try:
        ctx.set_last_task_outcome({"rc": 1}, TaskOutcome.FAILED)
        ctx.render_template("{{ keystore.pw }}{{ keystore.obj.token }}")
        ctx.render_json({"a": "{{ keystore.list }}", "b": "{{ keystore.pin }}"})
        ctx.evaluate_condition("keystore.pw == 'x' or failed()")
        ctx.publish_from_result({"rc": 1}, (), {"ok": "{{ result().rc }}"})
        for template in TEMPLATES:
            for where, call in _entry_points(ctx, template)[1:2]:
                try:
                    call()
                except ContextError as exc:  # what an executor would log
                    log.exception("%s failed while rendering %r", where, template)
                    log.error("error: %s (%r)", exc, exc)
                    log.warning("error %s", exc, exc_info=exc, stack_info=False)
                    log.debug("attributes %r", vars(exc))
        log.info("context %r %s", ctx, ctx)
        log.info("export %s", ctx.export())
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert handler.records and caplog.records
    for record in handler.records:
        assert leaks(record.getMessage()) == [], record.getMessage()
    assert leaks(handler.text.getvalue()) == []
    assert leaks(caplog.text) == []
    fastctx_records = [record for record in handler.records
                       if record.name.startswith(("fastctx", "jinja2"))]
    for record in fastctx_records:
        assert leaks(repr(record.args)) == [], record.getMessage()


@pytest.mark.parametrize("secret", ["hunter2-\u00e9t\u00e9", "O'Reilly \"x\" \u2603", "tab\there"])
def test_no_spelling_of_a_secret_or_a_key_made_from_one_reaches_a_message(
        wc_class: type, secret: str) -> None:
    import json

    ctx = wc_class({"d": {"a": 1}}, keystore={"pw": secret})
    spellings = {secret, json.dumps(secret), ascii(secret), repr(secret),
                 secret.encode("unicode_escape").decode("ascii"), secret.upper()}
    for template in ("{{ parameters.d[keystore.pw] }}", "{{ parameters.d[keystore.pw|upper] }}",
                     "{{ parameters.d[keystore.pw ~ ''] }}", "{{ keystore[keystore.pw] }}",
                     "{% if true %}{{ parameters.d[keystore.pw|upper] }}{% endif %}"):
        with pytest.raises(ContextError) as caught:
            ctx.render_template(template)
        message = str(caught.value) + str(getattr(caught.value, "path", ""))
        for spelling in spellings:
            assert spelling.strip("'\"") not in message, (template, message)
