"""Server-side template injection: the well-known Jinja2 SSTI payloads are refused or harmless.

The corpus lives in ``tests/data/ssti_payloads.json`` (a list of ``{"payload", "note"}``) so it
can grow. Every payload goes through every entry point that renders user text — on both cores,
on whichever path the template takes and on the sandboxed Jinja2 path explicitly — and must
either raise a :class:`fastctx.ContextError` or render harmlessly: no Python object repr, no
memory address, no file-system path, no command output, no change to the stores.

A canary proves that nothing ran: while a render is in progress, Python's audit hooks and
wrappers around ``os.system``, ``os.popen``, the ``exec*``/``spawn*`` family,
``subprocess.Popen``, ``builtins.__import__``/``eval``/``exec``/``compile``/``open`` record
every call a successful payload would make (and refuse to do it).

Data is never re-evaluated: an item, a variable, a parameter, a task output or a task result
holding a payload comes out as exactly that text.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2.exceptions import SecurityError, TemplateSyntaxError

import fastctx
from fastctx import ContextError, TaskOutcome, _templating

CORPUS_FILE = Path(__file__).parent / "data" / "ssti_payloads.json"
CORPUS: list[dict[str, str]] = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
PAYLOADS = [entry["payload"] for entry in CORPUS]
IDS = [f"{n:03d}" for n in range(len(CORPUS))]


def test_corpus_is_well_formed() -> None:
    assert len(CORPUS) >= 60
    assert all(set(entry) == {"payload", "note"} for entry in CORPUS)
    assert all(type(entry["payload"]) is str and entry["payload"] for entry in CORPUS)
    assert len(set(PAYLOADS)) == len(PAYLOADS), "duplicate payloads"
    joined = "\n".join(PAYLOADS)
    for needle in ("__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__",
                   "__init__", "__import__", "cycler", "joiner", "lipsum", "namespace",
                   "range", "dict(", "self", "_TemplateReference__context", "config",
                   "request", "|attr(", "\\x5f\\x5f", "|format", ".format(", "format_map",
                   "{% set", "{% for", "{% macro", "loop.__class__", "caller", "super()",
                   "~", "[].__class__.__base__", "().__class__", "{}.items()", "''.join",
                   "map(attribute=", "selectattr", "sort(attribute='__class__')",
                   "groupby('__class__')"):
        assert needle in joined, needle


# -- what a harmless result may not contain ------------------------------------------------
def _path_pattern() -> str:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.getcwd(),
             str(Path(jinja2.__file__).parent), str(Path(fastctx.__file__).parent),
             str(Path.home())}
    return "|".join(re.escape(root) for root in sorted(roots, key=len, reverse=True)
                    if len(root) > 1)


#: Python object reprs, memory addresses, file-system paths, /etc/passwd and `id` output.
FORBIDDEN = re.compile(
    r"<(?:class|function|module|built-in|bound method|method|Macro|LoopContext|jinja2"
    r"|Undefined|generator|frame|code|cell|Context|TemplateReference)\b"
    r"|\bat 0x[0-9a-fA-F]+|subclasses|builtins|__globals__|root:x:0:0|uid=\d"
    r"|/etc/passwd|" + _path_pattern())
#: What no error message may show: addresses, file contents, command output.
FORBIDDEN_IN_ERRORS = re.compile(r"\bat 0x[0-9a-fA-F]+|root:x:0:0|uid=\d|<module ")


# -- the canary ----------------------------------------------------------------------------
_ARMED: dict[str, Any] = {"thread": None, "calls": None, "inspecting": False}
_HOOKED = False
#: Audit events no render has any business raising.
_DANGEROUS_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "os.remove", "os.rmdir", "os.rename", "os.truncate",
    "os.chmod", "os.chown", "os.putenv", "os.unsetenv", "os.chdir", "os.listdir",
    "os.scandir", "os.startfile", "os.link", "os.symlink", "os.mkdir", "os.utime",
    "subprocess.Popen", "pty.spawn", "shutil.", "socket.", "ctypes.", "builtins.input",
    "builtins.breakpoint", "code.__new__", "function.__new__", "sys._current_frames",
    "sys.setprofile", "sys.settrace", "sys.addaudithook", "cpython.run_", "webbrowser.",
    "urllib.Request", "pickle.find_class", "object.__setattr__", "object.__delattr__",
    "object.__getattr__",
)
_LIBRARY_ROOTS = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix,
                        str(Path(jinja2.__file__).parent.parent),
                        str(Path(fastctx.__file__).parent)})
#: Frames of the machinery a template's calls go through: a builtin called from one of them
#: was called by the template, not by a library's own ``import`` statement.
_MACHINERY = ("<template>", os.sep + "jinja2" + os.sep + "runtime.py",
              os.sep + "jinja2" + os.sep + "sandbox.py", os.sep + "jinja2" + os.sep + "filters.py",
              os.sep + "fastctx" + os.sep)
_SAFE_IMPORTS = ("jinja2", "fastctx", "markupsafe")


def _armed() -> bool:
    return _ARMED["thread"] is not None and _ARMED["thread"] == threading.get_ident()


def _record(what: str) -> None:
    _ARMED["calls"].append(what)


def _jinja_rewrites_a_traceback() -> bool:
    """Jinja2's ``debug.rewrite_traceback_stack`` (run when ``get_template`` fails) compiles
    and executes a ``raise`` statement and walks traceback frames: its own business."""
    _ARMED["inspecting"] = True
    try:
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.endswith(_JINJA_DEBUG):
                return True
            frame = frame.f_back
        return False
    finally:
        _ARMED["inspecting"] = False


_JINJA_DEBUG = os.sep + "jinja2" + os.sep + "debug.py"


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _ARMED["thread"] is None or _ARMED["thread"] != threading.get_ident() \
            or _ARMED["inspecting"]:
        return
    if event in ("compile", "exec", "code.__new__", "object.__getattr__") \
            and _jinja_rewrites_a_traceback():
        return
    if event.startswith(_DANGEROUS_EVENTS):
        _record(f"audit {event} {str(args)[:200]}")
    elif event == "open":
        path = str(args[0])
        if not (path.endswith((".py", ".pyc", ".so")) and path.startswith(_LIBRARY_ROOTS)):
            _record(f"audit open {path!r}")
    elif event == "compile":
        filename = str(args[1]) if len(args) > 1 else ""
        if filename != "<template>" and not filename.endswith(".py"):
            _record(f"audit compile {filename!r} {str(args[0])[:100]}")
    elif event == "exec":
        filename = getattr(args[0], "co_filename", "")
        if filename != "<template>" and not filename.endswith(".py"):
            _record(f"audit exec {filename!r}")


def _caller_file(depth: int = 2) -> str:
    """The file of the code that called the wrapped builtin (the canary's own frame
    inspection is not reported by the audit hook)."""
    _ARMED["inspecting"] = True
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:
        return ""
    finally:
        _ARMED["inspecting"] = False


def _from_machinery(filename: str) -> bool:
    return filename == "<template>" or any(part in filename for part in _MACHINERY[1:])


def _shown(args: tuple[Any, ...]) -> str:
    try:
        return repr(args)[:200]
    except Exception:  # noqa: BLE001 - a half-built object
        return repr([type(arg).__name__ for arg in args])


def _spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` wrapped: while armed, a call is recorded and not made."""

    def spy(*args: Any, **kwargs: Any) -> Any:
        if _armed():
            _record(f"{name}{_shown(args)}")
            raise RuntimeError(f"canary: {name} called from a render")
        return original(*args, **kwargs)

    return spy


