"""The same rows on both runtimes (issue 12, item 3).

The whole graph runs twice with one faker seed, count and clock: on the embedded runtime
(SQLite catalog, local files, local Spark through pyiceberg, dbt-duckdb) and on the loopback
platform (REST catalog behind Keycloak, S3, Spark Connect writing Iceberg natively, dbt-trino).
Every table of the four layers must hold the same rows: count and an order-independent checksum
over its columns. Left out, because they differ between any two runs: Airbyte's and the
audit's ``_`` bookkeeping columns (ids, extraction instants) and ``updated_at``, which
source-faker stamps with its clock as it runs (pinned at the start, then ticking). Trino then
answers ``lakehouse sql`` with the count DuckDB gives embedded.

Each demo runs in its own process (a local and a Connect Spark session do not mix in one) at
one fixed instant, 2000-06-30, the connector included: faker's dates run from 2000 to "now",
so the whole history is half a year of daily partitions (more than Trino's default 100 open
writers, which a backfill must pass) and every purchase goes through every layer (at today's
instant a cheap window would hold a handful). The engines, Keycloak's tokens and S3's
signatures keep the wall clock; the clients renew tokens by their lifetime, not the clock. The platform's warehouse is emptied first: the demo is incremental, and rows of an
earlier ``make platform-demo`` would rightly stay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.catalog import build_catalog
from lakehouse.loopback.layout import Layout
from lakehouse.loopback.warehouse import GRAPH_NAMESPACES, empty_graph_tables
from lakehouse.settings import load_settings
from tests.platform.conftest import environment

pytestmark = pytest.mark.slow
FAKER = {"LAKEHOUSE_FAKER_COUNT": "1000", "LAKEHOUSE_FAKER_SEED": "42"}
INSTANT = dt.datetime(2000, 6, 30, 12, 0, tzinfo=dt.UTC)
RUN_STAMPED = frozenset({"updated_at"})
# `lakehouse demo` at the instant (the connectors and engines it starts keep the wall clock;
# faker takes the instant through LAKEHOUSE_FAKER_NOW).
PINNED_DEMO = """
import sys, time_machine
with time_machine.travel(sys.argv[1], tick=True):
    from lakehouse.cli.main import main
    code = main(sys.argv[2:])
raise SystemExit(code)
"""
DEMO_TIMEOUT_SECONDS = 900


@dataclass
class Runs:
    embedded: dict[str, str]
    platform: dict[str, str]
    logs: dict[str, str]


# pyspark's Connect builder marks this process's environment (SPARK_CONNECT_MODE_ENABLED,
# SPARK_REMOTE) once another test's session has started: a child would then refuse local Spark.
INHERITED_NOT = ("LAKEHOUSE_", "DAGSTER_HOME", "SPARK_REMOTE", "SPARK_CONNECT_", "SPARK_LOCAL_")


def _process_environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its settings and Spark modes, plus ``settings``."""
    keep = {name: value for name, value in os.environ.items() if not name.startswith(INHERITED_NOT)}
    return keep | settings


