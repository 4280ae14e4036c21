"""Pure pieces, no dbt run: the partition vars, the model write request, DuckDB over Iceberg."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pytest

from lakehouse.analytics import duckdb_iceberg
from lakehouse.analytics.assets import build_args, partition_vars
from lakehouse.analytics.commits import PARTITION_KEY_ENV, RUN_ID_ENV, model_write_request
from lakehouse.iceberg import WriteRequest, write

UTC = dt.UTC


def test_partition_vars_are_the_window_as_utc_instants() -> None:
    start = dt.datetime(2024, 1, 2, tzinfo=UTC)
    assert partition_vars(start, start + dt.timedelta(days=1)) == {
        "min_date": "2024-01-02T00:00:00+00:00",
        "max_date": "2024-01-03T00:00:00+00:00",
    }


def test_build_args_pass_vars_as_json() -> None:
    assert build_args() == ["build"]
    args = build_args({"min_date": "a", "max_date": "b"})
    assert args[:2] == ["build", "--vars"] and json.loads(args[2]) == {
        "min_date": "a",
        "max_date": "b",
    }


def test_a_windowed_model_replaces_only_its_window() -> None:
    config = {
        "partition_column": "created_at",
        "partition_window": ["2024-01-02T00:00:00+00:00", "2024-01-03"],
    }
    environ = {RUN_ID_ENV: "run-1", PARTITION_KEY_ENV: "2024-01-02"}
    request = model_write_request(("analytics", "fct_purchases"), config, environ)
    assert request.mode == "overwrite" and request.partition_column == "created_at"
    assert request.window == (
        dt.datetime(2024, 1, 2, tzinfo=UTC),
        dt.datetime(2024, 1, 3, tzinfo=UTC),
    )
    assert request.snapshot_properties == {
        "dbt.model": "fct_purchases",
        "dagster.asset-key": "analytics/fct_purchases",
        "dagster.run-id": "run-1",
        "dagster.partition-key": "2024-01-02",
    }


def test_an_unpartitioned_model_overwrites_its_table() -> None:
    request = model_write_request(("analytics", "daily_revenue"), {}, {})
    assert (request.mode, request.window, request.partition_column) == ("overwrite", None, None)
    assert "dagster.run-id" not in request.snapshot_properties


def test_duckdb_reads_an_iceberg_table_at_its_current_snapshot(catalog) -> None:
    first = pa.table({"id": pa.array([1, 2], pa.int64())})
    write(catalog, first, WriteRequest(("staging", "numbers")))
    conn = duckdb.connect()
    duckdb_iceberg.load_iceberg_extension(conn)
    table = catalog.load_table(("staging", "numbers"))
    assert duckdb_iceberg.expose_table(conn, "staging", "numbers", table) == "iceberg_scan"
    write(
        catalog, pa.table({"id": pa.array([3], pa.int64())}), WriteRequest(("staging", "numbers"))
    )
    # The view is pinned to the snapshot it was made from, not the newer one.
    assert conn.execute("SELECT list(id ORDER BY id) FROM staging.numbers").fetchone() == ([1, 2],)
    newer = catalog.load_table(("staging", "numbers"))
    duckdb_iceberg.expose_table(conn, "staging", "numbers", newer)
    assert conn.execute("SELECT list(id ORDER BY id) FROM staging.numbers").fetchone() == ([3],)


def test_tables_off_the_local_disk_are_read_through_arrow(
    catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(catalog, pa.table({"id": pa.array([7], pa.int64())}), WriteRequest(("staging", "remote")))
    monkeypatch.setattr(duckdb_iceberg, "local_metadata_path", lambda table: None)
    conn = duckdb.connect()
    table = catalog.load_table(("staging", "remote"))
    assert duckdb_iceberg.expose_table(conn, "staging", "remote", table) == "arrow"
    assert conn.execute("SELECT id FROM staging.remote").fetchall() == [(7,)]


def test_a_missing_extension_wheel_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(duckdb_iceberg.ExtensionMissingError, match="duckdb-extension-nope"):
        duckdb_iceberg.extension_path("nope", "duckdb_extension_nope")