def _popen_spy(original: Callable[..., Any]) -> Callable[..., Any]:
    def spy(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        if _armed():
            self._child_created = False  # so that Popen.__del__ has nothing to clean up
            _record(f"subprocess.Popen{_shown(args)}")
            raise RuntimeError("canary: subprocess.Popen called from a render")
        original(self, *args, **kwargs)

    return spy


def _builtin_spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin wrapped: recorded when the template machinery calls it."""

    def spy(*args: Any, **kwargs: Any) -> Any:
        if _armed():
            caller = _caller_file()
            if name == "__import__":
                module = str(args[0]) if args else ""
                level = args[4] if len(args) > 4 else kwargs.get("level", 0)
                if _from_machinery(caller) and level == 0 \
                        and not module.startswith(_SAFE_IMPORTS):
                    _record(f"__import__({module!r}) from {caller}")
                    raise RuntimeError("canary: __import__ called from a render")
            elif _from_machinery(caller):
                _record(f"{name}{_shown(args)} from {caller}")
                raise RuntimeError(f"canary: {name} called from a render")
        return original(*args, **kwargs)

    return spy


@pytest.fixture(scope="module")
def _spies() -> Iterator[list[str]]:
    """Install the canary's wrappers once for the module; they record nothing unless armed."""
    global _HOOKED
    if not _HOOKED:  # audit hooks cannot be removed: it does nothing unless armed
        sys.addaudithook(_audit)
        _HOOKED = True
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("system", "popen", "execv", "execve", "execl", "execlp", "execvp",
                     "execvpe", "spawnv", "spawnve", "spawnl", "spawnlp", "posix_spawn",
                     "posix_spawnp", "fork", "forkpty", "kill", "remove", "unlink", "rmdir",
                     "putenv"):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, _spy(f"os.{name}", getattr(os, name)))
        monkeypatch.setattr(subprocess.Popen, "__init__", _popen_spy(subprocess.Popen.__init__))
        for name in ("run", "call", "check_output", "check_call", "getoutput",
                     "getstatusoutput"):
            monkeypatch.setattr(subprocess, name, _spy(f"subprocess.{name}",
                                                       getattr(subprocess, name)))
        for name in ("__import__", "eval", "exec", "compile", "open", "input", "breakpoint"):
            monkeypatch.setattr(builtins, name, _builtin_spy(name, getattr(builtins, name)))
        yield []


