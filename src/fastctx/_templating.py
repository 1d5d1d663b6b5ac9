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
from ._cache import forget, remember
from ._compiler import JINJA_NAMES, compile_node
from ._data import ContextView, join_output
from ._engine import DEFAULT_ENGINE, Engine
from ._opcodes import (
    OP_BRANCH,
    OP_BUDGET,
    OP_CALL,
    OP_LOOP,
    OP_PATH,
    OP_TEXT,
    budgeted,
    charges_work,
    checked,
    loops,
)
from ._reporting import error_for, quote
from ._rewrite import rewrite
from ._sandbox import Missing, WorkflowJinjaContext
from .errors import LimitExceeded, TypeConversion

__all__ = ["EXPRESSIONS", "JSON_STRINGS", "TEMPLATES", "JinjaProgram", "classify_json_string",
           "compile_expression", "compile_template", "jinja_only", "native", "pure_expression"]


class JinjaProgram:
    """A template or expression compiled by the sandbox, rendered against a context."""

    __slots__ = ("source", "template", "is_expression", "engine")

    def __init__(self, source: str, tree: nodes.Template, is_expression: bool,
                 engine: Engine = DEFAULT_ENGINE) -> None:
        self.source = source
        self.is_expression = is_expression
        self.engine = engine
        self.template = engine.sandbox.from_string(rewrite(tree))

    def _context(self, wf: ContextView) -> WorkflowJinjaContext:
        env = self.template.environment
        jctx = WorkflowJinjaContext(env, env.globals, None, self.template.blocks)
        jctx.wf = wf
        in_force = limits.current()
        jctx.wf_budget = [in_force.max_loop_iterations]  # type: ignore[attr-defined]
        jctx.wf_depth = [0]  # type: ignore[attr-defined]
        jctx.wf_range_budget = [in_force.max_loop_iterations]  # type: ignore[attr-defined]
        jctx.wf_work = [in_force.max_work]  # type: ignore[attr-defined]
        return jctx

    def render(self, wf: ContextView) -> str:
        try:
            return join_output(self.template.root_render_func(self._context(wf)))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a ContextError
            error = error_for(exc, self.source, wf)
        self._forget_if_limited(error)
        raise error

    def _forget_if_limited(self, error: Exception) -> None:
        """A program whose run hit a limit leaves the cache: it would hit it again, and what
        it holds (compiled code of a template near the length limit) is not kept for that."""
        if isinstance(error, LimitExceeded):
            cache = self.engine.expressions if self.is_expression else self.engine.templates
            forget(cache, self.source, self.engine.sizes[id(cache)])

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
        self._forget_if_limited(error)
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
    if len(source) > limits.current().max_template_length:
        raise LimitExceeded(
            f"{what} {quote(source)} is longer than max_template_length="
            f"{limits.current().max_template_length}", "max_template_length")
    return source


def fast_parts(tree: nodes.Template, engine: Engine) -> tuple[Any, ...] | None:
    """The fast path's parts if the template is only literal text, compilable expressions and
    ``{% if %}`` and ``{% for %}`` blocks of them: a string, a path tuple ``(root, key, ...)``,
    a compiled expression (which, for an engine that prints as Jinja2 does, prints its value
    itself), an ``OP_BRANCH`` or an ``OP_LOOP``."""
    parts = _parts(tree.body, engine.compiler)
    if parts is not None and charges_work(parts):  # its calls are charged to one budget
        return ((OP_BUDGET, parts, 2 if loops(parts) else True),)
    return parts


def _parts(body: list[nodes.Node], compiler: Any) -> tuple[Any, ...] | None:
    printer = compiler.printer
    parts: list[Any] = []
    for statement in body:
        if isinstance(statement, (nodes.If, nodes.For)):
            block = _branch(statement, compiler) if isinstance(statement, nodes.If) \
                else _loop(statement, compiler)
            if block is None:
                return None
            parts.append(block)
            continue
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            if isinstance(node, nodes.TemplateData):
                parts.append(node.data)
                continue
            compiled = compile_node(compiler, node)
            if compiled is None:
                return None
            if printer is not None:
                parts.append((OP_CALL, printer, (compiled,)))
            else:
                parts.append(compiled[1] if compiled[0] == OP_PATH else compiled)
    return tuple(parts)


def _branch(block: nodes.If, compiler: Any) -> tuple[Any, ...] | None:
    """``{% if a %}x{% elif b %}y{% else %}z{% endif %}`` as
    ``(OP_BRANCH, a, x, ((OP_BRANCH, b, y, z),))``, or None."""
    otherwise = _parts(block.else_, compiler)
    branch: tuple[Any, ...] | None = None
    for alternative in reversed([block, *block.elif_]):
        test = compile_node(compiler, alternative.test)
        then = _parts(alternative.body, compiler)
        if test is None or then is None or otherwise is None:
            return None
        branch = (OP_BRANCH, test, then, otherwise)
        otherwise = (branch,)
    return branch