def _demo(settings: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    now = INSTANT.isoformat()
    return subprocess.Popen(
        [sys.executable, "-c", PINNED_DEMO, now, "demo"],
        env=_process_environment(settings | FAKER | {"LAKEHOUSE_FAKER_NOW": now}),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def runs(platform: Layout, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """The demo on both runtimes at once (each mostly waits on its own engines)."""
    home = tmp_path_factory.mktemp("same-rows")
    embedded = {"LAKEHOUSE_HOME": str(home / "embedded")}
    # An ephemeral Dagster instance (no DAGSTER_HOME): the loopback's instance remembers the
    # partitions of earlier demos, which would narrow this run's range.
    on_platform = environment(platform, "rest", LAKEHOUSE_HOME=str(home / "platform"))
    on_platform.pop("DAGSTER_HOME", None)
    # Every namespace, governance's too: a table that `make platform-demo` committed to today
    # refuses this run's commits at 2000-06-30 (Iceberg: a snapshot older than the last one).
    catalog = build_catalog(load_settings(on_platform))
    empty_graph_tables(catalog, [".".join(namespace) for namespace in catalog.list_namespaces()])
    logs = {name: home / f"{name}.log" for name in ("embedded", "platform")}
    processes = {
        "embedded": _demo(embedded, logs["embedded"]),
        "platform": _demo(on_platform, logs["platform"]),
    }
    for name, process in processes.items():
        code = process.wait(timeout=DEMO_TIMEOUT_SECONDS)
        assert code == 0, f"{name} demo failed:\n{logs[name].read_text()[-6000:]}"
    yield Runs(embedded, on_platform, {name: log.read_text() for name, log in logs.items()})


def _canonical(value: Any) -> Any:
    """One spelling per value whatever the engine's type: instants in UTC to the microsecond,
    numbers as floats to 12 significant digits (Trino's decimals, DuckDB's doubles)."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return format(float(value), ".12g")
    return str(value)


def fingerprint(table: pa.Table) -> dict[str, Any]:
    """Rows, columns, and a checksum per column and for the whole table, all order-independent."""
    columns = sorted(
        name for name in table.column_names if not name.startswith("_") and name not in RUN_STAMPED
    )
    values = {name: [_canonical(v) for v in table[name].to_pylist()] for name in columns}
    rows = sorted(json.dumps(row) for row in zip(*values.values(), strict=True))

    def digest(lines: list[str]) -> str:
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]

    return {
        "rows": table.num_rows,
        "columns": columns,
        "checksum": digest(rows),
        "by_column": {name: digest(sorted(map(json.dumps, values[name]))) for name in columns},
    }


def fingerprints(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {
        ".".join(identifier): fingerprint(catalog.load_table(identifier).scan().to_arrow())
        for namespace in GRAPH_NAMESPACES
        for identifier in sorted(catalog.list_tables(namespace))
    }


def test_every_table_holds_the_same_rows_on_both_runtimes(runs: Runs) -> None:
    embedded = fingerprints(build_catalog(load_settings(runs.embedded)))
    platform = fingerprints(build_catalog(load_settings(runs.platform)))
    assert sorted(platform) == sorted(embedded)
    assert {"raw.faker_purchases", "analytics.fct_purchases", "ml.customer_features"} <= set(
        embedded
    )
    differences = {
        table: {
            "rows": (embedded[table]["rows"], platform[table]["rows"]),
            "columns differing": sorted(
                name
                for name in set(embedded[table]["columns"]) | set(platform[table]["columns"])
                if embedded[table]["by_column"].get(name) != platform[table]["by_column"].get(name)
            ),
        }
        for table in embedded
        if embedded[table] != platform[table]
    }
    assert not differences, json.dumps(differences, indent=1)
    rows = {table: fingerprint["rows"] for table, fingerprint in embedded.items()}
    # Every table has rows; every staged purchase reaches the fact (faker also dates some later
    # in the year: those belong to no partition yet, on both runtimes).
    assert rows["staging.purchases"] == rows["analytics.fct_purchases"] > 500, rows
    assert all(rows.values()), rows


def _sql_count(settings: dict[str, str]) -> int:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "lakehouse"),
            "sql",
            "--json",
            "select count(*) as n from analytics.fct_purchases",
        ],
        env=_process_environment(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)[0]["n"])


def test_trino_counts_what_duckdb_counts_through_lakehouse_sql(runs: Runs, trino) -> None:
    embedded = _sql_count(runs.embedded)
    assert embedded > 0
    assert _sql_count(runs.platform) == embedded
    # And Trino's own catalog of the table, as an analyst on the platform reads it.
    assert trino("select count(*) from iceberg.analytics.fct_purchases") == [[embedded]]