@pytest.fixture
def canary(_spies: list[str]) -> Iterator[Callable[[], Any]]:
    """``with canary():`` arms the canary for the calls inside; the test fails if it fired."""
    calls = _spies
    calls.clear()

    @contextlib.contextmanager
    def armed() -> Iterator[None]:
        _ARMED["calls"] = calls
        _ARMED["thread"] = threading.get_ident()
        try:
            yield
        finally:
            _ARMED["thread"] = None

    yield armed
    _ARMED["thread"] = None
    fired = list(calls)
    calls.clear()
    assert fired == [], f"the canary fired: {fired}"


def test_canary_fires(canary: Callable[[], Any]) -> None:
    """The canary sees what a successful payload would do (and stops it)."""
    with canary():
        with pytest.raises(RuntimeError):
            os.system("true")
        with pytest.raises(RuntimeError):
            subprocess.Popen(["true"])
        with pytest.raises(RuntimeError):
            _call_from_template_machinery(builtins.eval, "1")
        with pytest.raises(RuntimeError):
            _call_from_template_machinery(builtins.__import__, "os")
    assert any("os.system" in call for call in _ARMED["calls"])
    assert any("subprocess.Popen" in call for call in _ARMED["calls"])
    assert any("eval" in call for call in _ARMED["calls"])
    assert any("__import__('os')" in call for call in _ARMED["calls"])
    _ARMED["calls"].clear()  # the fixture asserts that nothing fired


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.system('true') }}",
    "{{ lipsum.__globals__['__builtins__']['__import__']('subprocess').Popen(['true']) }}",
    "{{ joiner.__init__.__globals__['__builtins__']['eval']('1') }}",
    "{{ self._TemplateReference__context.namespace.__init__.__globals__.os.popen('true') }}",
])
def test_canary_catches_an_unsandboxed_escape(canary: Callable[[], Any], payload: str) -> None:
    """The same payloads against plain (unsandboxed) Jinja2 do get through, and the canary
    sees them: a payload that got through fastctx's sandbox would be seen too."""
    with canary(), pytest.raises(RuntimeError, match="canary"):
        jinja2.Environment().from_string(payload).render()
    assert _ARMED["calls"], "the canary did not fire"
    _ARMED["calls"].clear()


def _call_from_template_machinery(function: Callable[..., Any], *args: Any) -> Any:
    """Call ``function`` from a frame that looks like compiled template code."""
    code = compile("result = function(*args)", "<template>", "exec")
    namespace = {"function": function, "args": args}
    builtins.exec(code, namespace)  # exec itself is called from this test file: allowed
    return namespace["result"]


