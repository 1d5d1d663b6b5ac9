"""The outcome of the last task, as ``set_last_task_outcome`` records it."""

from __future__ import annotations

import enum

__all__ = ["TaskOutcome"]


class TaskOutcome(enum.Enum):
    """How the last task ended: what ``succeeded()``, ``failed()`` and ``timed_out()`` test."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
