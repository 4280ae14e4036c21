"""Many writers on one PostgreSQL-catalog table: every commit lands once, the count is exact;
and appends racing compaction and snapshot expiry lose nothing, double nothing and keep every
file a retained snapshot needs."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import contention_workers as workers
import pyarrow as pa
import pytest
import reliability_counts
from pyiceberg.table import Table

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import COMMIT_ID_PROPERTY
from lakehouse.iceberg.commits import summary_properties
from lakehouse.settings import load_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]
WRITERS = 4
COMMITS = 100  # per writer: 4 x 100 is the floor; RELIABILITY_SCALE multiplies it
SECTION = "contention (PostgreSQL catalog)"


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("spawn")


def _rows_per_commit(table: Table) -> Counter[tuple[int, int]]:
    rows = table.scan().to_arrow()
    counted = rows.group_by(["writer", "sequence"]).aggregate([([], "count_all")])
    return Counter(
        {
            (w, s): c
            for w, s, c in zip(
                counted["writer"].to_pylist(),
                counted["sequence"].to_pylist(),
                counted["count_all"].to_pylist(),
                strict=True,
            )
        }
    )


def _expected(writers: int, commits: int) -> Counter[tuple[int, int]]:
    return Counter({(w, s): workers.ROWS for w in range(writers) for s in range(commits)})


def test_four_writers_hundreds_of_commits_all_land_once(pg_catalog_uri: str, tmp_path) -> None:
    environment = {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_CATALOG_URI": pg_catalog_uri}
    catalog = build_catalog(load_settings(environment))
    catalog.create_table(workers.IDENTIFIER, schema=workers.SCHEMA)
    commits = reliability_counts.scaled(COMMITS, minimum=COMMITS)

    with _context().Pool(WRITERS) as pool:
        returned = pool.starmap(
            workers.append_many, [(environment, w, commits) for w in range(WRITERS)]
        )

    table = catalog.load_table(workers.IDENTIFIER)
    landed = [summary_properties(s)[COMMIT_ID_PROPERTY] for s in table.snapshots()]
    attempted = [commit_id for ids in returned for commit_id in ids]
    assert sorted(landed) == sorted(attempted)
    assert len(attempted) == WRITERS * commits
    assert _rows_per_commit(table) == _expected(WRITERS, commits)
    reliability_counts.add(SECTION, "commits attempted", WRITERS * commits)
    reliability_counts.add(SECTION, "commits landed", len(landed))


def test_appends_racing_compaction_and_expiry_lose_and_double_nothing(
    pg_catalog_uri: str, tmp_path
) -> None:
    environment = {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_CATALOG_URI": pg_catalog_uri}
    catalog = build_catalog(load_settings(environment))
    catalog.create_table(workers.IDENTIFIER, schema=workers.SCHEMA)
    writers, commits = 2, reliability_counts.scaled(40)
    context = _context()
    stop = context.Manager().Event()

    with context.Pool(writers + 1) as pool:
        upkeep = pool.apply_async(workers.upkeep_loop, (environment, stop))
        appends = pool.starmap_async(
            workers.append_many, [(environment, w, commits) for w in range(writers)]
        )
        returned = appends.get(timeout=600)
        stop.set()
        done = upkeep.get(timeout=600)

    table = catalog.load_table(workers.IDENTIFIER)
    assert _rows_per_commit(table) == _expected(writers, commits), "rows lost or doubled"
    assert sum(len(ids) for ids in returned) == writers * commits
    assert done["compactions"] > 0 and done["snapshots expired"] > 0, done
    for snapshot in table.snapshots():  # every retained snapshot still reads whole
        rows: pa.Table = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
        assert rows.num_rows <= writers * commits * workers.ROWS
    reliability_counts.add(SECTION, "commits attempted", writers * commits)
    reliability_counts.add(SECTION, "commits landed", writers * commits)
    for measure, count in done.items():
        reliability_counts.add(SECTION, f"concurrent {measure}", count)