def test_canary_ignores_a_plain_render(wc_class: type, canary: Callable[[], Any]) -> None:
    ctx = wc_class({"n": 3}, {"x": {"a": [1, 2]}})
    with canary():
        assert ctx.render_template(
            "{% for i in range(parameters.n) %}{{ i|string|upper }}{{ x.a|tojson }}{% endfor %}"
            "{{ '%05d'|format(7) }}{{ x|string }}{{ [1, 2]|map('string')|join(',') }}"
        ) == '0[1, 2]1[1, 2]2[1, 2]00007{"a":[1,2]}1,2'
        assert ctx.evaluate("x.a|sum + parameters.n") == 6
        with pytest.raises(ContextError):
            ctx.render_template("{{ nope.x }}")


# -- the payloads --------------------------------------------------------------------------
@pytest.fixture
def ctx(wc_class: type) -> Any:
    ctx = wc_class({"p": "param", "n": 2}, {"x": {"a": 1}, "v": "value"},
                   pack_config={"api_url": "https://example.invalid"},
                   keystore={"pw": "hunter2-Secret"})
    ctx.set_task_result("fetch", {"rc": 0, "out": "ok"})
    ctx.set_last_task_outcome({"rc": 0}, TaskOutcome.SUCCEEDED)
    return ctx


def _check_text(where: str, text: Any, problems: list[str]) -> None:
    if type(text) is not str:
        problems.append(f"{where}: rendered a {type(text).__name__}, not a str: {text!r:.200}")
        return
    found = FORBIDDEN.search(text)
    if found:
        problems.append(f"{where}: output shows {found.group(0)!r}: {text!r:.300}")


