"""Regular expressions in templates match in linear time or are refused (``fastctx._regex``).

Without the ``re2`` extra, ``re`` compiles what cannot backtrack without bound, and the rest is
refused; with it, RE2 matches everything it can compile in linear time. Both ways are tested:
the ``re`` way always (``ENGINE`` set to it), the RE2 way where google-re2 is installed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fastctx import InvalidExpression, LimitExceeded, _regex

EVIL = ["(a+)+$", "(a*)*b", "(a|aa)+$", "(\\w+\\s?)+$", "(x+x+)+y", "((ab)*)+c"]
REFUSED_EVERYWHERE = ["(a)\\1", "(?=a)a", "(?!a)b", "(?<=a)b", "(?P<x>a)(?P=x)"]
FINE = [("^a+b", "aaab", True), ("[a-z]+\\d{3}", "ab123", True),
        ("\\d+\\.\\d+\\.\\d+(-[a-zA-Z]+)?", "8.0.34-x", True), ("(?:Ave|St|Dr)", "Main St", True),
        ("(x|y)+z", "xyz", True), ("^web\\d+$", "web12", True), ("colou?r", "color", True)]


@pytest.fixture(params=["re", "re2"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "re2" and _regex._re2 is None:
        pytest.skip("google-re2 is not installed (pip install 'fastctx[re2]')")
    monkeypatch.setattr(_regex, "ENGINE", request.param)
    yield request.param


@pytest.mark.parametrize(("pattern", "text", "found"), FINE)
def test_ordinary_patterns_work(engine: str, pattern: str, text: str, found: bool) -> None:
    assert (_regex.compile_pattern("match", pattern).search(text) is not None) is found


@pytest.mark.parametrize("pattern", EVIL)
def test_catastrophic_patterns_are_refused_or_linear(engine: str, pattern: str) -> None:
    if engine == "re":
        with pytest.raises(InvalidExpression, match="grows without bound"):
            _regex.compile_pattern("match", pattern)
        return
    compiled = _regex.compile_pattern("match", pattern)
    start = time.process_time()
    compiled.search("a" * 100_000 + "!")
    assert time.process_time() - start < 2  # exponential in re: hours at 40 characters


@pytest.mark.parametrize("pattern", REFUSED_EVERYWHERE)
def test_backreferences_and_lookaround_are_refused(engine: str, pattern: str) -> None:
    with pytest.raises(InvalidExpression, match="match\\(\\)"):
        _regex.compile_pattern("match", pattern)


def test_limits_and_errors(engine: str) -> None:
    with pytest.raises(LimitExceeded):
        _regex.compile_pattern("match", "a" * 1001)
    with pytest.raises(InvalidExpression, match="cannot use"):
        _regex.compile_pattern("match", "(unclosed")
    assert _regex.compile_pattern("m", "abc", ignorecase=True).search("xABCx") is not None


def test_templates_use_the_rule(wc_class: type) -> None:
    ctx = wc_class({"s": "a" * 40 + "b"})
    if _regex.ENGINE == "re":
        with pytest.raises(InvalidExpression, match="grows without bound"):
            ctx.render_template("{{ match('(a+)+$', parameters.s) }}")
    else:
        assert ctx.render_template("{{ match('(a+)+$', parameters.s) }}") == "false"
    assert ctx.render_template("{{ match('^a+b$', parameters.s) }}") == "true"
    assert ctx.render_template("{{ 'x' }}") == "x"  # still usable


# -- polynomial backtracking: charged to max_work before the match, on both paths ----------
POLYNOMIAL = [("a*a*a*b", "a"), (".*a.*b.*c", "a"), ("\\s*\\s*$", " "), ("\\s+$", " "),
              (".*error.*", "x"), ("a*b", "a"), (".*.*=.*", "x"), ("x*y*x*y*z", "xy"),
              ("(?:ab|a)(?:b|)" * 30 + "c", "ab"), ("^(\\w+\\s?)*$", "a ")]
TEMPLATES = ["{{ match(parameters.p, parameters.s) }}",                          # compiled
             "{% for _ in range(20) %}{{ match(parameters.p, parameters.s) }}{% endfor %}"]


@pytest.mark.parametrize(("pattern", "unit"), POLYNOMIAL)
@pytest.mark.parametrize("length", [1_000, 30_000, 1_000_000])
@pytest.mark.parametrize("template", TEMPLATES, ids=["compiled", "jinja-loop"])
def test_polynomial_patterns_stop_within_the_work_budget(
        wc_class: type, pattern: str, unit: str, length: int, template: str) -> None:
    ctx = wc_class({"p": pattern, "s": unit * (length // len(unit))})
    start = time.process_time()
    try:
        ctx.render_template(template)
    except InvalidExpression:
        assert _regex.ENGINE == "re"  # refused outright: an exponential shape
    except LimitExceeded as exc:
        assert exc.limit in ("max_work", "max_output")
    assert time.process_time() - start < 2


@pytest.mark.parametrize(("pattern", "text", "found"), [
    ("^\\d+$", "12345" * 1000, True), (".*error.*", "ok\n" * 3000 + "an error here\n", True),
    ("^(\\w+)@(\\w+)\\.com$", "someone@example.com", True), ("\\s+$", "words " * 2000, True),
    ("^web\\d+$", "web" + "1" * 50_000, True), ("a*b", "a" * 1000 + "b", True)])
def test_ordinary_patterns_on_ordinary_text_are_cheap(
        engine: str, pattern: str, text: str, found: bool) -> None:
    assert (_regex.compile_pattern("match", pattern).search(text) is not None) is found


def test_regex_replace_of_spaces_on_normal_text() -> None:
    from fastctx import WorkflowContext
    from fastctx.engines import orquesta

    ctx = WorkflowContext({"s": "a  b\t\tc\n d " * 20_000}, engine=orquesta.ENGINE)
    text = ctx.render_template("{{ parameters.s | regex_replace('\\\\s+', ' ') }}")
    assert text == "a b c d " * 20_000


def test_the_bound_is_charged_to_the_render(wc_class: type, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setattr(_regex, "ENGINE", "re")
    _regex._cache.clear()
    ctx = wc_class({"s": "a" * 3000})
    assert ctx.render_template("{{ match('a*b', parameters.s) }}") == "false"  # alone: fine
    with pytest.raises(LimitExceeded, match="max_work"):  # a thousand times: not
        ctx.render_template("{% for _ in range(1000) %}{{ match('a*b', parameters.s) }}"
                            "{% endfor %}")


@pytest.mark.parametrize("pattern", ["(a?a)*b", "(?:ab?)+", "(x?)*"])
def test_optional_parts_under_a_quantifier_are_refused_without_re2(pattern: str,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    monkeypatch.setattr(_regex, "ENGINE", "re")
    with pytest.raises(InvalidExpression, match="optional part"):
        _regex.compile_pattern("match", pattern)


def test_re2_logs_nothing_for_a_bad_pattern(capfd: pytest.CaptureFixture[str]) -> None:
    if _regex._re2 is None:
        pytest.skip("google-re2 is not installed (pip install 'fastctx[re2]')")
    with pytest.raises(InvalidExpression):
        _regex.compile_pattern("match", "(unclosed")
    with pytest.raises(InvalidExpression):
        _regex.compile_pattern("match", "a{2,1}x[")
    assert capfd.readouterr().err == ""
