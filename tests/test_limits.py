"""Resource limits: every render and import is bounded, fast, and says which limit it hit.

Two kinds of tests:

- in-process, fast: each limit of ``fastctx.limits`` set low with ``configure`` is enforced on
  the compiled/fast path and on the Jinja2 path with a ``LimitExceeded`` naming it, a raised
  limit lets the bigger render pass, and ``configure`` restores what it changed;
- ``slow``: each limit at its default and the classic bombs, each run in a child process with a
  timeout (so that the suite cannot hang) on both cores. The child reports the wall time of the
  call and its peak RSS growth (``ru_maxrss``); its address space is capped at 1 GiB above
  what it uses at the start, so that a runaway allocation fails there (as a MemoryError, which
  is a failure of the test: no limit stopped it) instead of taking the machine's memory.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from core_fixtures import compiled_core_untested
from nesting import nest, nest_dict

from fastctx import ContextError, LimitExceeded, _templating, limits

LIMIT_NAMES = [field.name for field in dataclasses.fields(limits.Limits)]
DEFAULTS = dataclasses.asdict(limits.Limits())


@pytest.fixture(autouse=True)
def restore_limits() -> Iterator[None]:
    before = dataclasses.asdict(limits.LIMITS)
    yield
    limits.configure(**before)




def assert_limit(error: BaseException, name: str) -> None:
    assert isinstance(error, LimitExceeded), f"{type(error).__name__}: {error}"
    assert error.limit == name, f"limit {error.limit!r}, expected {name!r}: {error}"
    assert name in str(error), str(error)


# -- configure -----------------------------------------------------------------------------
def test_defaults_are_documented_values() -> None:
    documented = {
        "max_output": 1_000_000, "max_template_length": 100_000, "max_range": 100_000,
        "max_repeat": 1_000_000, "max_power": 1_000, "max_depth": 100, "max_recursion": 50,
        "max_loop_iterations": 1_000_000,
    }
    assert {name: DEFAULTS[name] for name in documented} == documented
    assert dataclasses.asdict(limits.LIMITS) == DEFAULTS


@pytest.mark.parametrize("name", LIMIT_NAMES)
def test_configure_changes_and_restores(name: str) -> None:
    old = limits.configure(**{name: 7})
    assert old == {name: DEFAULTS[name]}
    assert getattr(limits.LIMITS, name) == 7
    assert limits.configure(**old) == {name: 7}
    assert dataclasses.asdict(limits.LIMITS) == DEFAULTS


@pytest.mark.parametrize("value", [0, -1, 1.5, "10", None, True])
def test_configure_refuses_bad_values(value: Any) -> None:
    with pytest.raises(ValueError):
        limits.configure(max_output=value)
    assert dataclasses.asdict(limits.LIMITS) == DEFAULTS


def test_configure_refuses_unknown_names_and_changes_nothing() -> None:
    with pytest.raises(TypeError, match="max_nope"):
        limits.configure(max_output=5, max_nope=1)
    with pytest.raises(ValueError):
        limits.configure(max_output=5, max_range=0)
    assert dataclasses.asdict(limits.LIMITS) == DEFAULTS


# -- each limit, set low, in-process -------------------------------------------------------
def _raises_limit(call: Any, name: str, what: str = "") -> None:
    try:
        value = call()
    except ContextError as exc:
        assert_limit(exc, name)
    else:
        pytest.fail(f"{name} not enforced: {what or call} gave {value!r:.100}")


def test_max_output(wc_class: type) -> None:
    ctx = wc_class(None, {"big": "x" * 60, "items": list(range(10))})
    limits.configure(max_output=100)
    for template in ("{{ 'x' * 101 }}",                           # compiled expression
                     "{{ big }}{{ big }}",                         # fast path: look-ups only
                     "{{ big ~ big }}",                            # '~'
                     "{% for _ in [1] if 1 %}{{ big }}{{ big }}{% endfor %}",  # Jinja2 path
                     "{% for i in range(101) %}x{% endfor %}",
                     "{{ (big ~ '|')|replace('|', big) }}",
                     "{{ replace(big, 'x', 'yy') }}",
                     "{{ items|join(big) }}",
                     "{{ join(items, big) }}",
                     "{{ [big, big] }}"):
        _raises_limit(lambda: ctx.render_template(template), "max_output", template)
    _raises_limit(lambda: ctx.render_json({"a": ["{{ big }}{{ big }}"]}), "max_output")
    _raises_limit(lambda: ctx.evaluate("big ~ big"), "max_output")
    limits.configure(max_output=200)
    assert ctx.render_template("{{ big }}{{ big }}") == "x" * 120
    assert ctx.render_template("{% for _ in [1] if 1 %}{{ big }}{{ big }}{% endfor %}") == "x" * 120


def test_max_template_length(wc_class: type, implementation: str) -> None:
    ctx = wc_class(None, {"v": 1})
    limits.configure(max_template_length=50)
    # Not rendered by any other test: a cached template is another test's business.
    long_template = "{{ v }}" + implementation + "x" * 50
    long_expression = "v" + " + 1" * 20 + (" + 0" if implementation == "cython" else " - 0")
    _raises_limit(lambda: ctx.render_template(long_template), "max_template_length")
    _raises_limit(lambda: ctx.evaluate(long_expression), "max_template_length")
    _raises_limit(lambda: ctx.evaluate_condition(long_expression), "max_template_length")
    _raises_limit(lambda: ctx.evaluate_condition(long_template), "max_template_length")
    _raises_limit(lambda: ctx.render_json({"a": long_template}), "max_template_length")
    _raises_limit(lambda: ctx.render_json("{{ " + long_expression + " }}"),
                  "max_template_length")
    limits.configure(max_template_length=100)
    assert ctx.render_template(long_template) == "1" + implementation + "x" * 50
    assert ctx.evaluate(long_expression) == 21


def test_max_template_length_applies_to_cached_templates(wc_class: type,
                                                         implementation: str) -> None:
    """A template rendered (and cached) before the limit was lowered is refused after."""
    ctx = wc_class(None, {"v": 1})
    template = "{{ v }} cached-before-lowering " + implementation + "y" * 40
    expression = "v + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13" + \
        (" + 0" if implementation == "cython" else " - 0")
    assert ctx.render_template(template).startswith("1 cached")
    assert ctx.evaluate(expression) == 92
    limits.configure(max_template_length=20)
    _raises_limit(lambda: ctx.render_template(template), "max_template_length")
    _raises_limit(lambda: ctx.evaluate(expression), "max_template_length")


def test_max_range(wc_class: type) -> None:
    ctx = wc_class()
    limits.configure(max_range=10)
    for call in (lambda: ctx.render_template("{{ range(11) }}"),
                 lambda: ctx.evaluate("range(11)"),
                 lambda: ctx.evaluate("range(0, 22, 2)|length"),
                 lambda: ctx.render_template("{% for i in range(11) %}{% endfor %}"),
                 lambda: ctx.render_template("{{ range(10**12) }}")):
        _raises_limit(call, "max_range")
    assert ctx.evaluate("range(10)") == list(range(10))
    limits.configure(max_range=11)
    assert ctx.evaluate("range(11)") == list(range(11))


def test_max_repeat(wc_class: type) -> None:
    ctx = wc_class(None, {"s": "ab"})
    limits.configure(max_repeat=10)
    for template in ("{{ 'a' * 11 }}", "{{ 6 * s }}", "{{ [1] * 11 }}", "{{ [1, 2] * 6 }}",
                     "{% for _ in [1] if 1 %}{{ s * 6 }}{% endfor %}", "{{ 'x'|center(11) }}",
                     "{{ 'x'|indent(11) }}", "{{ '%11d'|format(1) }}", "{{ '%-11s'|format(1) }}",
                     "{{ '%.11f'|format(1.5) }}", "{{ '%*d'|format(11, 1) }}",
                     "{{ '%(a)11d'|format(a=1) }}"):
        _raises_limit(lambda: ctx.render_template(template), "max_repeat", template)
    _raises_limit(lambda: ctx.evaluate("s * 6"), "max_repeat")
    assert ctx.evaluate("s * 5") == "ab" * 5
    limits.configure(max_repeat=12)
    assert ctx.evaluate("s * 6") == "ab" * 6
    assert ctx.render_template("{{ '%11d'|format(1) }}") == "%11d" % 1


def test_max_power(wc_class: type) -> None:
    ctx = wc_class(None, {"e": 11})
    limits.configure(max_power=10)
    for call in (lambda: ctx.render_template("{{ 2 ** 11 }}"),
                 lambda: ctx.evaluate("2 ** e"),
                 lambda: ctx.render_template("{% for _ in [1] if 1 %}{{ 3 ** e }}{% endfor %}"),
                 lambda: ctx.evaluate("9 ** (9 ** 9)")):
        _raises_limit(call, "max_power")
    assert ctx.evaluate("2 ** 10") == 1024
    assert ctx.evaluate("1 ** 10**9") == 1  # a harmless base
    limits.configure(max_power=11)
    assert ctx.evaluate("2 ** e") == 2048


def test_max_power_bounds_the_result_not_only_the_exponent(wc_class: type) -> None:
    """Powers of powers: each exponent is within max_power, the result is not."""
    ctx = wc_class()
    limits.configure(max_power=10)
    _raises_limit(lambda: ctx.evaluate("((10 ** 10) ** 10) ** 10"), "max_power")


def test_max_depth(wc_class: type) -> None:
    ctx = wc_class(None, {"ok": nest(5)})
    limits.configure(max_depth=5)
    deep, deep_dict = nest(6), nest_dict(6)
    for call in (lambda: ctx.set_var("x", deep),
                 lambda: ctx.set_var("x", deep_dict),
                 lambda: ctx.set_task_result("t", {"a": deep}),
                 lambda: ctx.set_system("s", deep),
                 lambda: ctx.set_pack_config({"a": deep}),
                 lambda: ctx.set_keystore({"a": deep}),
                 lambda: ctx.publish_from_result(deep, "x"),
                 lambda: ctx.render_json(nest(6, "{{ 1 }}")),
                 lambda: wc_class(None, {"a": deep}),
                 lambda: wc_class.from_export({"variables": {"a": deep}}),
                 lambda: wc_class.from_export({"task_results": {"t": deep_dict}}),
                 lambda: wc_class.rebuild(None, None, {"t": deep})):
        _raises_limit(call, "max_depth")
    assert "x" not in ctx.variables and "t" not in ctx.task_results
    limits.configure(max_depth=10)
    ctx.set_var("x", deep)
    assert ctx.render_json(nest(6, "{{ 1 }}")) == nest(6, 1)


def test_max_recursion_of_macros(wc_class: type) -> None:
    ctx = wc_class()
    limits.configure(max_recursion=5)
    template = ("{% macro f(n) %}{% if n < 6 %}{{ f(n + 1) }}{% else %}{{ n }}{% endif %}"
                "{% endmacro %}{{ f(0) }}")
    _raises_limit(lambda: ctx.render_template(template), "max_recursion")
    _raises_limit(lambda: ctx.render_template(
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), "max_recursion")
    _raises_limit(lambda: ctx.render_template(
        "{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}"
        "{{ a(0) }}"), "max_recursion")
    _raises_limit(lambda: ctx.render_template(
        "{% macro f() %}{{ caller() }}{% endmacro %}"
        "{% macro g(n) %}{% call f() %}{{ g(n + 1) }}{% endcall %}{% endmacro %}{{ g(0) }}"),
        "max_recursion")
    limits.configure(max_recursion=10)
    assert ctx.render_template(template) == "6"


def test_max_loop_iterations(wc_class: type) -> None:
    ctx = wc_class()
    limits.configure(max_loop_iterations=100)
    _raises_limit(lambda: ctx.render_template(
        "{% for a in range(11) %}{% for b in range(10) %}{% endfor %}{% endfor %}"),
        "max_loop_iterations")
    _raises_limit(lambda: ctx.render_template(
        "{% macro f() %}{% for b in range(10) %}{% endfor %}{% endmacro %}"
        "{% for a in range(11) %}{{ f() }}{% endfor %}"), "max_loop_iterations")
    assert ctx.render_template(
        "{% for a in range(10) %}{% for b in range(9) %}{% endfor %}{% endfor %}") == ""
    limits.configure(max_loop_iterations=200)
    assert ctx.render_template(
        "{% for a in range(11) %}{% for b in range(10) %}{% endfor %}{% endfor %}") == ""


def test_limits_are_per_render(wc_class: type) -> None:
    """The loop budget and the macro depth start afresh with each render."""
    ctx = wc_class()
    limits.configure(max_loop_iterations=100, max_recursion=5)
    for _ in range(3):
        assert ctx.render_template("{% for a in range(90) %}{% endfor %}") == ""
        assert ctx.render_template(
            "{% macro f(n) %}{% if n < 4 %}{{ f(n + 1) }}{% endif %}{% endmacro %}{{ f(0) }}"
        ) == ""


# -- the bombs, at the default limits, in a child process ----------------------------------
CHILD = r"""
import json, os, resource, signal, sys, time

