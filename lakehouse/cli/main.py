"""The ``lakehouse`` operator command: inspect tables, diagnose the setup, run the demo."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from lakehouse.cli import platform as platform_cli
from lakehouse.cli import publish_staged as staged
from lakehouse.cli import sql as sql_cli
from lakehouse.cli.audit import COMMAND as AUDIT_COMMAND
from lakehouse.cli.audit import add_audit_commands, run_audit_command
from lakehouse.cli.governance import COMMANDS as GOVERNANCE_COMMANDS
from lakehouse.cli.governance import add_governance_commands, run_governance_command
from lakehouse.cli.quarantine import COMMAND as QUARANTINE_COMMAND
from lakehouse.cli.quarantine import add_quarantine_commands, run_quarantine_command
from lakehouse.cli.upkeep import COMMANDS as UPKEEP_COMMANDS
from lakehouse.cli.upkeep import add_upkeep_commands, run_upkeep_command


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="print a failure's traceback, not one line"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    tables = commands.add_parser("tables", help="list every Iceberg table with its size")
    tables.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands.add_parser("doctor", help="check settings, catalog, warehouse, Java and connectors")
    demo = commands.add_parser("demo", help="materialise every asset on the configured runtime")
    demo.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        type=_day,
        help="leave the months before this day's month out (default: the whole history)",
    )
    demo.add_argument(
        "--verbose",
        action="store_true",
        help="show the engines' output (Spark, dbt, Dagster's debug events) here instead of "
        "in the log file under <LAKEHOUSE_HOME>/logs/",
    )
    sql_cli.add_arguments(
        commands.add_parser(
            sql_cli.COMMAND,
            help="run a read-only SQL query over the lakehouse (DuckDB embedded, Trino on the "
            "platform) and print the result",
        )
    )
    platform_cli.add_arguments(
        commands.add_parser(platform_cli.COMMAND, help="the loopback platform (make platform-up)")
    )
    add_upkeep_commands(commands)  # restore, erase
    add_quarantine_commands(commands)  # quarantine list|replay
    add_audit_commands(commands)  # audit list|verify|init-db|serve-trino-events
    add_governance_commands(commands)  # archive list|restore, gdpr export
    staged.add_arguments(
        commands.add_parser(
            staged.COMMAND,
            help="audit a staging table's audit branch written outside Dagster (a "
            "SparkApplication's --stage-only run) and publish it if its contract passes",
        )
    )
    args = parser.parse_args(argv)
    try:
        if args.command in UPKEEP_COMMANDS:
            return run_upkeep_command(args)
        if args.command == QUARANTINE_COMMAND:
            return run_quarantine_command(args)
        if args.command == AUDIT_COMMAND:
            return run_audit_command(args)
        if args.command in GOVERNANCE_COMMANDS:
            return run_governance_command(args)
        if args.command == staged.COMMAND:
            return staged.run(args)
        if args.command == sql_cli.COMMAND:
            return sql_cli.run(args)
        if args.command == platform_cli.COMMAND:
            return platform_cli.run(args)
        if args.command == "tables":
            from lakehouse.cli.inventory import print_tables

            return print_tables(as_json=args.json)
        if args.command == "doctor":
            from lakehouse.cli.doctor import run_doctor

            return run_doctor()
        from lakehouse.cli.demo import demo_command

        return demo_command(since=args.since, verbose=args.verbose)
    except Exception as error:  # one line naming the fix (lakehouse/cli/failures.py)
        if args.debug:
            raise
        from lakehouse.cli.failures import one_line

        line, code = one_line(error)
        print(f"error: {line}", file=sys.stderr)
        return code


def _day(value: str) -> str:
    """A partition day as argparse checks it: ``--since 2025-01-01``."""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day (YYYY-MM-DD)") from None
