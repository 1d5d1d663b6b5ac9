"""The ``fastctx`` command line (also ``python -m fastctx``).

Commands::

    fastctx render FILE [--context CTX.json] [--item JSON] [--index N]
    fastctx render --example
    fastctx eval EXPR [--context CTX.json] [--item JSON] [--index N] [--condition]

``render`` reads a JSON document (YAML when FILE ends in ``.yaml``/``.yml`` and PyYAML is
installed: ``pip install fastctx[yaml]``; ``-`` reads JSON from stdin), renders every
string in it with :meth:`WorkflowContext.render_json` and prints the result as JSON.
``--example`` renders the task and context shipped in ``fastctx/examples/``.

``eval`` evaluates one expression (no braces) with :meth:`WorkflowContext.evaluate` and
prints its value as JSON; with ``--condition`` it uses
:meth:`WorkflowContext.evaluate_condition` and prints ``true`` or ``false``.

The context file holds what ``WorkflowContext.export(include_secrets=True)`` produces
(``variables``, ``parameters``, ``task_results``, ``system``, ``pack_config``,
``keystore``; all optional) plus four keys of the command line's own:

- ``item`` and ``index``: the current with-items item and its index (``index``
  defaults to 0 when ``item`` is given); ``--item JSON`` and ``--index N`` override them.
- ``last_result`` and ``last_outcome`` (``"succeeded"``, ``"failed"`` or ``"timed_out"``;
  default ``"succeeded"``): what ``result()``, ``succeeded()``, ``failed()`` and
  ``timed_out()`` see.

Without ``--context`` the context is empty.

Exit status:

- 0: success.
- 1: the template or expression failed (a :class:`fastctx.ContextError`: an undefined
  name, a syntax error, a type error, a limit) or its value is not JSON.
  stderr has ``fastctx: error: <FILE or 'expression'>: <ErrorClass>: <message>``.
- 2: bad input or usage: a file that cannot be read, invalid JSON or YAML in FILE or in the
  context file, a malformed context file, bad options.

No traceback is printed for any of these, and error messages never contain keystore values.

New commands are one handler function in :data:`COMMANDS` plus one sub-parser in
:func:`build_parser`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from importlib import resources
from typing import Any, NoReturn

from . import _impl, bench, limits
from ._context_api import EXPORT_KEYS, SECRET_KEYS
from ._data import a_type_name
from ._impl import WorkflowContext
from ._outcome import OUTCOMES, TaskOutcome
from ._reporting import scrub_secrets
from .errors import ContextError

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

#: Exit status: success.
EXIT_OK = 0
#: Exit status: the template or expression failed.
EXIT_ERROR = 1
#: Exit status: bad input (unreadable or invalid file, malformed context) or usage.
EXIT_USAGE = 2

_PROG = "fastctx"
_STDIN = "-"
_STDIN_NAME = "<stdin>"
_EXPRESSION_NAME = "expression"

#: Keys of a context file that go to ``WorkflowContext.from_export``.
_EXPORT_KEYS = EXPORT_KEYS + SECRET_KEYS
#: Keys of a context file that the command line handles itself.
_CLI_KEYS = ("item", "index", "last_result", "last_outcome")

#: Nodes a YAML document may expand to (aliases can make a small file huge).
_MAX_YAML_NODES = 1_000_000

_EXIT_STATUS_HELP = """\
exit status:
  0  success
  1  the template or expression failed (undefined name, syntax or type error, limit)
  2  bad input or usage (unreadable file, invalid JSON/YAML, malformed context, bad option)"""

_CONTEXT_HELP = """\
context file (--context): the JSON that WorkflowContext.export(include_secrets=True)
produces - keys variables, parameters, task_results, system, pack_config, keystore, all
optional - plus "item" and "index" (the current with-items item; index defaults to 0)
and "last_result" and "last_outcome" ("succeeded", "failed" or "timed_out"), which
result(), succeeded(), failed() and timed_out() see. --item and --index override
"item" and "index"."""

_MAIN_EXAMPLES = """\
examples:
  fastctx render --example
      render the task and context shipped in fastctx/examples/
  fastctx render task.json --context context.json
      render every template in task.json; print the result as JSON
  fastctx render task.yaml --context context.json --item '"web2"' --index 1
      the same for one with-items item (YAML needs: pip install fastctx[yaml])
  fastctx eval 'parameters.count * 2' --context context.json
      evaluate one expression; print its value as JSON
  fastctx eval --condition 'succeeded() and index < parameters.count' --context context.json
      evaluate a condition; print true or false
  fastctx bench --quick --json bench.json --plot bench.png
      reproduce the clone and with-items tables against the baselines"""

_RENDER_EXAMPLES = """\
examples:
  fastctx render --example
  fastctx render task.json --context context.json
  fastctx render task.yaml --context context.json --item '{"name": "web2"}' --index 1
  cat task.json | fastctx render - --context context.json"""

_EVAL_EXAMPLES = """\
examples:
  fastctx eval 'parameters.hosts[0]' --context context.json
  fastctx eval 'task.fetch.servers | map(attribute="name") | list' --context context.json
  fastctx eval 'item.name ~ "-" ~ index' --item '{"name": "web2"}' --index 1
  fastctx eval --condition 'succeeded() and index < parameters.count' --context context.json"""


class _Failure(Exception):
    """An error the command reports in one line and turns into an exit status."""

    def __init__(self, source: str, message: str, status: int) -> None:
        super().__init__(f"{source}: {message}")
        self.status = status


class _JSONOption:
    """The parsed value of a JSON-valued option (a box, so that ``null`` is a value)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _json_option(text: str) -> _JSONOption:
    """``type=`` of ``--item``: the text parsed as JSON."""
    try:
        return _JSONOption(json.loads(text, parse_constant=_reject_constant))
    except (ValueError, RecursionError) as exc:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({exc}); a string needs JSON quotes, e.g. --item '\"web1\"'"
        ) from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


