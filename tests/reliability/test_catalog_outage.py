"""The catalog goes away mid-run (server stopped, connections cut) and the warehouse turns
read-only: the run fails with an error naming what went away, nothing half-committed is
visible afterwards, and the next run succeeds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import crash_workers
import pyarrow as pa
import pytest
import reliability_counts
from outage_runs import FIRST, ROWS, SECOND, failure_message, outage_run, read_only_run
from pyiceberg.catalog import Catalog
from throwaway_postgres import ThrowawayPostgres

from lakehouse.catalog import CatalogUnavailableError, build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.commits import COMMIT_ID_PROPERTY, summary_properties
from lakehouse.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SECTION = "outages (catalog stopped or cut, warehouse read-only)"


def _versions(catalog: Catalog) -> dict[str, list[int]]:
    """Each table's rows as a reader sees them: the version of every row."""
    return {
        key.path[-1]: sorted(
            catalog.load_table(tuple(key.path)).scan().to_arrow()["version"].to_pylist()
        )
        for key in (FIRST, SECOND)
    }


def _whole(version: int) -> list[int]:
    return [version] * ROWS


def test_catalog_stopped_mid_run(throwaway_postgres: ThrowawayPostgres, tmp_path: Path) -> None:
    server = throwaway_postgres
    environment = {
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_CATALOG_URI": server.create_database("lakehouse"),
        "LAKEHOUSE_COMMIT_TIMEOUT_SECONDS": "2",
    }
    assert outage_run(environment, 0).success

    failed = outage_run(environment, 1, server.stop)
    assert not failed.success
    message = failure_message(failed)
    assert "catalog 'lakehouse'" in message and f"127.0.0.1:{server.port}" in message, message
    assert "unreachable" in message, message

    server.start()
    catalog = build_catalog(load_settings(environment))
    # The first asset's commit stands whole; the second's never happened.
    assert _versions(catalog) == {"outage_first": _whole(1), "outage_second": _whole(0)}
    assert outage_run(environment, 2).success, "the run after the catalog came back failed"
    assert _versions(catalog) == {"outage_first": _whole(2), "outage_second": _whole(2)}
    reliability_counts.add(SECTION, "outages injected")
    reliability_counts.add(SECTION, "outages recovered")


def test_connections_cut_during_commits(
    throwaway_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    server = throwaway_postgres
    environment = {
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_CATALOG_URI": server.create_database("lakehouse"),
        "LAKEHOUSE_COMMIT_TIMEOUT_SECONDS": "5",
    }
    catalog = build_catalog(load_settings(environment))
    writes = reliability_counts.scaled(30)
    done, cuts = threading.Event(), [0]

    def cut() -> None:
        while not done.is_set():
            time.sleep(0.15)
            cuts[0] += bool(server.terminate_connections())

    cutter = threading.Thread(target=cut, daemon=True)
    cutter.start()
    landed, failed = [], 0
    try:
        for sequence in range(writes):
            data = pa.table({"sequence": [sequence] * ROWS})
            try:
                result = write(catalog, data, WriteRequest(("raw", "cut"), mode="append"))
            except CatalogUnavailableError as error:
                assert "catalog 'lakehouse'" in str(error)
                failed += 1
                continue
            landed.append(result.commit_id)
    finally:
        done.set()
        cutter.join()
    assert cuts[0] > 0, "no connection was cut"

    table = catalog.load_table(("raw", "cut"))
    committed = [summary_properties(s)[COMMIT_ID_PROPERTY] for s in table.snapshots()]
    assert len(committed) == len(set(committed)), "a commit landed twice"
    assert set(landed) <= set(committed), "a write that returned did not land"
    rows = table.scan().to_arrow().group_by("sequence").aggregate([([], "count_all")])
    assert set(rows["count_all"].to_pylist()) <= {ROWS}, "a commit landed partly or twice"
    assert rows.num_rows == len(committed)
    final = write(
        catalog,
        pa.table({"sequence": [writes] * ROWS}),
        WriteRequest(("raw", "cut"), mode="append"),
    )
    assert final.rows_written == ROWS
    reliability_counts.add(SECTION, "outages injected", cuts[0])
    reliability_counts.add(SECTION, "outages recovered", cuts[0])
    reliability_counts.add(SECTION, "writes under cuts that landed", len(landed))
    reliability_counts.add(SECTION, "writes under cuts that failed cleanly", failed)


def test_warehouse_turned_read_only_mid_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    environment = {"LAKEHOUSE_HOME": str(home)}
    assert outage_run(environment, 0).success
    warehouse = home / "warehouse"

    context = crash_workers.forkserver()
    queue = context.Queue()
    child = context.Process(target=read_only_run, args=(environment, 1, str(warehouse), queue))
    child.start()
    succeeded, message = queue.get(timeout=300)
    child.join(timeout=60)
    for path in [warehouse, *warehouse.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)

    assert not succeeded
    assert "Permission denied" in message and str(warehouse) in message, message
    catalog = build_catalog(load_settings(environment))
    assert _versions(catalog) == {"outage_first": _whole(1), "outage_second": _whole(0)}
    assert outage_run(environment, 2).success
    assert _versions(catalog) == {"outage_first": _whole(2), "outage_second": _whole(2)}
    reliability_counts.add(SECTION, "outages injected")
    reliability_counts.add(SECTION, "outages recovered")
