"""The outcome of the last task, as ``set_last_task_outcome`` records it."""

from __future__ import annotations

import enum

__all__ = ["OUTCOMES", "TaskOutcome"]


class TaskOutcome(enum.Enum):
    """How the last task ended: what ``succeeded()``, ``failed()`` and ``timed_out()`` test."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"


#: Each outcome by its name, which is also the name of the function that tests for it in a
#: template (``succeeded()``) and its spelling in a context file (``"last_outcome"``).
OUTCOMES: dict[str, TaskOutcome] = {outcome.value: outcome for outcome in TaskOutcome}
