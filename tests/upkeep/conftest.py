"""Upkeep fixtures: catalogs on SQLite and PostgreSQL, and small tables to maintain."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.catalog import catalog_properties
from lakehouse.iceberg import WriteRequest, write
from lakehouse.settings import Settings
from lakehouse.upkeep.storage import Storage

# tests/deploy's helpers build the K8sRunLauncher Job offline; they are plain modules there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))

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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_environment(request: pytest.FixtureRequest, tmp_path) -> dict[str, str]:
    """LAKEHOUSE_* settings of a fresh SQLite or PostgreSQL catalog under tmp_path."""
    environment = {"LAKEHOUSE_HOME": str(tmp_path)}
    if request.param == "postgres":
        environment["LAKEHOUSE_CATALOG_URI"] = request.getfixturevalue("pg_catalog_uri")
    return environment


@pytest.fixture
def environment(tmp_path) -> dict[str, str]:
    """The same embedded settings as the ``settings``/``catalog`` fixtures, as variables."""
    return {"LAKEHOUSE_HOME": str(tmp_path)}


@pytest.fixture
def storage(settings: Settings) -> Storage:
    return Storage(catalog_properties(settings))


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


@pytest.fixture
def append(catalog: Catalog) -> Appender:
    """Append a batch through the project's own write (one commit, one snapshot)."""
    return appender(catalog)


def rows_of(table: Table) -> list[tuple]:
    data = table.scan().to_arrow().sort_by("id")
    return list(zip(*(data.column(n).to_pylist() for n in data.column_names), strict=True))


def data_files(table: Table) -> list[str]:
    return sorted(task.file.file_path for task in table.scan().plan_files())


def files_on_disk(root: Path, suffix: str = "") -> set[str]:
    return {p.resolve().as_uri() for p in root.rglob(f"*{suffix}") if p.is_file()}
