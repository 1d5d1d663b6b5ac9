"""A typing check of the API: ``mypy --strict`` must reject this file (``nox -s lint`` runs it
and fails if mypy accepts it). Clones are typed as the context class, so a call of a method
the context does not have is caught before it runs."""

from fastctx import WorkflowContext

ctx = WorkflowContext({"count": 2})
view = ctx.with_item({"host": "web1"}, 0)
view.no_such_method()