implementation, setup, action = sys.argv[1], sys.argv[2], sys.argv[3]
alarm, cpu_cap, memory_cap = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])


class Alarm(BaseException):
    pass


def on_alarm(*_):
    raise Alarm()


import fastctx
from fastctx import ContextError
from fastctx._impl import context_class

wc_class = context_class(implementation)
ctx = wc_class({"p": 1}, {"v": "x"})


def nest(depth, leaf=0):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nest_dict(depth):
    value = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


R, E, J = ctx.render_template, ctx.evaluate, ctx.render_json
namespace = dict(globals())
exec(setup, namespace)
# A runaway allocation fails (MemoryError) instead of taking the machine's memory, and a
# runaway computation stuck in one C call is killed (SIGXCPU) after cpu_cap seconds of CPU.
try:
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size + memory_cap, resource.RLIM_INFINITY))
except (OSError, ValueError):
    pass
limit = int(cpu() + cpu_cap) + 1
resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))
signal.signal(signal.SIGPROF, on_alarm)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {"implementation": implementation}
start, start_cpu = time.perf_counter(), cpu()
signal.setitimer(signal.ITIMER_PROF, alarm)  # CPU time: a loaded machine does not trip it
try:
    value = eval(action, namespace)
    out["outcome"] = "value"
    out["value"] = repr(value)[:200]
