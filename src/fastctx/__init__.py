"""fastctx: a workflow execution context with O(1) clones and fast templates.

>>> from fastctx import WorkflowContext
>>> ctx = WorkflowContext({"count": 2}, {"greeting": "hello"})
>>> ctx.set_task_result("fetch", {"hosts": ["web1", "web2"]})
>>> views = [ctx.with_item(host, i) for i, host in enumerate(ctx.get_task_result("fetch")["hosts"])]
>>> views[1].render_template("ping -c {{ parameters.count }} {{ item }}")
'ping -c 2 web2'
>>> views[0].evaluate_condition("index == 0 and greeting == 'hello'")
True
"""

from __future__ import annotations

from . import limits
from ._data import JSONValue
from ._engine import DEFAULT_ENGINE, Engine, get_engine
from ._impl import IMPLEMENTATION, WorkflowContext
from ._outcome import TaskOutcome
from .errors import (
    ContextError,
    InvalidExpression,
    LimitExceeded,
    MergeConflict,
    SerializationError,
    TypeConversion,
    VariableNotFound,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ENGINE",
    "IMPLEMENTATION",
    "ContextError",
    "Engine",
    "InvalidExpression",
    "JSONValue",
    "LimitExceeded",
    "MergeConflict",
    "SerializationError",
    "TaskOutcome",
    "TypeConversion",
    "VariableNotFound",
    "WorkflowContext",
    "get_engine",
    "limits",
]
