"""Writers in separate processes appending to one table on PostgreSQL: every commit lands once."""

from __future__ import annotations

import multiprocessing
from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.commits import COMMIT_ID_PROPERTY, summary_properties
from lakehouse.settings import load_settings

WRITERS = 4
COMMITS = 50
ROWS = 10


def _append_many(environment: dict[str, str], writer: int) -> list[str]:
    """One writer process: COMMITS appends of ROWS rows, each tagged with writer and sequence."""
    catalog = build_catalog(load_settings(environment))
    commit_ids = []
    for sequence in range(COMMITS):
        batch = pa.table(
            {
                "writer": pa.array([writer] * ROWS, pa.int32()),
                "sequence": pa.array([sequence] * ROWS, pa.int32()),
            }
        )
        request = WriteRequest(
            ("raw", "contended"),
            mode="append",
            snapshot_properties={"test.writer": str(writer), "test.sequence": str(sequence)},
        )
        result = write(catalog, batch, request, commit_timeout_seconds=300)
        commit_ids.append(result.commit_id)
    return commit_ids


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_concurrent_appends_all_land_exactly_once(pg_catalog_uri: str, tmp_path) -> None:
    environment = {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_CATALOG_URI": pg_catalog_uri}
    catalog = build_catalog(load_settings(environment))
    empty = pa.table({"writer": pa.array([], pa.int32()), "sequence": pa.array([], pa.int32())})
    catalog.create_table("raw.contended", schema=empty.schema)  # so writers race on commits only

    with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
        returned = pool.starmap(_append_many, [(environment, w) for w in range(WRITERS)])

    table = catalog.load_table("raw.contended")
    snapshots = table.snapshots()
    assert len(snapshots) == WRITERS * COMMITS
    landed = [summary_properties(s) for s in snapshots]
    assert sorted(p[COMMIT_ID_PROPERTY] for p in landed) == sorted(
        i for ids in returned for i in ids
    )
    tags = Counter((p["test.writer"], p["test.sequence"]) for p in landed)
    assert tags == Counter({(str(w), str(s)): 1 for w in range(WRITERS) for s in range(COMMITS)})

    rows = table.scan().to_arrow()
    assert rows.num_rows == WRITERS * COMMITS * ROWS
    per_commit = rows.group_by(["writer", "sequence"]).aggregate([([], "count_all")])
    assert per_commit.num_rows == WRITERS * COMMITS
    assert pc.all(pc.equal(per_commit["count_all"], ROWS)).as_py()
