"""Templates and expressions compiled once and cached: the entry points both cores call.

Every source is parsed once with Jinja2's own parser (in the sandbox) and cached:

- a template of literal text and compilable expressions (``ping {{ item.host }}``) becomes a
  tuple of parts the core renders itself (``fastctx._opcodes``), with no Jinja2 context;
- an expression in the compiled subset becomes a tuple the core evaluates;
- anything else becomes a :class:`JinjaProgram`: the sandbox renders the rewritten tree
  (``fastctx._rewrite``), whose look-ups use the same data rules.

Both paths print with ``fastctx._data.to_text`` and report failures through
``fastctx._reporting``, so they give the same output and the same errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.runtime import Undefined

from . import limits
from ._cache import remember
from ._compiler import Compiler, compile_node
from ._data import ContextView, join_output
from ._opcodes import OP_PATH
from ._reporting import error_for, quote
from ._rewrite import path_of, rewrite
from ._sandbox import SANDBOX, Missing, WorkflowJinjaContext
from .errors import LimitExceeded, TypeConversion

__all__ = ["EXPRESSIONS", "JSON_STRINGS", "TEMPLATES", "JinjaProgram", "classify_json_string",
           "compile_expression", "compile_template", "jinja_only", "native", "pure_expression"]

_MAX_CACHED = 4096
COMPILER = Compiler(SANDBOX, path_of)


class JinjaProgram:
    """A template or expression compiled by the sandbox, rendered against a context."""

    __slots__ = ("source", "template", "is_expression")

    def __init__(self, source: str, tree: nodes.Template, is_expression: bool) -> None:
        self.source = source
        self.is_expression = is_expression
        self.template = SANDBOX.from_string(rewrite(tree))

    def _context(self, wf: ContextView) -> WorkflowJinjaContext:
        jctx = WorkflowJinjaContext(SANDBOX, SANDBOX.globals, None, self.template.blocks)
        jctx.wf = wf
        jctx.wf_budget = [limits.LIMITS.max_loop_iterations]  # type: ignore[attr-defined]
        jctx.wf_depth = [0]  # type: ignore[attr-defined]
        jctx.wf_range_budget = [limits.LIMITS.max_loop_iterations]  # type: ignore[attr-defined]
        return jctx

    def render(self, wf: ContextView) -> str:
        try:
            return join_output(self.template.root_render_func(self._context(wf)))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ContextError
            error = error_for(exc, self.source, wf)
        raise error

    def evaluate(self, wf: ContextView, name: str | None = None) -> Any:
        """The expression's value; errors name ``name`` (the template it came from)."""
        try:
            jctx = self._context(wf)
            made = Missing.made
            for _ in self.template.root_render_func(jctx):
                pass
            return native(jctx.vars["result"], Missing.made != made)
        except Exception as exc:  # noqa: BLE001
            error = error_for(exc, name or self.source, wf)
        raise error


def native(value: Any, deep: bool = False) -> Any:
    """An expression's result as a value: an undefined one raises, a tuple or an iterator
    (``(1, 2)``, ``map``, ``reverse``) becomes a list, Markup a plain string.

    ``deep``: the evaluation made an undefined value, which may sit inside a list or dict
    it built; look for it (only then: a stored value holds none, and may be large).
    """
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if deep:
        stack = [value]
        while stack:
            member = stack.pop()
            if isinstance(member, Undefined):
                member._fail_with_undefined_error()
            if isinstance(member, (list, tuple)):  # groupby makes tuple subclasses
                stack.extend(member)
            elif type(member) is dict:
                stack.extend(member.values())
    kind = type(value)
    if kind is tuple or isinstance(value, Iterator):  # e.g. items: a list of pairs
        return [native(member) if type(member) is tuple or isinstance(member, Iterator)
                else member for member in value]
    if isinstance(value, str) and kind is not str:
        return str(value)
    if callable(value) or kind.__module__.startswith("jinja2"):
        raise TypeConversion(f"the expression's value is a {kind.__name__}, not data "
                             "(a function is called: f(x))")
    return value


def _check_source(source: Any, what: str) -> str:
    if type(source) is not str:
        raise TypeConversion(f"{what} must be a string, not {type(source).__name__}")
    if len(source) > limits.LIMITS.max_template_length:
        raise LimitExceeded(
            f"{what} {quote(source)} is longer than max_template_length="
            f"{limits.LIMITS.max_template_length}", "max_template_length")
    return source


