"""A custom engine for tests/test_distributed.py, created when this module is imported.

The workers of the test cluster import it by name (``map_items(..., engine_modules=
["distributed_engine"])``), the way an executor names the module that creates its engine.
"""

from __future__ import annotations

import fastctx


def _shout(value: str) -> str:
    return f"{value.upper()}!"


ENGINE = fastctx.Engine("distributed-test-engine", functions={"shout": _shout},
                        limits={"max_output": 50})
