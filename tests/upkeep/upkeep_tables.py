"""Small tables for the upkeep tests, as plain functions (imported by name: a module called
``conftest`` would be whichever directory's conftest pytest loaded first)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.iceberg import WriteRequest, write

EVENTS = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("user_id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
DAY0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def events(start: int, count: int, *, day: int = 0, users: int = 7) -> pa.Table:
    """``count`` rows with ids from ``start``, all on ``DAY0 + day``."""
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": ids,
            "user_id": [i % users for i in ids],
            "name": [f"name-{i}" for i in ids],
            "created_at": [DAY0 + dt.timedelta(days=day, seconds=i % 3600) for i in ids],
        },
        schema=EVENTS,
    )


Appender = Callable[..., Table]


def appender(catalog: Catalog) -> Appender:
    def append(
        data: pa.Table,
        identifier: tuple[str, ...] = ("raw", "events"),
        partition_column: str | None = None,
    ) -> Table:
        request = WriteRequest(identifier, mode="append", partition_column=partition_column)
        return write(catalog, data, request).table

    return append


def committed_at(table: Table) -> dt.datetime:
    """When the table's newest snapshot was committed: the instant a test's "later" starts from,
    so its verdict never follows the wall clock."""
    newest = max(snapshot.timestamp_ms for snapshot in table.metadata.snapshots)
    return dt.datetime.fromtimestamp(newest / 1000, dt.UTC)


def rows_of(table: Table) -> list[tuple]:
    data = table.scan().to_arrow().sort_by("id")
    return list(zip(*(data.column(n).to_pylist() for n in data.column_names), strict=True))


def data_files(table: Table) -> list[str]:
    return sorted(task.file.file_path for task in table.scan().plan_files())


def files_on_disk(root: Path, suffix: str = "") -> set[str]:
    return {p.resolve().as_uri() for p in root.rglob(f"*{suffix}") if p.is_file()}
