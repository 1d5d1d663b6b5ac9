"""The command line (``fastctx.cli``): render, eval, the context file, errors and help."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fastctx
from fastctx import cli

SECRET = "s3cr3t-Token-9f8e7d"

CONTEXT: dict[str, Any] = {
    "parameters": {"hosts": ["web1", "web2"], "count": 3},
    "variables": {"greeting": "hello"},
    "task_results": {"fetch": {"servers": ["a", "b", "c"]}},
    "pack_config": {"api_url": "https://api.example.com"},
    "keystore": {"token": SECRET},
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def write_json(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.fixture
def ctx_file(tmp_path: Path) -> str:
    return write_json(tmp_path / "ctx.json", CONTEXT)


# -- render ----------------------------------------------------------------------------------
def test_render_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, ctx_file: str) -> None:
    task = write_json(tmp_path / "task.json", {
        "cmd": "ping -c {{ parameters.count }} {{ parameters.hosts[0] }}",
        "count": "{{ parameters.count }}",
        "servers": "{{ task.fetch.servers }}",
        "list": ["{{ greeting | upper }}", 7, None, True],
        "nested": {"url": "{{ config.api_url }}/x", "auth": "Bearer {{ keystore.token }}"},
        "when": "{{ parameters.count > 2 }}",
        "text": "héllo ✓",
    })
    status, out, err = run(capsys, "render", task, "--context", ctx_file)
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "cmd": "ping -c 3 web1",
        "count": 3,
        "servers": ["a", "b", "c"],
        "list": ["HELLO", 7, None, True],
        "nested": {"url": "https://api.example.com/x", "auth": f"Bearer {SECRET}"},
        "when": True,
        "text": "héllo ✓",
    }
    assert out.startswith('{\n  "cmd": ')  # indent=2
    assert "héllo ✓" in out  # ensure_ascii=False


def test_render_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path, ctx_file: str) -> None:
    pytest.importorskip("yaml")
    task = tmp_path / "task.yaml"
    task.write_text(
        "cmd: ping {{ parameters.hosts[1] }}\n"
        "count: '{{ parameters.count }}'\n"
        "date: 2024-05-01\n"
        "items:\n  - '{{ greeting }}'\n  - 2\n", encoding="utf-8")
    status, out, err = run(capsys, "render", str(task), "-c", ctx_file)
    assert (status, err) == (0, "")
    # A YAML date stays the string it is written as, as it would in JSON.
    assert json.loads(out) == {"cmd": "ping web2", "count": 3, "date": "2024-05-01",
                               "items": ["hello", 2]}


def test_render_yml_extension_any_case(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    task = tmp_path / "TASK.YML"
    task.write_text("a: '{{ 1 + 1 }}'\n", encoding="utf-8")
    assert run(capsys, "render", str(task))[:2] == (0, '{\n  "a": 2\n}\n')


def test_render_yaml_without_pyyaml(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    task = tmp_path / "task.yaml"
    task.write_text("a: 1\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml raises ImportError
    status, out, err = run(capsys, "render", str(task))
    assert (status, out) == (2, "")
    assert err == f"fastctx: error: {task}: reading YAML needs PyYAML: pip install fastctx[yaml]\n"


def test_render_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                      ctx_file: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('["{{ parameters.hosts }}", "{{ index }}"]'))
    status, out, err = run(capsys, "render", "-", "--context", ctx_file, "--index", "4")
    assert (status, err) == (0, "")
    assert json.loads(out) == [["web1", "web2"], 4]


def test_context_from_stdin(capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(CONTEXT)))
    assert run(capsys, "eval", "parameters.count", "--context", "-") == (0, "3\n", "")


def test_render_and_context_cannot_both_be_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "render", "-", "--context", "-")
    assert (status, out) == (2, "")
    assert "both be '-'" in err


def test_render_example(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "render", "--example")
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result["input"]["cmd"] == "ping -c 3 10.0.0.12"
    assert result["input"]["target"] == {"name": "web2", "ip": "10.0.0.12", "role": "web"}
    assert result["input"]["count"] == 3
    assert result["when"] is True
    assert result["name"] == "ping web2 (2 of 3)"


def test_render_example_honours_item_override(capsys: pytest.CaptureFixture[str]) -> None:
    item = {"name": "web1", "ip": "10.0.0.11", "role": "web"}
    status, out, _ = run(capsys, "render", "--example", "--item", json.dumps(item),
                         "--index", "0")
    assert status == 0
    assert json.loads(out)["name"] == "ping web1 (1 of 3)"


def test_example_files_are_what_the_readme_uses(capsys: pytest.CaptureFixture[str]) -> None:
    examples = Path(fastctx.__file__).parent / "examples"
    context = json.loads((examples / "context.json").read_text(encoding="utf-8"))
    # The context file is an export plus the command line's own keys.
    assert set(context) <= {"variables", "parameters", "task_results", "system", "pack_config",
                            "keystore", "item", "index", "last_result", "last_outcome"}
    run(capsys, "render", "--example")
    by_path = run(capsys, "render", str(examples / "task.json"),
                  "--context", str(examples / "context.json"))
    assert by_path[0] == 0
    assert run(capsys, "render", "--example")[1] == by_path[1]


@pytest.mark.parametrize("argv", [
    ["render", "--example", "task.json"],
    ["render", "--example", "--context", "ctx.json"],
    ["render"],
])
def test_render_example_or_file_usage(capsys: pytest.CaptureFixture[str],
                                      argv: list[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("fastctx: error: render: ")


# -- eval ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "expected"), [
    ("parameters.count * 2", "6\n"),
    ("parameters.hosts[1]", '"web2"\n'),
    ("task.fetch.servers | length", "3\n"),
    ("parameters", json.dumps(CONTEXT["parameters"], indent=2) + "\n"),
    ("none", "null\n"),
])
def test_eval(capsys: pytest.CaptureFixture[str], ctx_file: str, expression: str,
              expected: str) -> None:
    assert run(capsys, "eval", expression, "--context", ctx_file) == (0, expected, "")


def test_eval_without_context(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "eval", "1 + 2") == (0, "3\n", "")


@pytest.mark.parametrize(("condition", "expected"), [
    ("parameters.count > 2", "true\n"),
    ("parameters.count > 5", "false\n"),
    ("{{ greeting == 'hello' }}", "true\n"),
    ("greeting", "true\n"),
    ("succeeded()", "false\n"),  # no task has finished
])
def test_eval_condition(capsys: pytest.CaptureFixture[str], ctx_file: str, condition: str,
                        expected: str) -> None:
    assert run(capsys, "eval", "--condition", condition, "-c", ctx_file) == (0, expected, "")


def test_item_and_index_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = write_json(tmp_path / "ctx.json", {**CONTEXT, "item": "from-file", "index": 9})
    assert run(capsys, "eval", "[item, index]", "-c", ctx)[1] == '[\n  "from-file",\n  9\n]\n'
    status, out, _ = run(capsys, "eval", "[item.name, index]", "-c", ctx,
                         "--item", '{"name": "web2"}', "--index", "1")
    assert (status, json.loads(out)) == (0, ["web2", 1])
    # --item alone keeps the file's index; null is an item like any other.
    assert json.loads(run(capsys, "eval", "[item, index]", "-c", ctx, "--item", "null")[1]) \
        == [None, 9]
    assert json.loads(run(capsys, "eval", "[item, index]", "--item", "[1, 2]")[1]) \
        == [[1, 2], 0]


def test_item_key_index_defaults_to_zero(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    ctx = write_json(tmp_path / "ctx.json", {"item": {"name": "web1"}})
    assert json.loads(run(capsys, "eval", "[item.name, index]", "-c", ctx)[1]) == ["web1", 0]


def test_no_item_means_not_iterating(capsys: pytest.CaptureFixture[str], ctx_file: str) -> None:
    status, _, err = run(capsys, "eval", "item", "-c", ctx_file)
    assert status == 1
    assert "VariableNotFound" in err


def test_last_outcome_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = write_json(tmp_path / "ctx.json", {
        **CONTEXT, "last_result": {"status": 500}, "last_outcome": "failed"})
    assert run(capsys, "eval", "result().status", "-c", ctx) == (0, "500\n", "")
    assert run(capsys, "eval", "--condition", "failed() and not succeeded()", "-c", ctx)[1] \
        == "true\n"
    timed_out = write_json(tmp_path / "t.json", {"last_outcome": "timed_out"})
    assert run(capsys, "eval", "[timed_out(), result()]", "-c", timed_out)[1] \
        == "[\n  true,\n  null\n]\n"
    # last_result alone: the task succeeded.
    ok = write_json(tmp_path / "ok.json", {"last_result": [1]})
    assert run(capsys, "eval", "--condition", "succeeded() and result()[0] == 1", "-c", ok)[1] \
        == "true\n"


def test_export_round_trips_through_the_context_file(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    ctx = fastctx.WorkflowContext({"n": 1}, {"v": "x"}, keystore={"k": "secret"})
    ctx.set_task_result("t", {"ok": True})
    path = write_json(tmp_path / "ctx.json", ctx.export(include_secrets=True))
    status, out, _ = run(capsys, "eval", "[parameters.n, v, task.t.ok, keystore.k]", "-c", path)
    assert (status, json.loads(out)) == (0, [1, "x", True, "secret"])


# -- errors ----------------------------------------------------------------------------------
def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    assert run(capsys, "render", missing) == (
        2, "", f"fastctx: error: {missing}: cannot read: No such file or directory\n")


def test_missing_context_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = str(tmp_path / "ctx.json")
    status, out, err = run(capsys, "eval", "1", "--context", missing)
    assert (status, out) == (2, "")
    assert err.startswith(f"fastctx: error: {missing}: cannot read: ")


def test_directory_and_non_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "render", str(tmp_path))[0] == 2
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('"caf\u00e9"'.encode("latin-1"))
    status, _, err = run(capsys, "render", str(latin1))
    assert status == 2
    assert f"{latin1}: not UTF-8 text" in err


def test_bad_json_names_file_line_and_column(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    bad = tmp_path / "task.json"
    bad.write_text('{\n  "a": 1,\n  "b": [1, 2,,]\n}\n', encoding="utf-8")
    status, out, err = run(capsys, "render", str(bad))
    assert (status, out) == (2, "")
    assert err.startswith(f"fastctx: error: {bad}: invalid JSON at line 3, column 14: ")


def test_bad_json_in_context(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "ctx.json"
    bad.write_text('{"parameters": {}\n  "x": 1}', encoding="utf-8")
    status, _, err = run(capsys, "eval", "1", "--context", str(bad))
    assert status == 2
    assert err.startswith(f"fastctx: error: {bad}: invalid JSON at line 2, column 3: ")


def test_nan_is_not_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "task.json"
    bad.write_text('{"a": NaN}', encoding="utf-8")
    status, _, err = run(capsys, "render", str(bad))
    assert status == 2
    assert "NaN is not a JSON value" in err


def test_bad_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    bad = tmp_path / "task.yaml"
    bad.write_text("a: 1\nb: [1, 2\nc: 3\n", encoding="utf-8")
    status, out, err = run(capsys, "render", str(bad))
    assert (status, out) == (2, "")
    assert err.startswith(f"fastctx: error: {bad}: invalid YAML at line 3, column ")


@pytest.mark.parametrize(("text", "message"), [
    ("1: x\n", "$: the key 1 is not a string"),
    ("a: !!binary aGk=\n", "$.a: a bytes value is not JSON"),
    ("a: [.nan]\n", "$.a[0]: nan is not a JSON value"),
    ("a: &a [*a]\n", "nested deeper than max_depth"),
])
def test_yaml_that_is_not_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str,
                               message: str) -> None:
    pytest.importorskip("yaml")
    bad = tmp_path / "task.yaml"
    bad.write_text(text, encoding="utf-8")
    status, _, err = run(capsys, "render", str(bad))
    assert status == 2
    assert message in err


def test_yaml_alias_bomb_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, _, err = run(capsys, "render", str(bomb))
    assert status == 2
    assert "once aliases are expanded" in err


def test_undefined_variable_names_the_template(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path, ctx_file: str) -> None:
    task = write_json(tmp_path / "task.json", {"cmd": "ping {{ parameters.nope }}"})
    status, out, err = run(capsys, "render", task, "--context", ctx_file)
    assert (status, out) == (1, "")
    assert err.startswith(f"fastctx: error: {task}: VariableNotFound: ")
    assert "parameters.nope" in err
    assert "ping {{ parameters.nope }}" in err
    assert err.count("\n") == 1


def test_eval_error_names_the_expression(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "eval", "missing.field + 1")
    assert (status, out) == (1, "")
    assert err.startswith("fastctx: error: expression: VariableNotFound: ")
    assert "missing.field + 1" in err


@pytest.mark.parametrize(("expression", "error"), [
    ("1 +", "InvalidExpression"),
    ("1 / 0", "InvalidExpression"),
    ("'a' + 5", "TypeConversion"),
])
def test_eval_other_errors(capsys: pytest.CaptureFixture[str], expression: str,
                           error: str) -> None:
    status, _, err = run(capsys, "eval", expression)
    assert status == 1
    assert err.startswith(f"fastctx: error: expression: {error}: ")


def test_secret_not_in_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                              ctx_file: str) -> None:
    # The failing look-up's key is the secret itself.
    task = write_json(tmp_path / "task.json", {"auth": "{{ task[keystore.token] }}"})
    status, out, err = run(capsys, "render", task, "--context", ctx_file)
    assert (status, out) == (1, "")
    assert err.startswith(f"fastctx: error: {task}: VariableNotFound: ")
    assert SECRET not in err
    for argv in (["eval", "parameters[keystore.token]"],
                 ["eval", "--condition", "int(keystore.token) > 1"],
                 ["eval", "task[keystore.token]", "--item", json.dumps(SECRET)]):
        status, out, err = run(capsys, *argv, "--context", ctx_file)
        assert (status, out) == (1, "")
        assert SECRET not in err


def test_result_that_is_not_data(capsys: pytest.CaptureFixture[str]) -> None:
    # Jinja2's own template object is a value of no JSON type: refused by the library.
    status, out, err = run(capsys, "eval", "self")
    assert (status, out) == (1, "")
    assert err.startswith("fastctx: error: expression: TypeConversion: ")


def test_a_function_named_without_a_call_is_a_name_like_any_other(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "eval", "length")
    assert (status, out) == (1, "")
    assert "VariableNotFound: 'length' is not defined: no variable named 'length'" in err


@pytest.mark.parametrize(("context", "message"), [
    ([1, 2], "a context file holds a JSON object, not an array"),
    ({"parameters": {}, "bogus": 1}, "unknown keys: bogus"),
    ({"parameters": [1]}, "SerializationError: "),
    ({"item": 1, "index": "one"}, "TypeConversion: "),
    ({"last_outcome": "crashed"}, '"last_outcome" must be one of'),
])
def test_malformed_context(capsys: pytest.CaptureFixture[str], tmp_path: Path, context: Any,
                           message: str) -> None:
    path = write_json(tmp_path / "ctx.json", context)
    status, out, err = run(capsys, "eval", "1", "--context", path)
    assert (status, out) == (2, "")
    assert err.startswith(f"fastctx: error: {path}: ")
    assert message in err


def test_malformed_context_hides_secrets(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    path = write_json(tmp_path / "ctx.json", {"keystore": {"k": SECRET}, "index": SECRET})
    status, _, err = run(capsys, "eval", "1", "--context", path)
    assert status == 2
    assert SECRET not in err


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["eval"],
    ["eval", "1", "--bogus"],
    ["eval", "1", "--index", "two"],
    ["eval", "item", "--item", "web1"],  # not JSON: a string needs quotes
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert "usage: fastctx" in err
    assert "error: " in err


def test_item_option_hint(capsys: pytest.CaptureFixture[str]) -> None:
    err = run(capsys, "eval", "item", "--item", "web1")[2]
    assert "--item '\"web1\"'" in err


# -- help ------------------------------------------------------------------------------------
def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "usage: fastctx" in out
    assert "fastctx render --example" in out
    assert "fastctx render task.json --context context.json" in out
    assert "fastctx eval 'parameters.count * 2' --context context.json" in out
    assert "fastctx eval --condition " in out
    assert "exit status:" in out
    for line in ("0  success", "1  the template or expression failed", "2  bad input or usage"):
        assert line in out


@pytest.mark.parametrize(("command", "example"), [
    ("render", "fastctx render task.json --context context.json"),
    ("eval", "fastctx eval --condition "),
])
def test_subcommand_help(capsys: pytest.CaptureFixture[str], command: str,
                         example: str) -> None:
    status, out, _ = run(capsys, command, "--help")
    assert status == 0
    assert f"usage: fastctx {command}" in out
    assert example in out
    assert "exit status:" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert (status, out) == (0, f"fastctx {fastctx.__version__} ({fastctx.IMPLEMENTATION} core)\n")


def test_module_docstring_documents_exit_codes() -> None:
    assert cli.__doc__ is not None
    for code in ("- 0:", "- 1:", "- 2:"):
        assert code in cli.__doc__


def test_every_command_has_a_parser(capsys: pytest.CaptureFixture[str]) -> None:
    for name in cli.COMMANDS:
        status, out, _ = run(capsys, name, "--help")
        assert (status, out.startswith(f"usage: fastctx {name}")) == (0, True)


# -- processes -------------------------------------------------------------------------------
def test_python_m_fastctx_help() -> None:
    done = subprocess.run([sys.executable, "-m", "fastctx", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "fastctx render --example" in done.stdout
    assert done.stderr == ""


def test_console_script(tmp_path: Path) -> None:
    script = shutil.which("fastctx", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the fastctx console script is not installed next to sys.executable")
    done = subprocess.run([script, "eval", "missing"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("fastctx: error: expression: VariableNotFound: ")
    assert "Traceback" not in done.stderr
    done = subprocess.run([script, "render", "--example"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["input"]["count"] == 3


def test_yaml_scalar_that_cannot_be_read_is_bad_input(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    task = tmp_path / "task.yaml"
    task.write_text("x: " + "9" * 5000 + "\n", encoding="utf-8")
    status, out, err = run(capsys, "render", str(task))
    assert (status, out) == (2, "")
    assert "invalid YAML: a value cannot be read" in err
    assert "Traceback" not in err


def test_secret_with_quotes_never_in_stderr(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    secret = "O'Reilly-\"pass\"-42"
    context = tmp_path / "ctx.json"
    context.write_text(json.dumps({"keystore": {"pw": secret}}), encoding="utf-8")
    status, out, err = run(capsys, "eval", "task[keystore.pw]", "--context", str(context))
    assert (status, out) == (1, "")
    assert "VariableNotFound" in err and "Reilly" not in err


def test_a_yaml_control_character_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    # found by tools/fuzz.py: PyYAML's ReaderError message spans two lines
    pytest.importorskip("yaml")
    path = tmp_path / "task.yaml"
    path.write_bytes(b"b%\x11\x02S\n")
    code, _, err = run(capsys, "render", str(path))
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert "invalid YAML" in err
