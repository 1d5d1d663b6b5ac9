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
