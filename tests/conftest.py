"""Every API test runs against both cores: the fixtures are in ``core_fixtures.py``.

``implementation`` ("python" or "cython") and ``wc_class`` (``WorkflowContext`` on that core), the
``--no-c-extensions`` option and the report header are shared with ``benchmarks/``.
"""

from __future__ import annotations

pytest_plugins = ["core_fixtures"]
