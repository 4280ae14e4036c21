"""The same Iceberg tables through every engine: pyiceberg, Trino and Spark Connect write, the
others read the same rows, on the REST catalog (behind Keycloak) and the SQL catalog; table
branches, the snapshot history and snapshot expiry work the same way on both."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException

from lakehouse.iceberg.branches import audit_branch, fast_forward, start_branch
from spark.iceberg_io import write_table

ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "name": pa.array(["ada", "bob", "cy", "dee"]),
        "amount": pa.array([1.5, 2.0, 3.25, 4.0]),
    }
)
EXPECTED = [[1, "ada", 1.5], [2, "bob", 2.0], [3, "cy", 3.25], [4, "dee", 4.0]]


def test_pyiceberg_writes_through_the_catalog_and_trino_reads_the_same_rows(catalog, names, trino):
    table = catalog.create_table(names["pyiceberg"], schema=ROWS.schema)
    table.append(ROWS)

    assert trino(f"SELECT id, name, amount FROM {names['trino']} ORDER BY id") == EXPECTED
    files = catalog.load_table(names["pyiceberg"]).inspect.files()
    assert files.num_rows == 1
    assert files["file_path"][0].as_py().startswith("s3://iceberg-warehouse/")


def test_spark_writes_natively_and_trino_and_pyiceberg_read(catalog, names, spark, trino):
    df = spark.createDataFrame(
        [tuple(row) for row in EXPECTED], "id long, name string, amount double"
    )
    write_table(df, names["spark"], properties={"lakehouse.test": "spark"})

    assert trino(f"SELECT id, name, amount FROM {names['trino']} ORDER BY id") == EXPECTED
    table = catalog.load_table(names["pyiceberg"])
    assert table.scan().to_arrow().sort_by("id").to_pylist() == ROWS.to_pylist()
    assert table.current_snapshot().summary["lakehouse.test"] == "spark"


def test_trino_writes_and_pyiceberg_and_spark_read(catalog, names, spark, trino):
    trino(
        f"CREATE TABLE {names['trino']} AS SELECT * FROM (VALUES "
        "(BIGINT '1', 'ada', DOUBLE '1.5'), (BIGINT '2', 'bob', DOUBLE '2.0')) AS t(id, name, amount)"
    )
    trino(f"INSERT INTO {names['trino']} VALUES (3, 'cy', 3.25), (4, 'dee', 4.0)")

    table = catalog.load_table(names["pyiceberg"])
    assert table.scan().to_arrow().sort_by("id").to_pylist() == ROWS.to_pylist()
    # CTAS and INSERT: two commits, both kept in the table's metadata by either catalog.
    assert len(table.history()) == 2
    rows = spark.table(names["spark"]).orderBy("id").collect()
    assert [list(row) for row in rows] == EXPECTED


def test_spark_writes_to_an_audit_branch_main_stays_unchanged_until_published(
    catalog, names, spark, trino
):
    """Write-audit-publish with Spark's native writes: the batch lands on ``audit/<run>`` only;
    Trino and pyiceberg see it there, ``main`` gets it when the lakehouse fast-forwards."""
    table = catalog.create_table(names["pyiceberg"], schema=ROWS.schema)
    table.append(ROWS.slice(0, 2))
    branch = audit_branch("run-1")
    batch = spark.createDataFrame(
        [tuple(row) for row in EXPECTED[2:]], "id long, name string, amount double"
    )

    write_table(batch, names["spark"], branch=branch)

    assert trino(f"SELECT count(*) FROM {names['trino']}") == [[2]]
    on_branch = f"SELECT id FROM {names['trino']} FOR VERSION AS OF '{branch}' ORDER BY id"
    assert trino(on_branch) == [[3], [4]]  # write_table replaces every row when given no window
    table = catalog.load_table(names["pyiceberg"])
    head = table.metadata.refs[branch].snapshot_id
    assert sorted(table.scan(snapshot_id=head).to_arrow()["id"].to_pylist()) == [3, 4]
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [1, 2]

    fast_forward(table, branch)

    assert trino(f"SELECT id FROM {names['trino']} ORDER BY id") == [[3], [4]]
    assert branch not in catalog.load_table(names["pyiceberg"]).metadata.refs


def test_pyiceberg_writes_to_a_branch_and_the_catalog_refuses_a_stale_fast_forward(
    catalog, names, trino
):
    """pyiceberg's branch writes go through the catalog's commit API; publishing carries main's
    head as a requirement, so the catalog refuses it once main moved, whatever the client saw."""
    table = catalog.create_table(names["pyiceberg"], schema=ROWS.schema)
    table.append(ROWS.slice(0, 1))
    branch = audit_branch("run-2")
    start_branch(table, branch)
    table.append(ROWS.slice(1, 2), branch=branch)

    assert trino(f"SELECT count(*) FROM {names['trino']}") == [[1]]
    on_branch = f"SELECT count(*) FROM {names['trino']} FOR VERSION AS OF '{branch}'"
    assert trino(on_branch) == [[3]]

    stale = catalog.load_table(names["pyiceberg"])
    catalog.load_table(names["pyiceberg"]).append(ROWS.slice(3))  # another writer's commit to main
    with pytest.raises(CommitFailedException):
        fast_forward(stale, branch)

    table = catalog.load_table(names["pyiceberg"])
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [1, 4]
    assert branch in table.metadata.refs


def test_snapshot_expiry_through_the_catalog_removes_old_snapshots_from_the_metadata(
    catalog, names, trino
):
    _small_files(catalog, names["pyiceberg"], batches=3)
    table = catalog.load_table(names["pyiceberg"])
    head = table.current_snapshot().snapshot_id
    older = [snapshot.snapshot_id for snapshot in table.snapshots() if snapshot.snapshot_id != head]
    assert len(older) == 2

    table.maintenance.expire_snapshots().by_ids(older).commit()

    table = catalog.load_table(names["pyiceberg"])
    assert [snapshot.snapshot_id for snapshot in table.snapshots()] == [head]
    trino_catalog, schema, name = names["trino"].split(".")
    assert trino(f'SELECT snapshot_id FROM {trino_catalog}.{schema}."{name}$snapshots"') == [[head]]
    assert trino(f"SELECT count(*) FROM {names['trino']}") == [[12]]


def _data_files(catalog, name: str) -> int:
    return catalog.load_table(name).inspect.files().num_rows


def _small_files(catalog, name: str, batches: int = 5) -> None:
    table = catalog.create_table(name, schema=ROWS.schema)
    for batch in range(batches):
        table.append(
            ROWS.set_column(0, "id", pa.array([batch * 10 + i for i in range(4)], pa.int64()))
        )


def test_trino_optimize_compacts_a_table(catalog, names, trino):
    _small_files(catalog, names["pyiceberg"])
    assert _data_files(catalog, names["pyiceberg"]) == 5

    trino(f"ALTER TABLE {names['trino']} EXECUTE optimize(file_size_threshold => '10MB')")

    assert _data_files(catalog, names["pyiceberg"]) == 1
    assert trino(f"SELECT count(*), sum(id) FROM {names['trino']}") == [[20, 430]]


def test_spark_rewrite_data_files_compacts_a_table(catalog, names, spark, kind):
    _small_files(catalog, names["pyiceberg"])
    spark_catalog, identifier = names["spark"].split(".", 1)

    result = spark.sql(
        f"CALL {spark_catalog}.system.rewrite_data_files(table => '{identifier}', "
        "options => map('min-input-files', '2'))"
    ).collect()

    assert result[0]["rewritten_data_files_count"] == 5
    assert _data_files(catalog, names["pyiceberg"]) == 1
    rows = catalog.load_table(names["pyiceberg"]).scan().to_arrow()
    assert (rows.num_rows, sum(rows["id"].to_pylist())) == (20, 430)


def test_timestamps_round_trip_between_engines(catalog, names, trino, spark):
    """Micro-second UTC timestamps, as the layers write them, read equal everywhere."""
    instant = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    data = pa.table({"at": pa.array([instant], pa.timestamp("us", tz="UTC"))})
    catalog.create_table(names["pyiceberg"], schema=data.schema).append(data)

    (value,) = trino(f"SELECT to_iso8601(at) FROM {names['trino']}")[0]
    assert value == "2026-03-01T12:30:15.123456Z"
    assert spark.table(names["spark"]).collect()[0]["at"].astimezone(dt.UTC) == instant
