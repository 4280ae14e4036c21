"""Pure pieces, no dbt run: the partition window, the model write request, DuckDB over Iceberg."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakehouse.analytics import duckdb_iceberg
from lakehouse.analytics.assets import build_args
from lakehouse.analytics.commits import (
    PARTITION_KEY_ENV,
    RUN_ID_ENV,
    WINDOW_END_ENV,
    WINDOW_START_ENV,
    model_write_request,
    window_environment,
)
from lakehouse.analytics.resources import PARTIAL_PARSE_FILE, seed_partial_parse
from lakehouse.iceberg import WriteRequest, write

UTC = dt.UTC
WINDOW_ENV = {
    WINDOW_START_ENV: "2024-01-02T00:00:00+00:00",
    WINDOW_END_ENV: "2024-01-03T00:00:00+00:00",
}


def test_the_window_travels_as_utc_instants_in_the_environment() -> None:
    start = dt.datetime(2024, 1, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert window_environment(start, start + dt.timedelta(days=1)) == WINDOW_ENV


def test_build_passes_no_vars() -> None:
    # Any change of --vars makes dbt re-parse the whole project.
    assert build_args() == ["build"]


def test_a_model_with_partition_window_replaces_the_runs_window() -> None:
    config = {"partition_column": "created_at", "partition_window": True}
    request = model_write_request(("analytics", "daily_revenue"), config, WINDOW_ENV)
    assert request.window == (
        dt.datetime(2024, 1, 2, tzinfo=UTC),
        dt.datetime(2024, 1, 3, tzinfo=UTC),
    )
    # No window in the environment: a full rebuild.
    assert model_write_request(("analytics", "daily_revenue"), config, {}).window is None


def test_a_model_without_partition_window_ignores_the_runs_window() -> None:
    request = model_write_request(("analytics", "dim_products"), {}, WINDOW_ENV)
    assert (request.window, request.partition_column) == (None, None)


def test_the_prepared_parse_state_seeds_an_invocations_target(tmp_path: Path) -> None:
    prepared, target = tmp_path / "prepared", tmp_path / "target" / "run-1"
    assert not seed_partial_parse(prepared, target)  # nothing prepared: dbt parses
    prepared.mkdir()
    (prepared / PARTIAL_PARSE_FILE).write_bytes(b"state")
    assert seed_partial_parse(prepared, target)
    assert (target / PARTIAL_PARSE_FILE).read_bytes() == b"state"


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


def test_duckdb_logs_the_data_files_a_pruned_scan_opens(catalog, tmp_path: Path) -> None:
    day = pa.timestamp("us", tz="UTC")
    for number in (1, 2, 3):
        rows = pa.table({"created_at": pa.array([dt.datetime(2024, 1, number, tzinfo=UTC)], day)})
        write(catalog, rows, WriteRequest(("staging", "days"), "append", "created_at"))
    conn = duckdb.connect()
    duckdb_iceberg.load_iceberg_extension(conn)
    duckdb_iceberg.log_file_reads(conn, tmp_path / "log")
    duckdb_iceberg.expose_table(conn, "staging", "days", catalog.load_table(("staging", "days")))
    conn.execute("SET TimeZone = 'UTC'")
    query = "SELECT count(*) FROM staging.days WHERE created_at >= '2024-01-02'::timestamptz"
    assert conn.execute(query + " AND created_at < '2024-01-03'::timestamptz").fetchone() == (1,)
    conn.close()
    data = {p for p in duckdb_iceberg.files_opened(tmp_path / "log") if p.endswith(".parquet")}
    assert [Path(p).parent.name for p in data] == ["created_at_day=2024-01-02"]


def test_old_dbt_invocation_directories_are_pruned_beyond_the_newest(tmp_path: Path) -> None:
    """The newest are kept for debugging, never one still young enough to be running."""
    import os
    import time

    from lakehouse.analytics.resources import prune_invocations

    now = time.time()
    ages = {"a": 10, "e": 60, "f": 1800, "b": 7200, "c": 7300, "d": 9000}  # seconds old
    for name, age in ages.items():
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    removed = prune_invocations(tmp_path, keep=2, min_age_seconds=3600)
    assert sorted(path.name for path in removed) == ["b", "c", "d"]  # f: too young to prune
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "e", "f"]
    assert prune_invocations(tmp_path / "missing") == []
