"""Coverage-guided fuzzing of fastctx with atheris (libFuzzer for Python).

    pip install atheris
    python tools/fuzz.py -max_total_time=60          # the bounded run .ci/run makes
    python tools/fuzz.py -max_total_time=3600 -jobs=2 corpus/   # a long run, keeping a corpus

Each input is split into a template or expression (built from Jinja2 tokens, the helpers and
filters, and raw characters), a small context and an operation: ``render_template``,
``evaluate``, ``evaluate_condition``, ``render_json``, ``from_export`` or the command line's
JSON and YAML readers. Both cores run it. A finding is any of:

- an exception that is not a ``ContextError`` (the command line: anything but exit 2 and one
  line on stderr), or a crash of the interpreter;
- the two cores disagreeing (a different output, or a different error class);
- the keystore value in an error message;
- a render taking more than 2 s of CPU.

libFuzzer writes the input that found it to ``crash-*``; ``python tools/fuzz.py crash-...``
runs it again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import atheris

with atheris.instrument_imports():
    import fastctx
    from fastctx import ContextError, TaskOutcome, cli
    from fastctx._impl import context_class

SECRET = "s3cr3t-Pa$$'w\"0rd"
TOKENS = [
    "{{ ", " }}", "{% ", " %}", "for x in ", "endfor", "if ", "endif", "else", "macro m(a)",
    "endmacro", "set y = ", "recursive", "loop", "loop.index", "loop(x)", "caller()", "self",
    "parameters", "workflow", "vars", "task", "item", "index", "config", "keystore", "system",
    "keystore.pw", "parameters.xs", "parameters.d", "parameters.s", "workflow.n", "item.host",
    ".", "[", "]", "(", ")", ",", ":", "'", '"', "|", " ~ ", " + ", " - ", " * ", " / ",
    " // ", " % ", " ** ", " == ", " != ", " < ", " > ", " and ", " or ", " not ", " in ",
    " is ", "defined", "none", "odd", "0", "1", "-1", "2", "10", "99999999", "1.5", "true",
    "false", "null", "'a'", "'%s'", "'{:>9}'", "[1, 2]", "{'k': 1}", "result()",
    "succeeded()", "upper", "lower", "length", "join", "replace", "map", "select", "sort",
    "unique", "sum", "first", "last", "default", "tojson", "center", "indent", "wordwrap",
    "batch", "format", "safe", "string", "int", "float", "range", "count", "zip", "match",
    "keys", "values", "split", "merge", "type_of", "__class__", "attribute=", "start=",
]
OPERATIONS = ("template", "expression", "condition", "json", "export", "json_file",
              "yaml_file")
CONTEXT = ({"xs": [3, 1, 2], "d": {"a": 1, "b": [True, None]}, "s": "abc", "count": 2},
           {"n": 5, "name": "web"})


def text_from(data: atheris.FuzzedDataProvider) -> str:
    parts = []
    for _ in range(data.ConsumeIntInRange(1, 24)):
        if data.ConsumeBool():
            parts.append(TOKENS[data.ConsumeIntInRange(0, len(TOKENS) - 1)])
        else:
            parts.append(data.ConsumeUnicodeNoSurrogates(data.ConsumeIntInRange(0, 6)))
    return "".join(parts)


def run(implementation: str, operation: str, text: str) -> tuple[str, Any]:
    cls = context_class(implementation)
    ctx = cls(*CONTEXT, keystore={"pw": SECRET}, system={"workflow_start": "2026-01-01T00:00Z"})
    ctx.set_last_task_outcome({"ok": True}, TaskOutcome.SUCCEEDED)
    view = ctx.with_item({"host": "web1"}, 1)
    try:
        if operation == "template":
            return "ok", view.render_template(text)
        if operation == "expression":
            return "ok", view.evaluate(text)
        if operation == "condition":
            return "ok", view.evaluate_condition(text)
        if operation == "json":
            return "ok", view.render_json({"a": text, "b": [text, 1]})
        try:
            document = json.loads(text)
        except ValueError:
            document = {"variables": {"x": text}}
        exported = cls.from_export(document).export()
        exported["system"].pop("workflow_start", None)  # the time of the import, if none
        return "ok", exported
    except ContextError as exc:
        message = str(exc)
        assert SECRET not in message and SECRET[:8] not in message, message
        return type(exc).__name__, None


def run_cli(operation: str, text: str) -> None:
    reader = cli._parse_json if operation == "json_file" else None
    try:
        if reader is not None:
            reader("input.json", text)
        else:
            yaml = cli._import_yaml("input.yaml")
            cli._parse_yaml("input.yaml", text, yaml)
    except cli._Failure as failure:
        assert failure.status == 2, failure.status
        assert "\n" not in str(failure).strip(), str(failure)


def test_one_input(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    operation = OPERATIONS[data.ConsumeIntInRange(0, len(OPERATIONS) - 1)]
    text = text_from(data)
    start = time.process_time()
    if operation.endswith("_file"):
        if operation == "yaml_file" and not _HAVE_YAML:
            return
        run_cli(operation, text)
    else:
        outcomes = {implementation: run(implementation, operation, text)
                    for implementation in _IMPLEMENTATIONS}
        if len(outcomes) == 2:
            assert outcomes["cython"] == outcomes["python"], (text, outcomes)
    elapsed = time.process_time() - start
    assert elapsed < 2, (text, elapsed)


try:
    import yaml  # noqa: F401
    _HAVE_YAML = True
except ImportError:
    _HAVE_YAML = False
try:
    context_class("cython")
    _IMPLEMENTATIONS: tuple[str, ...] = ("cython", "python")
except ImportError:
    _IMPLEMENTATIONS = ("python",)


def main() -> None:
    print(f"fuzzing fastctx {fastctx.__version__} on {', '.join(_IMPLEMENTATIONS)}",
          file=sys.stderr)
    os.environ.setdefault("FASTCTX_FUZZ", "1")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