def fast_parts(tree: nodes.Template) -> tuple[Any, ...] | None:
    """The fast path's parts if the template is only literal text and compilable
    expressions: a string, a path tuple ``(root, key, ...)`` or a compiled expression."""
    parts: list[Any] = []
    for output in tree.body:
        if not isinstance(output, nodes.Output):
            return None
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
                continue
            compiled = compile_node(COMPILER, node)
            if compiled is None:
                return None
            parts.append(compiled[1] if compiled[0] == OP_PATH else compiled)
    return tuple(parts)


#: Caches shared by both cores: source -> program (a tuple the core runs, or a JinjaProgram).
TEMPLATES: dict[str, Any] = {}
EXPRESSIONS: dict[str, Any] = {}
#: render_json strings -> the expression of a pure "{{ expr }}", or "" for other templates.
JSON_STRINGS: dict[str, str] = {}


def _forget_compiled() -> None:
    """Templates were compiled and checked under the old limits: compile them again."""
    TEMPLATES.clear()
    EXPRESSIONS.clear()
    JSON_STRINGS.clear()


limits.on_change(_forget_compiled)


def compile_template(source: str, wf: ContextView | None = None) -> Any:
    """A cached template: a tuple of fast-path parts, or a :class:`JinjaProgram`.

    ``wf``: the context it is compiled for, whose secrets an error message must not show
    (a template's own text may hold one)."""
    program = TEMPLATES.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "template")
        tree = SANDBOX.parse(source)
        program = fast_parts(tree) or JinjaProgram(source, tree, False)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        return remember(TEMPLATES, source, program, _MAX_CACHED)
    raise error  # outside the except: the original may quote a secret


def parse_expression(source: str) -> nodes.Expr:
    """Parse one Jinja2 expression (no braces); the whole source must be used."""
    parser = Parser(SANDBOX, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the expression",
                                  token.lineno, None, None)
    return expr


def compile_expression(source: str, wf: ContextView | None = None) -> Any:
    """A cached expression: a compiled tuple, or a :class:`JinjaProgram` (``wf`` as for
    :func:`compile_template`)."""
    program = EXPRESSIONS.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "expression")
        expr = parse_expression(source)
        program = compile_node(COMPILER, expr)
        if program is None:
            body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
            program = JinjaProgram(source, nodes.Template(body, lineno=1), True)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        return remember(EXPRESSIONS, source, program, _MAX_CACHED)
    raise error  # outside the except: the original may quote a secret


def jinja_only(source: str, is_expression: bool) -> JinjaProgram:
    """The sandboxed Jinja2 program of a template or expression, never the compiled form:
    what the differential tests compare the fast path against."""
    if is_expression:
        body = [nodes.Assign(nodes.Name("result", "store"), parse_expression(source),
                             lineno=1)]
        return JinjaProgram(source, nodes.Template(body, lineno=1), True)
    return JinjaProgram(source, SANDBOX.parse(source), False)


def classify_json_string(text: str) -> str:
    """For render_json: the expression of a pure ``{{ expr }}``, else "" (cached)."""
    expression = JSON_STRINGS.get(text)
    if expression is None:
        expression = ""
        if len(text) <= limits.LIMITS.max_template_length:
            expression = pure_expression(text) or ""
        remember(JSON_STRINGS, text, expression, _MAX_CACHED)
    return expression


def pure_expression(source: str) -> str | None:
    """The expression inside a string that is exactly one ``{{ expr }}`` (with white space
    around it allowed), else None. Jinja2's lexer decides, so ``{{ n }}}`` is not one."""
    text = source.strip()
    if not (text.startswith("{{") and text.endswith("}}")):
        return None
    try:
        tokens = [token for token in SANDBOX.lexer.tokenize(source)
                  if token.type != "data" or token.value.strip()]
    except TemplateSyntaxError:
        return None
    if len(tokens) < 2 or tokens[0].type != "variable_begin" \
            or tokens[-1].type != "variable_end" \
            or any(token.type in ("variable_begin", "variable_end", "block_begin", "data")
                   for token in tokens[1:-1]):
        return None
    inner = text[2:-2]
    if inner.startswith("-"):  # {{- : white-space control, not a minus sign
        inner = inner[1:]
    if inner.endswith("-"):
        inner = inner[:-1]
    return inner
