"""Commits land exactly once: retries past pyiceberg's, ambiguous failures, a bounded wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException

from lakehouse.iceberg import (
    COMMIT_ID_PROPERTY,
    CommitTimeoutError,
    WriteRequest,
    latest_snapshot_property,
    write,
)
from lakehouse.iceberg.commits import summary_properties
from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import load_settings

APPEND = WriteRequest(("raw", "t"), mode="append")


def _patch_commits(
    monkeypatch: pytest.MonkeyPatch,
    catalog: Catalog,
    behaviour: Callable[[int, Callable[[], Any]], Any],
) -> list[int]:
    """Route the catalog's commits through ``behaviour(call number, real commit)``."""
    calls: list[int] = []
    real = catalog.commit_table

    def commit_table(table, requirements, updates):  # type: ignore[no-untyped-def]
        calls.append(len(calls) + 1)
        return behaviour(len(calls), lambda: real(table, requirements, updates))

    monkeypatch.setattr(catalog, "commit_table", commit_table)
    return calls


def _commit_ids(catalog: Catalog) -> list[str]:
    table = catalog.load_table("raw.t")
    return [summary_properties(s).get(COMMIT_ID_PROPERTY, "") for s in table.snapshots()]


def _parquet_files(catalog: Catalog) -> set[str]:
    location = catalog.load_table("raw.t").location().removeprefix("file://")
    return {str(path) for path in Path(location).rglob("*.parquet")}


def _referenced_files(catalog: Catalog) -> set[str]:
    table = catalog.load_table("raw.t")
    return {task.file.file_path.removeprefix("file://") for task in table.scan().plan_files()}


def test_conflicts_beyond_pyiceberg_retries_still_land_once(
    iceberg_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(iceberg_catalog, pa.table({"id": [0]}), APPEND)

    def conflict_then_commit(call: int, commit: Callable[[], Any]) -> Any:
        if call <= 7:  # pyiceberg alone gives up after 5 attempts
            raise CommitFailedException("simulated concurrent update")
        return commit()

    calls = _patch_commits(monkeypatch, iceberg_catalog, conflict_then_commit)
    result = write(iceberg_catalog, pa.table({"id": [1, 2]}), APPEND, commit_timeout_seconds=60)

    assert len(calls) == 8
    assert sorted(iceberg_catalog.load_table("raw.t").scan().to_arrow()["id"].to_pylist()) == [
        0,
        1,
        2,
    ]
    assert _commit_ids(iceberg_catalog).count(result.commit_id) == 1
    assert _parquet_files(iceberg_catalog) == _referenced_files(iceberg_catalog)  # no rewrite


def test_ambiguous_failure_after_landing_is_not_committed_twice(
    iceberg_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(iceberg_catalog, pa.table({"id": [0]}), APPEND)

    def land_then_lose_the_answer(call: int, commit: Callable[[], Any]) -> Any:
        response = commit()
        if call == 1:
            raise ConnectionResetError("connection reset by peer")
        return response

    calls = _patch_commits(monkeypatch, iceberg_catalog, land_then_lose_the_answer)
    result = write(iceberg_catalog, pa.table({"id": [1]}), APPEND)

    assert calls == [1]  # the retry found the landed commit and stopped
    assert sorted(iceberg_catalog.load_table("raw.t").scan().to_arrow()["id"].to_pylist()) == [0, 1]
    assert _commit_ids(iceberg_catalog).count(result.commit_id) == 1
    assert (
        result.snapshot.snapshot_id
        == iceberg_catalog.load_table("raw.t").current_snapshot().snapshot_id
    )


def test_ambiguous_failure_before_landing_is_retried(
    iceberg_catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(iceberg_catalog, pa.table({"id": [0]}), APPEND)

    def lose_the_connection_first(call: int, commit: Callable[[], Any]) -> Any:
        if call == 1:
            raise ConnectionResetError("connection reset by peer")
        return commit()

    calls = _patch_commits(monkeypatch, iceberg_catalog, lose_the_connection_first)
    write(iceberg_catalog, pa.table({"id": [1]}), APPEND)

    assert calls == [1, 2]
    assert sorted(iceberg_catalog.load_table("raw.t").scan().to_arrow()["id"].to_pylist()) == [0, 1]


def test_commit_timeout_setting_bounds_the_wait_with_a_clear_error(
    any_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    io_manager = IcebergIOManager(
        settings=load_settings({**any_environment, "LAKEHOUSE_COMMIT_TIMEOUT_SECONDS": "0.5"})
    )
    catalog = io_manager.get_catalog()
    write(catalog, pa.table({"id": [0]}), APPEND)
    with catalog.load_table("raw.t").transaction() as txn:  # keep pyiceberg's own retries short
        txn.set_properties({"commit.retry.num-retries": "0"})
    files_before = _parquet_files(catalog)

    def always_conflict(call: int, commit: Callable[[], Any]) -> Any:
        raise CommitFailedException("simulated concurrent update")

    calls = _patch_commits(monkeypatch, catalog, always_conflict)

    @dg.asset(key=["raw", "t"], metadata={"write_mode": "append"})
    def t() -> pa.Table:
        return pa.table({"id": [1]})

    with pytest.raises(CommitTimeoutError, match=r"raw\.t within 0\.5 s .*nothing was committed"):
        dg.materialize([t], resources={"io_manager": io_manager})
    assert len(calls) > 1
    assert catalog.load_table("raw.t").scan().to_arrow()["id"].to_pylist() == [0]
    assert _parquet_files(catalog) == files_before  # the uncommitted data file was removed


def test_every_write_has_its_own_commit_id(iceberg_catalog: Catalog) -> None:
    first = write(iceberg_catalog, pa.table({"id": [1]}), APPEND)
    second = write(iceberg_catalog, pa.table({"id": [2]}), APPEND)
    assert first.commit_id != second.commit_id
    assert _commit_ids(iceberg_catalog) == [first.commit_id, second.commit_id]


def test_latest_snapshot_property_walks_back_through_main(iceberg_catalog: Catalog) -> None:
    def append(ids: list[int], **properties: str) -> None:
        request = WriteRequest(("raw", "t"), mode="append", snapshot_properties=properties)
        write(iceberg_catalog, pa.table({"id": ids}), request)

    append([1], state="a")
    append([2], state="b")
    append([3])
    table = iceberg_catalog.load_table("raw.t")
    assert latest_snapshot_property(table, "state") == "b"
    assert latest_snapshot_property(table, "missing") is None
