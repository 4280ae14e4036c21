"""``lakehouse sql "<query>"``: an analyst's way into the lakehouse from a shell.

The query runs on the engine the analytics layer is built with (``lakehouse/cli/sql_engines.py``):
DuckDB over the Iceberg tables embedded, Trino on the platform. The result prints as a table,
or with ``--json`` as a JSON array of row objects; a bad query, a missing table or a refused
connection is one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any

COMMAND = "sql"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query", help='one read-only query, e.g. "select count(*) from analytics.fct_purchases"'
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array of row objects")


def run(args: argparse.Namespace) -> int:
    from lakehouse.catalog import CatalogUnavailableError
    from lakehouse.cli.sql_engines import QueryError, run_query
    from lakehouse.platform_access import PlatformAccessError
    from lakehouse.settings import get_settings

    try:
        result = run_query(get_settings(), args.query)
    except (QueryError, PlatformAccessError, CatalogUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        print(json.dumps(rows, default=json_value))
    else:
        print(render_table(result.columns, result.rows))
    return 0


def render_table(columns: list[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows under their column names, numbers right-aligned, and the row count (as psql)."""
    from tabulate import tabulate

    count = f"({len(rows)} row{'' if len(rows) == 1 else 's'})"
    table = tabulate(
        [[_cell(value) for value in row] for row in rows],
        headers=columns,
        tablefmt="simple",
        disable_numparse=True,
        colalign=[_alignment(rows, index) for index in range(len(columns))],
    )
    return f"{table}\n{count}"


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _alignment(rows: Sequence[Sequence[Any]], index: int) -> str:
    numbers = (int, float, decimal.Decimal)
    values = [row[index] for row in rows if row[index] is not None]
    numeric = values and all(isinstance(v, numbers) and not isinstance(v, bool) for v in values)
    return "right" if numeric else "left"


def json_value(value: Any) -> Any:
    """What JSON cannot hold natively: instants as ISO 8601, decimals as exact strings."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