def _loop(block: nodes.For, compiler: Any) -> tuple[Any, ...] | None:
    """``{% for x in xs %}a{% else %}b{% endfor %}`` as ``(OP_LOOP, xs, a, b, uses_loop,
    sandbox)``, or None: one variable, no loop filter (``if``), not recursive."""
    if block.test is not None or block.recursive or not isinstance(block.target, nodes.Name) \
            or block.target.name in JINJA_NAMES:
        return None
    name = block.target.name
    iterable = compile_node(compiler, block.iter)
    frame = [name, False]
    body = _parts(block.body, compiler.within(frame))
    # Jinja2 looks the names up in the template's context there, not in the loops around
    otherwise = _parts(block.else_, compiler.within(frozenset((name, "loop"))))
    if iterable is None or body is None or otherwise is None:
        return None
    return (OP_LOOP, iterable, body, otherwise, frame[1], compiler.sandbox)


#: The default engine's caches: source -> program (a tuple the core runs, or a
#: JinjaProgram); render_json strings -> what classify_json_string says they are.
TEMPLATES = DEFAULT_ENGINE.templates
EXPRESSIONS = DEFAULT_ENGINE.expressions
JSON_STRINGS = DEFAULT_ENGINE.json_strings


def compile_template(source: str, wf: ContextView | None = None,
                     engine: Engine = DEFAULT_ENGINE) -> Any:
    """A cached template of ``engine``: a tuple of fast-path parts, or a
    :class:`JinjaProgram`.

    ``wf``: the context it is compiled for, whose secrets an error message must not show
    (a template's own text may hold one)."""
    program = engine.templates.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "template")
        tree = engine.sandbox.parse(source)
        program = fast_parts(tree, engine) or JinjaProgram(source, tree, False, engine)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        return remember(engine.templates, source, program, engine.cache_size,
                        engine.sizes[id(engine.templates)])
    raise error  # outside the except: the original may quote a secret


def parse_expression(source: str, engine: Engine = DEFAULT_ENGINE) -> nodes.Expr:
    """Parse one Jinja2 expression (no braces); the whole source must be used."""
    parser = Parser(engine.sandbox, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the expression",
                                  token.lineno, None, None)
    return expr


def compile_expression(source: str, wf: ContextView | None = None,
                       engine: Engine = DEFAULT_ENGINE) -> Any:
    """A cached expression of ``engine``: a compiled tuple, or a :class:`JinjaProgram`
    (``wf`` as for :func:`compile_template`)."""
    program = engine.expressions.get(source)
    if program is not None:
        return program
    try:
        _check_source(source, "expression")
        expr = parse_expression(source, engine)
        program = compile_node(engine.compiler, expr)
        if program is not None:
            program = checked(budgeted(program))
        else:
            body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
            program = JinjaProgram(source, nodes.Template(body, lineno=1), True, engine)
    except Exception as exc:  # noqa: BLE001
        error = error_for(exc, source, wf)
    else:
        if "{{" in source or "{%" in source:
            # not cached: the compiled core takes a condition found in this cache for a
            # bare expression without looking for these (a template condition never is)
            return program
        return remember(engine.expressions, source, program, engine.cache_size,
                        engine.sizes[id(engine.expressions)])
    raise error  # outside the except: the original may quote a secret


def jinja_only(source: str, is_expression: bool,
               engine: Engine = DEFAULT_ENGINE) -> JinjaProgram:
    """The sandboxed Jinja2 program of a template or expression, never the compiled form:
    what the differential tests compare the fast path against."""
    if is_expression:
        body = [nodes.Assign(nodes.Name("result", "store"), parse_expression(source, engine),
                             lineno=1)]
        return JinjaProgram(source, nodes.Template(body, lineno=1), True, engine)
    return JinjaProgram(source, engine.sandbox.parse(source), False, engine)


def classify_json_string(text: str, engine: Engine = DEFAULT_ENGINE) -> Any:
    """For render_json (cached): what a string is, as a tuple the core evaluates when it
    compiles. A pure ``{{ expr }}`` is its expression's compiled program, or the expression's
    source when that needs the Jinja2 path or does not compile (its error is raised,
    scrubbed, when it is evaluated); any other string is a template: ``(OP_TEXT, parts)`` on
    the fast path, else "" (rendered as a template, which raises its error if it has one)."""
    entry: Any = engine.json_strings.get(text)
    if entry is None:
        entry = ""
        if len(text) <= limits.current().max_template_length:
            entry = pure_expression(text, engine) or ""
        try:
            if entry:
                program = compile_expression(entry, None, engine)
                entry = program if type(program) is tuple else entry
            else:
                program = compile_template(text, None, engine)
                entry = (OP_TEXT, program) if type(program) is tuple else ""
        except Exception:  # noqa: BLE001 - raised again where it is evaluated
            pass
        remember(engine.json_strings, text, entry, engine.cache_size,
                 engine.sizes[id(engine.json_strings)])
    return entry


def pure_expression(source: str, engine: Engine = DEFAULT_ENGINE) -> str | None:
    """The expression inside a string that is exactly one ``{{ expr }}`` (with white space
    around it allowed), else None. Jinja2's lexer decides, so ``{{ n }}}`` is not one."""
    text = source.strip()
    if not (text.startswith("{{") and text.endswith("}}")):
        return None
    try:
        tokens = [token for token in engine.sandbox.lexer.tokenize(source)
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