except Alarm:
    out["outcome"] = "alarm"
except BaseException as exc:
    out["outcome"] = "error"
    out["type"] = type(exc).__name__
    out["context_error"] = isinstance(exc, ContextError)
    out["limit"] = getattr(exc, "limit", None)
    out["message"] = str(exc)[:400]
finally:
    signal.setitimer(signal.ITIMER_PROF, 0)
out["cpu_seconds"] = cpu() - start_cpu
out["seconds"] = time.perf_counter() - start
out["rss_growth_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps(out))
"""

#: CPU time a limit may take to stop a bomb ("within a second or two"). CPU, not wall time:
#: the wall time is reported too, but a loaded CI machine stretches it.
MAX_SECONDS = 2.0
#: Peak RSS growth allowed while doing so ("a few hundred MB").
MAX_GROWTH_MB = 300
#: The child interrupts a bomb (between bytecodes) after this much CPU time...
ALARM_SECONDS = 2.5
#: ...the kernel kills it (SIGXCPU) after this much (a bomb stuck in one C call)...
CPU_CAP_SECONDS = 4.0
#: ...and its address space may grow by this much (then allocations fail).
MEMORY_CAP = 512 << 20
#: The wall-clock backstop.
KILL_SECONDS = 60.0

ANY = ("*",)  # any ContextError, as long as it is fast and small
HARMLESS = ()  # a value or any ContextError, as long as it is fast and small

#: (id, action, limits it may name, setup). ``R``/``E``/``J`` are the context's
#: render_template/evaluate/render_json; ``nest``/``nest_dict`` build deep documents.
BOMBS: list[tuple[str, str, tuple[str, ...], str]] = [
    # max_output
    ("output-loop", "R('{% for i in range(100000) %}{{ \"x\" * 100 }}{% endfor %}')",
     ("max_output",), ""),
    ("output-concat", "R('{{ \"a\" * 900000 ~ \"b\" * 900000 }}')", ("max_output",), ""),
    ("output-fast-path", "R('{{ big }}' * 1000)", ("max_output",),
     "ctx.set_var('big', 'x' * 900000)"),
    ("output-list-of-references", "R('{{ [\"x\" * 1000000] * 1000 }}')",
     ("max_output", "max_repeat"), ""),
    ("output-join-filter", "R('{{ range(1000)|join(\"x\" * 1000000) }}')", ("max_output",), ""),
    ("output-join-helper", "R('{{ join(range(1000), \"x\" * 1000000) }}')", ("max_output",), ""),
    ("replace-filter", "R('{{ (\"x\" * 2000)|replace(\"x\", \"y\" * 1000) }}')",
     ("max_output",), ""),
    ("replace-helper", "R('{{ replace(\"x\" * 2000, \"x\", \"y\" * 1000) }}')",
     ("max_output",), ""),
    ("replace-empty-old", "R('{{ (\"x\" * 1000)|replace(\"\", \"y\" * 10000) }}')",
     ("max_output",), ""),
    ("string-doubling-macro",
     "R('{% macro f(s, n) %}{{ f(s ~ s, n + 1) }}{% endmacro %}{{ f(\"x\", 0) }}')",
     ("max_output", "max_recursion"), ""),
    ("list-doubling-macro",
     "R('{% macro f(l, n) %}{{ f(l + l, n + 1) }}{% endmacro %}{{ f([1], 0) }}')",
     ("max_output", "max_recursion"), ""),
    # max_template_length
    ("template-1mb", "R('x' * 1_000_001)", ("max_template_length",), ""),
    ("template-1mb-of-tags", "R('{{ v }}' * 150_000)", ("max_template_length",), ""),
    ("expression-1mb", "E('1' + ' + 1' * 250_000)", ("max_template_length",), ""),
    ("render-json-1mb-string", "J({'a': ['{{ v }}' + 'x' * 1_000_000]})",
     ("max_template_length",), ""),
    # max_range
    ("range-huge", "R('{{ range(10**12) }}')", ("max_range",), ""),
    ("range-loop", "R('{% for i in range(10**12) %}{% endfor %}')", ("max_range",), ""),
    ("range-evaluate", "E('range(0, 10**12, 1)')", ("max_range",), ""),
    # max_repeat
    ("repeat-string", "R('{{ \"a\" * 10**10 }}')", ("max_repeat",), ""),
    ("repeat-list", "R('{{ [1] * 10**9 }}')", ("max_repeat",), ""),
    ("center-width", "R('{{ \"x\"|center(10**10) }}')", ("max_repeat",), ""),
    ("format-width", "R('{{ \"%999999999d\"|format(1) }}')", ("max_repeat",), ""),
    ("format-precision", "R('{{ \"%.999999999f\"|format(1.0) }}')", ("max_repeat",), ""),
    ("format-width-mapping-key", "R('{{ \"%(a)999999999d\"|format(a=1) }}')",
     ("max_repeat",), ""),
    ("str-format-method", "R('{{ \"{:>999999999}\".format(1) }}')", ANY, ""),
    ("format-map-method", "R('{{ \"{a:>999999999}\".format_map({\"a\": 1}) }}')", ANY, ""),
    ("slice-filter-count", "R('{{ [1]|slice(10**8)|list|length }}')", ANY, ""),
    # max_power
    ("power-operand", "R('{{ 2 ** (10**8) }}')", ("max_power",), ""),
    ("power-tower", "R('{{ 9 ** (9 ** 9) }}')", ("max_power",), ""),
    ("power-left-associative-2", "R('{{ 2 ** 10**8 }}')", HARMLESS, ""),
    ("power-left-associative-9", "R('{{ 9**9**9 }}')", HARMLESS, ""),
    ("power-of-powers", "R('{{ ((10**1000)**1000)**1000 }}')", ("max_power",), ""),
    ("int-squaring-macro",
     "R('{% macro f(x, n) %}{% if n < 40 %}{{ f(x * x, n + 1) }}{% endif %}{% endmacro %}"
     "{{ f(10**1000, 0) }}')", ANY, ""),
    # max_depth
    ("render-json-10000-deep", "J(nest(10000))", ("max_depth",), ""),
    ("render-json-10000-deep-dict", "J(nest_dict(10000))", ("max_depth",), ""),
    ("set-var-10000-deep", "ctx.set_var('x', nest(10000))", ("max_depth",), ""),
    ("set-task-result-10000-deep", "ctx.set_task_result('t', nest_dict(10000))",
     ("max_depth",), ""),
    ("constructor-10000-deep", "wc_class({'a': nest(10000)})", ("max_depth",), ""),
    ("from-export-10000-deep", "wc_class.from_export({'variables': {'a': nest(10000)}})",
     ("max_depth",), ""),
    ("from-export-10000-deep-dict", "wc_class.from_export({'task_results': nest_dict(10000)})",
     ("max_depth",), ""),
    ("publish-10000-deep", "ctx.publish_from_result(nest(10000), 'x')", ("max_depth",), ""),
    ("template-nested-list-literal", "R('{{ ' + '[' * 10000 + ']' * 10000 + ' }}')",
     ("max_depth", "max_recursion"), ""),
    ("template-nested-parentheses", "E('(' * 10000 + '1' + ')' * 10000)",
     ("max_depth", "max_recursion"), ""),
    ("template-long-sum", "R('{{ ' + '+'.join(['1'] * 5000) + ' }}')",
     ("max_depth", "max_recursion"), ""),
    ("expression-long-sum", "E('+'.join(['1'] * 5000))", ("max_depth", "max_recursion"), ""),
    ("template-nested-ifs", "R('{% if true %}' * 2000 + '{% endif %}' * 2000)",
     ("max_depth", "max_recursion"), ""),
    # max_recursion
    ("macro-recursion", "R('{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(0) }}')",
     ("max_recursion",), ""),
    ("macro-mutual-recursion",
     "R('{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}"
     "{{ a(0) }}')", ("max_recursion",), ""),
    ("macro-call-block-recursion",
     "R('{% macro f() %}{{ caller() }}{% endmacro %}"
     "{% macro g(n) %}{% call f() %}{{ g(n + 1) }}{% endcall %}{% endmacro %}{{ g(0) }}')",
     ("max_recursion",), ""),
    ("recursive-loop", "R('{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}')",
     ("max_recursion",), ""),
    # max_loop_iterations
    # (a time limit on renders, if there is one, may stop these first on a slow machine)
    ("nested-loops", "R('{% for a in range(100000) %}{% for b in range(100000) %}"
     "{% endfor %}{% endfor %}')", ("max_loop_iterations", "max_render_seconds"), ""),
    ("loops-in-macro", "R('{% macro f() %}{% for b in range(100000) %}{% endfor %}{% endmacro %}"
     "{% for a in range(100000) %}{{ f() }}{% endfor %}')",
     ("max_loop_iterations", "max_render_seconds"), ""),
    ("work-inside-each-iteration",
     "R('{% for x in range(100000) %}{% if range(100000)|sum > 0 %}{% endif %}{% endfor %}')",
     ANY, ""),
]


def _run_child(implementation: str, action: str, setup: str) -> dict[str, Any]:
    env = dict(os.environ)
    if implementation == "python":
        env["FASTCTX_NO_EXTENSIONS"] = "1"
    else:
        env.pop("FASTCTX_NO_EXTENSIONS", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, implementation, setup, action, str(ALARM_SECONDS),
             str(CPU_CAP_SECONDS), str(MEMORY_CAP)],
            env=env, capture_output=True, text=True, timeout=KILL_SECONDS)
    except subprocess.TimeoutExpired:
        return {"outcome": "killed", "why": f"still running after {KILL_SECONDS} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == -signal.SIGXCPU:
        return {"outcome": "killed", "why": f"more than {CPU_CAP_SECONDS} s of CPU in one call"}
    if proc.returncode != 0 or not lines:
        return {"outcome": "crashed", "returncode": proc.returncode,
                "stderr": proc.stderr[-2000:]}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


# Both cores' children of one bomb run side by side (two cores: half the wall time).
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2)
_RUNS: dict[tuple[str, str], concurrent.futures.Future[dict[str, Any]]] = {}


def _result(config: pytest.Config, bomb: str, implementation: str) -> dict[str, Any]:
    key = (bomb, implementation)
    if key not in _RUNS:
        _, action, _, setup = next(case for case in BOMBS if case[0] == bomb)
        wanted = [implementation]
        if implementation == "python" and compiled_core_untested(config) is None:
            wanted.append("cython")
        for name in wanted:
            _RUNS.setdefault((bomb, name), _POOL.submit(_run_child, name, action, setup))
    return _RUNS[key].result()


@pytest.mark.slow
@pytest.mark.parametrize(("bomb", "action", "names", "setup"), BOMBS,
                         ids=[case[0] for case in BOMBS])
def test_bomb_is_stopped(request: pytest.FixtureRequest, implementation: str, bomb: str,
                         action: str, names: tuple[str, ...], setup: str) -> None:
    out = _result(request.config, bomb, implementation)
    shown = json.dumps(out)
    assert out["outcome"] != "killed", f"not stopped, killed: {shown}"
    assert out["outcome"] != "alarm", \
        f"not stopped: still running after {out['cpu_seconds']:.1f} s of CPU: {shown}"
    assert out["outcome"] != "crashed", f"the child process died: {shown}"
    if out["outcome"] == "error":
        assert out["context_error"], f"not a ContextError: {shown}"
        assert "out of memory" not in out["message"] and out["type"] != "MemoryError", \
            f"no limit stopped it: it ran out of memory (more than 512 MiB): {shown}"
    if names == HARMLESS:
        pass
    else:
        assert out["outcome"] == "error", f"no error: {shown}"
        if names != ANY:
            assert out["limit"] in names or any(name in out["message"] for name in names), \
                f"the error does not name {' or '.join(names)}: {shown}"
    assert out["cpu_seconds"] < MAX_SECONDS, f"took {out['cpu_seconds']:.2f} s of CPU: {shown}"
    assert out["rss_growth_mb"] < MAX_GROWTH_MB, \
        f"the process grew by {out['rss_growth_mb']:.0f} MB: {shown}"


@pytest.mark.slow
def test_a_raised_limit_lets_the_bigger_render_pass(implementation: str) -> None:
    """In a child too: the default limits refuse it, raised ones let it through."""
    action = "R('{% for i in range(150000) %}x{% endfor %}')"
    setup = ("from fastctx import limits; "
             "limits.configure(max_range=200000, max_output=200000)")
    out = _run_child(implementation, action, setup)
    assert out["outcome"] == "value", json.dumps(out)
    assert out["value"] == repr("x" * 150000)[:200]
    out = _run_child(implementation, action, "")
    assert out["outcome"] == "error" and out["limit"] == "max_range", json.dumps(out)


def test_max_work_bounds_loops_of_heavy_filters(wc_class: type) -> None:
    ctx = wc_class({"xs": list(range(1000))})
    template = "{% for i in range(100) %}{{ parameters.xs|sort|first }}{% endfor %}"
    old = limits.configure(max_work=200_000)  # 100 sorts of 1,000: about 500,000 units
    try:
        with pytest.raises(LimitExceeded, match="max_work") as caught:
            ctx.render_template(template)
        assert caught.value.limit == "max_work"
        # a helper called by name is charged too
        with pytest.raises(LimitExceeded, match="max_work"):
            ctx.render_template("{% for i in range(300) %}{{ sort(parameters.xs)|length }}"
                                "{% endfor %}")
        limits.configure(max_work=1_000_000)
        assert ctx.render_template(template) == "0" * 100
    finally:
        limits.configure(**old)
    assert ctx.render_template("{% for x in [3, 1] %}{{ [x, 2]|sort|join }}{% endfor %}") \
        == "2312"


@pytest.mark.parametrize("call", [
    "{{ parameters.xs|sort|first }}",            # a filter
    "{{ sort(parameters.xs)|length }}",          # a helper
    "{{ parameters.xs|map(attribute=0)|list|length }}",  # a filter given arguments by name
])
def test_max_work_is_one_budget_per_render_on_the_compiled_path(wc_class: type,
                                                                call: str) -> None:
    from fastctx import _templating

    ctx = wc_class({"xs": [[n] for n in range(1000)]})
    template = call * 300  # no loop: the compiled path, each call charged to one budget
    assert type(_templating.compile_template(template)) is tuple
    one = ctx.render_template(call)
    old = limits.configure(max_work=200_000)  # 300 calls on 1,000 elements: over 300,000
    try:
        with pytest.raises(LimitExceeded, match="max_work") as caught:
            ctx.render_template(template)
        assert caught.value.limit == "max_work"
        with pytest.raises(LimitExceeded, match="max_work"):  # an expression too
            ctx.evaluate(" ~ ".join([call[3:-3]] * 300))
        assert ctx.render_template(call * 30) == one * 30  # each render has its own budget
        assert ctx.render_template(call * 30) == one * 30
    finally:
        limits.configure(**old)
    assert ctx.render_template(template) == one * 300


@pytest.mark.parametrize("test", ["1 is defined", "parameters.xs is sequence",
                                  "parameters.xs|select('odd')|list"])
def test_tests_are_charged_as_calls_on_both_paths(wc_class: type, test: str) -> None:
    # a test is a call like a filter's, on the compiled path and on the Jinja2 path alike
    from fastctx import _templating

    ctx = wc_class({"xs": [1, 2, 3]})
    compiled, jinja = "{{ " + test + " }}", "{% for _ in [1] if 1 %}{{ " + test + " }}{% endfor %}"
    assert type(_templating.compile_template(jinja)) is not tuple
    one = ctx.render_template(compiled)
    assert ctx.render_template(jinja) == one
    old = limits.configure(max_work=30)  # less than one call (35 units)
    try:
        for template in (compiled, jinja):
            with pytest.raises(LimitExceeded, match="max_work"):
                ctx.render_template(template)
    finally:
        limits.configure(**old)


def test_max_work_bounds_regular_expressions_across_a_compiled_render(wc_class: type) -> None:
    ctx = wc_class({"s": "a" * 2000 + "b"})
    template = "{{ match('a*b', parameters.s) }}"
    from fastctx import _templating

    old = limits.configure(max_work=3_000_000)
    try:
        single = ctx.render_template(template)  # within max_work alone
        assert type(_templating.compile_template(template * 50)) is tuple
        with pytest.raises(LimitExceeded, match="max_work"):
            ctx.render_template(template * 50)  # fifty of them are not
    finally:
        limits.configure(**old)
    assert single in ("true", "false")


def test_max_work_bounds_big_integer_arithmetic(wc_class: type) -> None:
    big, half = 10**4000 - 7, 10**2000 + 3  # 13,300 and 6,600 bits: ~0.3 ms a division
    ctx = wc_class({"big": big, "half": half})
    old = limits.configure(max_work=1_000_000)  # about 650 divisions, a fifth of a second
    try:
        for operator in ("//", "%"):  # (a product that big is refused: max_power)
            template = ("{% for i in range(100000) %}{% set x = parameters.big " + operator
                        + " parameters.half %}{% endfor %}done")
            with pytest.raises(LimitExceeded, match="max_work"):
                ctx.render_template(template)
    finally:
        limits.configure(**old)
    # small integers cost nothing beyond the loop
    assert ctx.render_template("{% for i in range(1000) %}{% set x = i * 7 // 3 % 5 %}"
                               "{% endfor %}done") == "done"
    assert ctx.evaluate("parameters.big // parameters.half") == big // half


def test_running_out_of_memory_is_named_so(wc_class: type) -> None:
    from fastctx import _reporting

    error = _reporting.error_for(MemoryError(), "{{ x }}", None)
    assert isinstance(error, LimitExceeded)
    assert error.limit == "memory" and "out of memory" in str(error)


@pytest.mark.parametrize("template", [
    "AAAAAAAAAAA{% for x in [1, 2, none] %}{{ x + 1 }}{% endfor %}",
    "AAAAAAAAA{% for x in [1, 2] %}{% if x %}{{ x }}{{ x }}{% endif %}{% endfor %}{{ none + 1 }}",
    "AAAAAAAAAAA{% for x in [] %}{% else %}{{ 1 }}{{ 2 }}{{ none + 1 }}{% endfor %}",
    "AAAAAAAAAAA{% if 1 %}{{ 2 }}{{ 3 }}{{ none + 1 }}{% endif %}{% for x in [] %}{% endfor %}",
])
def test_a_compiled_loop_meets_max_output_where_jinja2_does(wc_class: type,
                                                            template: str) -> None:
    # the text before a loop counts: max_output is exceeded at the 13th character, before
    # the error of a later part (none + 1), on both paths
    ctx = wc_class()
    limits.configure(max_output=12)
    assert type(_templating.compile_template(template)) is tuple
    for form in (template, "{% for _ in [1] if 1 %}" + template + "{% endfor %}"):
        with pytest.raises(LimitExceeded, match="max_output=12"):
            ctx.render_template(form)
