"""String- and list-building filters and operators: each result is counted against its limit
before it is built, so an amplifying template stops with ``LimitExceeded`` small and fast.

Run in-process on both cores, at the default limits, with tracemalloc measuring the peak of
what Python allocates during the render and ``time.process_time`` its CPU.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from fastctx import LimitExceeded

MAX_PEAK_MB = 50
MAX_CPU_SECONDS = 2.0

AMPLIFIERS = {
    "center": "{% for i in range(50) %}{{ ''|center(999999) }}{% endfor %}",
    "indent": "{{ ('x\n' * 500000)|indent(1000000) }}",
    "replace": "{{ ('x' * 1000000)|replace('x', 'yy') }}",
    "join": "{{ range(100000)|join('x' * 100) }}",
    "format": "{{ '%s%s%s%s'|format('x' * 900000, 'x' * 900000, 'x' * 900000, 'x') }}",
    "string-times": "{{ 'x' * 1000000 ~ 'x' * 1000000 }}",
    "list-times-plus": "{{ ([1] * 1000000) + ([1] * 1000000) }}",
    "list-of-strings-times": "{{ ['x' * 900000] * 100 }}",
    "truncate": "{{ ('x' * 1000000)|truncate(999999, false, 'y' * 999) ~ 'x' * 10 }}",
    "batch-fill": "{{ range(100000)|batch(1000000, 'x' * 1000) }}",
    "slice-fill": "{{ range(10)|slice(1000000, 'x' * 1000) }}",
    "tojson-indent": "{{ [[[[1] * 1000] * 100]]|tojson(indent=1000) }}",
    "map-chain": "{{ range(100000)|map('string')|map('center', 1000)|join }}",
    "tilde-lists": "{{ (range(100000)|list) ~ (range(100000)|list) }}",
    "plus-lists": "{% set a = range(100000)|list %}{{ a + a + a + a + a + a + a + a + a + a }}",
    "range-printed": "{% for i in range(20) %}{{ range(100000)|list }}{% endfor %}",
    "wordwrap": "{{ ('x ' * 500000)|wordwrap(1) ~ 'xx' }}",
    "string-doubling": "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}",
}


@pytest.mark.parametrize("template", list(AMPLIFIERS.values()), ids=list(AMPLIFIERS))
def test_amplifying_templates_stop_small_and_fast(wc_class: type, template: str) -> None:
    ctx = wc_class({"p": 1})
    start = time.process_time()  # CPU measured apart: tracemalloc slows allocation down
    with pytest.raises(LimitExceeded):
        ctx.render_template(template)
    assert time.process_time() - start < MAX_CPU_SECONDS
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded):
            ctx.render_template(template)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_MB
    assert ctx.render_template("{{ parameters.p }}") == "1"  # still usable
