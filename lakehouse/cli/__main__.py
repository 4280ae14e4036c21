"""``python -m lakehouse.cli``: the same as the ``lakehouse`` command."""

from lakehouse.cli.main import main

raise SystemExit(main())
