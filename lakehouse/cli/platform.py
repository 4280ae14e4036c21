"""``lakehouse platform env``: point a shell at the loopback platform (``make platform-up``).

It prints ``export`` lines (``eval "$(lakehouse platform env)"``): the settings in the clear,
and for each secret a ``$(...)`` that reads it from the 0600 secrets file when the shell
evaluates the line, so no secret value is ever printed (lakehouse/loopback/environment.py).
"""

from __future__ import annotations

import argparse
import sys

COMMAND = "platform"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="platform_command", required=True)
    env = commands.add_parser(
        "env", help="print the `export LAKEHOUSE_...` lines that point a shell at the platform"
    )
    env.add_argument(
        "--catalog",
        choices=["rest", "sql"],
        default="rest",
        help="the REST catalog behind Keycloak (default) or the SQL catalog on PostgreSQL",
    )


def run(args: argparse.Namespace) -> int:
    from lakehouse.loopback.environment import export_lines
    from lakehouse.loopback.layout import LoopbackError, load_layout

    try:
        print("\n".join(export_lines(load_layout(), args.catalog)))
    except LoopbackError as error:
        print(f"error: loopback platform: {error}", file=sys.stderr)
        # For `eval "$(lakehouse platform env)" && ...`: eval of nothing succeeds, so the next
        # command would run against the embedded runtime; `false` makes the eval fail instead.
        print("false")
        return 1
    return 0