def _not_data(value: Any) -> str | None:
    """The type of the first thing in ``value`` that is not JSON-shaped data (a tuple counts
    as an array), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in (str, int, float, bool, type(None)):
            continue
        if kind is dict:
            if any(type(key) is not str for key in item):
                return "dict with a key that is not a string"
            stack.extend(item.values())
        elif kind in (list, tuple) or (isinstance(item, tuple) and hasattr(item, "_fields")):
            stack.extend(item)
        else:
            return kind.__name__
    return None


def _check_value(where: str, value: Any, problems: list[str]) -> None:
    kind = _not_data(value)
    if kind is not None:
        problems.append(f"{where}: the value holds a {kind}, not data: {value!r:.200}")
        return
    _check_text(where, json.dumps(value, ensure_ascii=False), problems)


def _attempt(where: str, call: Callable[[], Any], check: Callable[..., None],
             problems: list[str]) -> None:
    try:
        value = call()
    except ContextError as exc:
        found = FORBIDDEN_IN_ERRORS.search(str(exc))
        if found:
            problems.append(f"{where}: the error message shows {found.group(0)!r}: {exc}")
        return
    except BaseException as exc:  # noqa: BLE001 - anything but a ContextError is a failure
        problems.append(f"{where}: raised {type(exc).__name__} (not a ContextError): {exc}")
        return
    check(where, value, problems)


def _jinja_path(source: str, is_expression: bool) -> Any:
    """The sandboxed Jinja2 program (never the compiled form) if the entry points did not
    already run one, or None: Jinja2's parser refuses the source (then no path can run it),
    or the cached program is that one."""
    cache = _templating.EXPRESSIONS if is_expression else _templating.TEMPLATES
    if isinstance(cache.get(source), _templating.JinjaProgram):
        return None
    try:
        return _templating.jinja_only(source, is_expression)
    except (TemplateSyntaxError, SecurityError, ContextError):
        return None


def _bool_check(where: str, value: Any, problems: list[str]) -> None:
    if type(value) is not bool:
        problems.append(f"{where}: a condition gave {value!r:.200}, not a bool")


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_payload_is_refused_or_harmless(ctx: Any, payload: str,
                                        canary: Callable[[], Any]) -> None:
    before = ctx.export(include_secrets=True)
    expression = _templating.pure_expression(payload)
    problems: list[str] = []
    view = ctx.with_item({"name": "i"}, 0)
    with canary():
        _attempt("render_template", lambda: ctx.render_template(payload), _check_text, problems)
        _attempt("render_template (item view)", lambda: view.render_template(payload),
                 _check_text, problems)
        program = _jinja_path(payload, False)
        if program is not None:
            _attempt("Jinja2 path render", lambda: program.render(ctx), _check_text, problems)
        _attempt("render_json", lambda: ctx.render_json(payload), _check_value, problems)
        _attempt("render_json (nested)",
                 lambda: ctx.render_json({"k": [payload, "pre " + payload]}), _check_value,
                 problems)
        _attempt("evaluate_condition (template)", lambda: ctx.evaluate_condition(payload),
                 _bool_check, problems)
        clone = copy.deepcopy(ctx)  # its own stores: "out" is this payload's only
        _attempt("publish_from_result",
                 lambda: clone.publish_from_result({"rc": 0}, (), {"out": payload}),
                 lambda *args: None, problems)
        if "out" in clone.variables:
            _check_value("published value", clone.get_var("out"), problems)
        if expression is not None:
            _attempt("evaluate", lambda: ctx.evaluate(expression), _check_value, problems)
            _attempt("evaluate (item view)", lambda: view.evaluate(expression), _check_value,
                     problems)
            _attempt("evaluate_condition", lambda: ctx.evaluate_condition(expression),
                     _bool_check, problems)
            program = _jinja_path(expression, True)
            if program is not None:
                _attempt("Jinja2 path evaluate", lambda: program.evaluate(ctx), _check_value,
                         problems)
    assert problems == [], "\n".join(problems)
    # Nothing was changed: the sandbox is immutable, and a refused publish publishes nothing.
    assert ctx.export(include_secrets=True) == before
    assert ctx.render_template("{{ x.a }} {{ v }}") == "1 value"


# -- data is never re-evaluated ------------------------------------------------------------
@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_data_holding_a_payload_is_text(wc_class: type, payload: str,
                                        canary: Callable[[], Any]) -> None:
    ctx = wc_class({"p": payload, "nested": {"list": [payload]}}, {"v": payload})
    ctx.set_task_result("t", {"out": payload, "lines": [payload, payload]})
    ctx.set_system("s", payload)
    view = ctx.with_item(payload, 0)
    view.set_last_task_outcome({"out": payload}, TaskOutcome.FAILED)
    obj_view = ctx.with_item({"text": payload}, 1)
    with canary():
        for template in ("{{ item }}", "{% for _ in [1] if 1 %}{{ item }}{% endfor %}", "{{ v }}",
                         "{{ task.t.out }}", "{{ tasks.t.lines[1] }}", "{{ parameters.p }}",
                         "{{ parameters.nested.list[0] }}", "{{ system.s }}",
                         "{{ workflow.v }}", "{{ vars['v'] }}", "{{ item ~ '' }}",
                         "{{ [item]|first }}", "{{ item|string }}", "{{ result().out }}",
                         "{% set x = item %}{{ x }}", "{% for l in [item] %}{{ l }}{% endfor %}",
                         "{{ item if true else 1 }}", "{{ (item, 1)[0] }}"):
            assert view.render_template(template) == payload, template
        assert view.render_template("<{{ item }}>") == f"<{payload}>"
        assert obj_view.render_template("{{ item.text }}") == payload
        assert obj_view.render_template(
            "{% for _ in [1] if 1 %}{{ item.text }}{% endfor %}") == payload
        for expression in ("item", "v", "task.t.out", "parameters.p", "result().out",
                           "item ~ ''", "[item][0]", "(item|list)|join"):
            assert view.evaluate(expression) == payload, expression
        assert view.evaluate_condition("item == v and task.t.out == parameters.p")
        assert view.evaluate_condition("{{ item == v }}")
        assert view.render_json("{{ item }}") == payload
        assert view.render_json({"a": ["{{ task.t.out }}", "{{ v }}!"]}) == \
            {"a": [payload, payload + "!"]}
        assert view.render_json("{{ [item, v] }}") == [payload, payload]
        view.publish_from_result({"out": payload}, ["whole"], {"o": "{{ result().out }}"})
        assert ctx.get_var("o") == payload
        assert ctx.get_var("whole") == {"out": payload}
        assert ctx.render_template("{{ o }}|{{ whole.out }}") == f"{payload}|{payload}"
        exported = ctx.export()
        assert exported["variables"]["v"] == payload
        clone = wc_class.from_export(exported).with_item(payload, 0)
        assert clone.render_template("{{ item }}{{ v }}") == payload + payload
