"""``python -m deid``: run the command line (see :mod:`deid.cli`)."""

from deid.cli import main

raise SystemExit(main())
