"""`lakehouse sql` on the embedded runtime (DuckDB over the Iceberg tables, read-only), the
read-only guard of its Trino path, and `lakehouse platform env` with no platform."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.cli.main import main
from lakehouse.cli.sql_engines import QueryError, _single_read
from lakehouse.settings import get_settings, load_settings

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"
PURCHASES = pa.table(
    {
        "purchase_id": pa.array([1, 2, 3], pa.int64()),
        "net_revenue": pa.array(
            [decimal.Decimal("9.50"), None, decimal.Decimal("1.25")], pa.decimal128(10, 2)
        ),
        "created_at": pa.array(
            [dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC")
        ),
    }
)


@pytest.fixture
def lakehouse(tmp_path, monkeypatch) -> Path:
    """An embedded lakehouse holding analytics.fct_purchases; the process settings point at it."""
    for name in [key for key in os.environ if key.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    get_settings.cache_clear()
    catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    catalog.create_table("analytics.fct_purchases", schema=PURCHASES.schema).append(PURCHASES)
    yield tmp_path
    get_settings.cache_clear()


def test_a_query_prints_a_table_with_its_row_count(lakehouse, capsys):
    code = main(["sql", "select purchase_id, net_revenue from analytics.fct_purchases order by 1"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == ["purchase_id", "net_revenue"]
    assert [line.split() for line in out[2:5]] == [["1", "9.50"], ["2", "NULL"], ["3", "1.25"]]
    assert out[-1] == "(3 rows)"


def test_json_gives_row_objects_with_exact_decimals_and_iso_instants(lakehouse, capsys):
    code = main(["sql", "--json", "select * from analytics.fct_purchases where purchase_id = 1"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == [
        {"purchase_id": 1, "net_revenue": "9.50", "created_at": "2026-06-01T12:00:00+00:00"}
    ]


def test_the_cli_answers_the_acceptance_query(lakehouse):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    done = subprocess.run(
        [str(LAKEHOUSE), "sql", "--json", "select count(*) as n from analytics.fct_purchases"],
        env=clean | {"LAKEHOUSE_HOME": str(lakehouse)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"n": 3}]


def test_a_missing_table_is_one_line_naming_it(lakehouse, capsys):
    code = main(["sql", "select * from analytics.fct_refunds"])

    err = capsys.readouterr().err.strip()
    assert code == 1
    assert len(err.splitlines()) == 1
    assert "fct_refunds" in err and "lakehouse tables" in err


def test_a_bad_query_is_one_line(lakehouse, capsys):
    code = main(["sql", "selec 1 from analytics.fct_purchases"])

    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("error: DuckDB:")


@pytest.mark.parametrize(
    "statement",
    [
        "copy (select * from analytics.fct_purchases) to '{home}/leak.csv'",
        "attach '{home}/other.duckdb' as other",
        "export database '{home}/export'",
        "select 1; copy (select 1) to '{home}/leak.csv'",
    ],
)
def test_statements_that_write_are_refused_before_anything_runs(lakehouse, capsys, statement):
    code = main(["sql", statement.format(home=lakehouse)])

    assert code == 1
    assert "read-only" in capsys.readouterr().err
    assert sorted(path.name for path in lakehouse.iterdir()) == ["catalog.db", "warehouse"]


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from analytics.fct_purchases",
        "with t as (select 1 as a) select * from t",
        "show tables from analytics",
        "describe analytics.fct_purchases",
        "explain select 1",
        "explain analyze select 1",
        "values (1), (2)",
    ],
)
def test_trino_runs_reads(statement):
    assert _single_read(statement + ";") == statement


@pytest.mark.parametrize(
    "statement",
    [
        "drop table analytics.fct_purchases",
        "insert into analytics.fct_purchases values (1)",
        "create table analytics.x as select 1 as a",
        "delete from analytics.fct_purchases",
        "alter table analytics.fct_purchases execute optimize",
        "call iceberg.system.rollback_to_snapshot('analytics', 'fct_purchases', 1)",
        "explain analyze insert into analytics.fct_purchases values (1)",
        "select 1; drop table analytics.fct_purchases",
    ],
)
def test_trino_refuses_writes_and_more_than_one_statement(statement):
    with pytest.raises(QueryError, match=r"read-only|one statement"):
        _single_read(statement)


def test_platform_env_without_a_platform_fails_and_stops_the_eval(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "LOOPBACK_"))}
    shell = f'eval "$({LAKEHOUSE} platform env)" && echo reached'
    done = subprocess.run(
        ["bash", "-c", shell],
        env=clean | {"LOOPBACK_DIR": str(tmp_path / "platform")},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1
    assert "reached" not in done.stdout
    assert "make platform-up" in done.stderr