# -- the parser ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``fastctx`` argument parser: one sub-parser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Render workflow task documents, and evaluate expressions and conditions,\n"
            "against a fastctx WorkflowContext, as a workflow executor would."
        ),
        epilog=f"{_MAIN_EXAMPLES}\n\n{_CONTEXT_HELP}\n\n{_EXIT_STATUS_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version",
        version=f"%(prog)s {_version()} ({_impl.IMPLEMENTATION} core)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    render = commands.add_parser(
        "render",
        help="render a JSON or YAML document and print it as JSON",
        description=(
            "Render every string of a JSON document (YAML when FILE ends in .yaml or .yml)\n"
            "with WorkflowContext.render_json and print the result as JSON. A string that\n"
            "is exactly one {{ expression }} keeps the expression's type: \"{{ item }}\"\n"
            "gives the item itself, not its text."
        ),
        epilog=f"{_RENDER_EXAMPLES}\n\n{_CONTEXT_HELP}\n\n{_EXIT_STATUS_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument(
        "file", metavar="FILE", nargs="?",
        help="the document: JSON, or YAML if it ends in .yaml/.yml; '-' reads JSON from stdin",
    )
    render.add_argument(
        "--example", action="store_true",
        help="render the example task with the example context shipped with fastctx "
             "(no FILE, no --context)",
    )
    _add_context_options(render)

    evaluate = commands.add_parser(
        "eval",
        help="evaluate an expression or a condition and print its value as JSON",
        description=(
            "Evaluate one expression (no braces) with WorkflowContext.evaluate and print\n"
            "its value as JSON; with --condition, judge it with\n"
            "WorkflowContext.evaluate_condition and print true or false."
        ),
        epilog=f"{_EVAL_EXAMPLES}\n\n{_CONTEXT_HELP}\n\n{_EXIT_STATUS_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("expression", metavar="EXPR", help="the expression, without braces")
    evaluate.add_argument(
        "--condition", action="store_true",
        help="evaluate EXPR as a condition (a bare expression or a {{ template }}); "
             "print true or false",
    )
    _add_context_options(evaluate)
    bench.register(commands)
    return parser


def _add_context_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--context", metavar="CTX.json",
        help="the context file (see below); '-' reads it from stdin; default: an empty context",
    )
    parser.add_argument(
        "--item", metavar="JSON", type=_json_option,
        help="the current with-items item, as JSON (overrides the context file's \"item\")",
    )
    parser.add_argument(
        "--index", metavar="N", type=int,
        help="the current with-items index (overrides the context file's \"index\")",
    )


