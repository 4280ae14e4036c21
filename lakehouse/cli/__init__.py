"""The ``lakehouse`` operator command, one module per command group (``main.py`` wires them).

The CLI stands at the top of the house: it may import every layer (the quarantine replay needs
each table's contract), and nothing imports it back.
"""

from lakehouse.cli.main import main

__all__ = ["main"]
