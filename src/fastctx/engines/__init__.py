"""Engines fastctx ships: each module makes one engine, registered under its name when the
module is imported (``fastctx.get_engine`` then finds it, and pickles naming it load).

- :mod:`fastctx.engines.orquesta`: StackStorm Orquesta's Jinja functions, with StackStorm's
  filters, printing as Jinja2 prints.
"""

#: engine name -> the module that makes it (imported when a pickle names the engine).
SHIPPED = {"orquesta": "fastctx.engines.orquesta"}
