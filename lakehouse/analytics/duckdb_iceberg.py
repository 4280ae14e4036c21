"""DuckDB over the lakehouse's Iceberg tables, with no download and no Dagster or dbt.

DuckDB cannot write Iceberg outside a REST catalog, and its extensions cannot be downloaded
here, so: the iceberg extension is loaded from the ``duckdb-extension-iceberg`` wheel; reads
go through ``iceberg_scan`` of the metadata file pyiceberg resolves (a pinned snapshot);
writes go back through pyiceberg (``lakehouse.iceberg.write``).
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
from pyiceberg.table import Table

# Load order matters: iceberg needs avro's readers for manifests.
EXTENSION_PACKAGES: tuple[tuple[str, str], ...] = (
    ("avro", "duckdb_extension_avro"),
    ("iceberg", "duckdb_extension_iceberg"),
)


class ExtensionMissingError(RuntimeError):
    """The extension wheel for this DuckDB version is not installed."""


def extension_path(name: str, package: str) -> Path:
    """The extension file shipped in ``package`` for the running DuckDB version."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ExtensionMissingError(
            f"DuckDB's {name} extension needs the '{package.replace('_', '-')}' package "
            f"(version {duckdb.__version__}, as duckdb)"
        ) from None
    path = Path(cast(str, module.__file__)).parent / "extensions" / f"v{duckdb.__version__}"
    path = path / f"{name}.duckdb_extension"
    if not path.is_file():
        raise ExtensionMissingError(
            f"{path} is missing: install '{package.replace('_', '-')}=={duckdb.__version__}' "
            "to match duckdb"
        )
    return path


def load_iceberg_extension(conn: duckdb.DuckDBPyConnection) -> None:
    """Load avro then iceberg from their wheels; never let DuckDB try a download."""
    conn.execute("SET autoinstall_known_extensions = false")
    for name, package in EXTENSION_PACKAGES:
        conn.execute(f"LOAD '{_quote(str(extension_path(name, package)))}'")


def _quote(text: str) -> str:
    return text.replace("'", "''")


def local_metadata_path(table: Table) -> str | None:
    """The table's current metadata file as a local path, or None for object storage.

    DuckDB's S3 access needs the httpfs extension, which no wheel here carries.
    """
    location = table.metadata_location
    parts = urlsplit(location)
    if parts.scheme == "file":
        return unquote(parts.path)
    if parts.scheme == "" and location.startswith("/"):
        return location
    return None


def expose_table(conn: duckdb.DuckDBPyConnection, schema: str, name: str, table: Table) -> str:
    """Make ``schema.name`` in DuckDB read ``table`` at its current snapshot; return how.

    A local table becomes a view over ``iceberg_scan`` of the current metadata file (streamed,
    filters pushed down); otherwise, or when the table has no snapshot yet, pyiceberg reads it
    into Arrow once and DuckDB copies it into a table.
    """
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    target = f'"{schema}"."{name}"'
    path = local_metadata_path(table)
    _drop(conn, schema, name)
    if path is not None and table.current_snapshot() is not None:
        conn.execute(f"CREATE VIEW {target} AS SELECT * FROM iceberg_scan('{_quote(path)}')")
        return "iceberg_scan"
    arrow = table.scan().to_arrow()
    conn.register("_lakehouse_arrow", arrow)
    try:
        conn.execute(f"CREATE TABLE {target} AS SELECT * FROM _lakehouse_arrow")
    finally:
        conn.unregister("_lakehouse_arrow")
    return "arrow"


def _drop(conn: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
    """Drop ``schema.name`` whatever it is: DuckDB refuses DROP VIEW on a table and back."""
    found = conn.execute(
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    if found:
        kind = "VIEW" if found[0][0] == "VIEW" else "TABLE"
        conn.execute(f'DROP {kind} "{schema}"."{name}"')


@contextlib.contextmanager
def relation_batches(
    conn: duckdb.DuckDBPyConnection, relation: str
) -> Iterator[pa.RecordBatchReader]:
    """A DuckDB relation's rows as a record batch reader, on a cursor of its own (open while
    the reader is read)."""
    cursor = conn.cursor()
    try:
        yield cursor.execute(f"SELECT * FROM {relation}").fetch_record_batch()
    finally:
        cursor.close()


def log_file_reads(conn: duckdb.DuckDBPyConnection, directory: Path) -> Path:
    """Log every file the connection opens under ``directory/<unique>/`` (DuckDB's own
    FileSystem log, CSV); one directory per connection, so dbt's connections never share one."""
    target = directory / uuid.uuid4().hex
    target.mkdir(parents=True)
    conn.execute(
        f"CALL enable_logging('FileSystem', storage='file', storage_path='{_quote(str(target))}')"
    )
    return target


def files_opened(directory: Path) -> set[str]:
    """The paths of every file a logged connection under ``directory`` opened."""
    opened = set()
    for log in directory.rglob("duckdb_log_entries.csv"):
        with log.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row["type"] == "FileSystem":
                    entry = json.loads(row["message"])
                    if entry.get("op") == "OPEN":
                        opened.add(entry["path"])
    return opened