def _version() -> str:
    from . import __version__

    return __version__


# -- the commands -------------------------------------------------------------------------
def _cmd_render(args: argparse.Namespace) -> int:
    if args.example:
        if args.file is not None or args.context is not None:
            raise _Failure("render", "--example takes no FILE and no --context", EXIT_USAGE)
        examples = resources.files(__package__ or "fastctx").joinpath("examples")
        task = examples.joinpath("task.json")
        context = examples.joinpath("context.json")
        source = str(task)
        document = _parse_json(source, _read_resource(source, task))
        ctx, keystore = _load_context(
            str(context), _read_resource(str(context), context), args)
    else:
        if args.file is None:
            raise _Failure("render", "give a FILE to render ('-' for stdin), or --example",
                           EXIT_USAGE)
        if args.file == _STDIN and args.context == _STDIN:
            raise _Failure("render", "FILE and --context cannot both be '-' (stdin)",
                           EXIT_USAGE)
        source = _STDIN_NAME if args.file == _STDIN else args.file
        document = _load_document(args.file)
        ctx, keystore = _context_from_args(args)
    try:
        result = ctx.render_json(document)
    except ContextError as exc:
        raise _template_failure(source, exc, keystore) from None
    _print_json(source, result)
    return EXIT_OK


def _cmd_eval(args: argparse.Namespace) -> int:
    ctx, keystore = _context_from_args(args)
    try:
        if args.condition:
            value: Any = ctx.evaluate_condition(args.expression)
        else:
            value = ctx.evaluate(args.expression)
    except ContextError as exc:
        raise _template_failure(_EXPRESSION_NAME, exc, keystore) from None
    _print_json(_EXPRESSION_NAME, value)
    return EXIT_OK


#: Command name -> handler. A handler takes the parsed arguments and returns the exit status.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "render": _cmd_render,
    "eval": _cmd_eval,
    "bench": bench.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error(f"a command is required: {', '.join(COMMANDS)}")
    except SystemExit as exc:  # --help, --version and usage errors
        return _status(exc)
    try:
        return COMMANDS[args.command](args)
    except _Failure as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:
        # The reader went away (``fastctx render big.json | head``): no traceback.
        _silence_stdout()
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _status(exc: SystemExit) -> int:
    if exc.code is None:
        return EXIT_OK
    if isinstance(exc.code, int):
        return exc.code
    return EXIT_USAGE


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# -- input --------------------------------------------------------------------------------
def _read(path: str) -> str:
    """The text of ``path`` (``-``: stdin)."""
    if path == _STDIN:
        try:
            return sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise _Failure(_STDIN_NAME, f"not UTF-8 text ({exc.reason})", EXIT_USAGE) from None
        except OSError as exc:
            raise _Failure(_STDIN_NAME, f"cannot read: {exc.strerror or exc}",
                           EXIT_USAGE) from None
    try:
        with open(path, encoding="utf-8-sig") as file:
            return file.read()
    except UnicodeDecodeError as exc:
        raise _Failure(path, f"not UTF-8 text (byte {exc.start}: {exc.reason})",
                       EXIT_USAGE) from None
    except OSError as exc:
        raise _Failure(path, f"cannot read: {exc.strerror or exc}", EXIT_USAGE) from None


