"""``python -m fastctx``: the command line."""

from .cli import main

raise SystemExit(main())