def _read_resource(source: str, resource: Any) -> str:
    try:
        return resource.read_text(encoding="utf-8")  # type: ignore[no-any-return]
    except OSError as exc:
        raise _Failure(source, f"cannot read the shipped example: {exc.strerror or exc}",
                       EXIT_USAGE) from None


def _load_document(path: str) -> Any:
    """FILE, parsed: YAML for ``.yaml``/``.yml``, JSON otherwise (and for stdin)."""
    if path != _STDIN and path.lower().endswith((".yaml", ".yml")):
        yaml = _import_yaml(path)  # before reading: a missing PyYAML is the first thing to fix
        return _parse_yaml(path, _read(path), yaml)
    return _parse_json(_STDIN_NAME if path == _STDIN else path, _read(path))


def _parse_json(source: str, text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise _Failure(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            EXIT_USAGE) from None
    except ValueError as exc:  # NaN, Infinity
        raise _Failure(source, f"invalid JSON: {exc}", EXIT_USAGE) from None
    except RecursionError:
        raise _Failure(source, "invalid JSON: nested too deeply", EXIT_USAGE) from None


def _import_yaml(source: str) -> Any:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise _Failure(
            source, "reading YAML needs PyYAML: pip install fastctx[yaml]", EXIT_USAGE
        ) from None


def _parse_yaml(source: str, text: str, yaml: Any) -> Any:
    try:
        document = yaml.load(text, Loader=_yaml_loader(yaml))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = exc.problem or exc.context or "syntax error"
        raise _Failure(source, f"invalid YAML{where}: {problem}", EXIT_USAGE) from None
    except yaml.YAMLError as exc:  # a ReaderError (a control character, say): its first line
        raise _Failure(source, f"invalid YAML: {str(exc).splitlines()[0]}",
                       EXIT_USAGE) from None
    except RecursionError:
        raise _Failure(source, "invalid YAML: nested too deeply", EXIT_USAGE) from None
    except ValueError as exc:  # a scalar PyYAML cannot convert: an int of 5,000 digits, say
        raise _Failure(source, f"invalid YAML: a value cannot be read: {str(exc).split(';')[0]}",
                       EXIT_USAGE) from None
    _check_yaml_is_json(source, document)
    return document


def _yaml_loader(yaml: Any) -> Any:
    """PyYAML's safe loader without timestamps: ``2024-05-01`` stays a string, as in JSON."""
    resolvers = {
        first: [(tag, regexp) for tag, regexp in pairs if tag != "tag:yaml.org,2002:timestamp"]
        for first, pairs in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return type("JSONSafeLoader", (yaml.SafeLoader,), {"yaml_implicit_resolvers": resolvers})


def _check_yaml_is_json(source: str, document: Any) -> None:
    """Reject what YAML has and JSON has not (non-string keys, sets, bytes, NaN), and
    documents that aliases blow up or make recursive."""
    max_depth = limits.LIMITS.max_depth
    stack: list[tuple[Any, str, int]] = [(document, "$", 0)]
    nodes = 0
    while stack:
        value, path, depth = stack.pop()
        nodes += 1
        if nodes > _MAX_YAML_NODES:
            raise _Failure(source, f"invalid YAML: more than {_MAX_YAML_NODES} values "
                                   "once aliases are expanded", EXIT_USAGE)
        kind = type(value)
        if value is None or kind is str or kind is bool or kind is int:
            continue
        if kind is float:
            if value != value or value in (float("inf"), float("-inf")):
                raise _Failure(source, f"{_short(path)}: {value} is not a JSON value",
                               EXIT_USAGE)
            continue
        if depth >= max_depth:
            raise _Failure(source, f"{_short(path)}: nested deeper than max_depth="
                                   f"{max_depth} (a recursive alias?)", EXIT_USAGE)
        if kind is dict:
            for key, member in value.items():
                if type(key) is not str:
                    raise _Failure(
                        source, f"{_short(path)}: the key {key!r} is not a string; "
                                "JSON keys are strings (quote it)", EXIT_USAGE)
                stack.append((member, f"{path}.{key}", depth + 1))
        elif kind is list:
            stack.extend((member, f"{path}[{i}]", depth + 1) for i, member in enumerate(value))
        else:
            raise _Failure(source, f"{_short(path)}: a {kind.__name__} value is not JSON",
                           EXIT_USAGE)


def _short(path: str, width: int = 60) -> str:
    """A document path cut to ``width`` characters (its end is what locates the problem)."""
    return path if len(path) <= width else f"...{path[-(width - 3):]}"


def _context_from_args(args: argparse.Namespace) -> tuple[WorkflowContext,
                                                           dict[str, Any]]:
    if args.context is None:
        return _load_context("--context", "{}", args)
    source = _STDIN_NAME if args.context == _STDIN else args.context
    return _load_context(source, _read(args.context), args)


def _load_context(
    source: str, text: str, args: argparse.Namespace,
) -> tuple[WorkflowContext, dict[str, Any]]:
    """The context of a context file, with ``--item``/``--index`` applied, and its keystore
    (to keep its values out of error messages)."""
    data = _parse_json(source, text)
    if type(data) is not dict:
        raise _Failure(source, f"a context file holds a JSON object, not {a_type_name(data)}",
                       EXIT_USAGE)
    keystore = data.get("keystore")
    secrets: dict[str, Any] = keystore if type(keystore) is dict else {}
    unknown = [key for key in data if key not in _EXPORT_KEYS and key not in _CLI_KEYS]
    if unknown:
        raise _Failure(
            source, f"unknown keys: {', '.join(unknown)} (a context file has "
                    f"{', '.join(_EXPORT_KEYS + _CLI_KEYS)})", EXIT_USAGE)
    export = {key: data[key] for key in _EXPORT_KEYS if key in data}
    item = args.item.value if args.item is not None else data.get("item")
    index = args.index if args.index is not None else data.get("index", 0)
    has_item = (args.item is not None or args.index is not None
                or "item" in data or "index" in data)
    has_last = "last_result" in data or "last_outcome" in data
    outcome_name = data.get("last_outcome", TaskOutcome.SUCCEEDED.value)
    outcome = OUTCOMES.get(outcome_name) if type(outcome_name) is str else None
    if has_last and outcome is None:
        raise _Failure(
            source, f"\"last_outcome\" must be one of {', '.join(map(repr, OUTCOMES))}",
            EXIT_USAGE)
    try:
        ctx: WorkflowContext = WorkflowContext.from_export(export)
        if has_item:
            ctx.set_current_item(item, index)
        if has_last and outcome is not None:
            ctx.set_last_task_outcome(data.get("last_result"), outcome)
    except ContextError as exc:
        message = _scrub(f"{type(exc).__name__}: {exc}", secrets)
        raise _Failure(source, message, EXIT_USAGE) from None
    return ctx, secrets


# -- output and errors --------------------------------------------------------------------
def _print_json(source: str, value: Any) -> None:
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _Failure(source, f"the result is not JSON: {exc}", EXIT_ERROR) from None
    except RecursionError:
        raise _Failure(source, "the result is not JSON: nested too deeply",
                       EXIT_ERROR) from None
    try:
        print(text)
    except UnicodeEncodeError:  # a terminal that cannot show the text: escape it
        print(json.dumps(value, indent=2, ensure_ascii=True, allow_nan=False))


def _template_failure(source: str, exc: ContextError, keystore: dict[str, Any]) -> _Failure:
    return _Failure(source, _scrub(f"{type(exc).__name__}: {exc}", keystore), EXIT_ERROR)


def _scrub(message: str, keystore: dict[str, Any]) -> str:
    """``message`` without keystore values (the library scrubs its own messages; this
    covers the command line's too)."""
    return scrub_secrets(message, keystore)
