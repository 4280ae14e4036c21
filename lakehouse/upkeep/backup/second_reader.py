"""DuckDB as a second, independent reader of Iceberg tables (restore checks).

The Iceberg, Avro and httpfs extensions cannot be downloaded here; they come from the
``duckdb-extension-*`` wheels and are loaded from their package directories with autoinstall
off (Avro before Iceberg; httpfs only for tables on S3).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import duckdb

from lakehouse.upkeep.backup.checksums import ROW_CHECKSUM_SQL, connect

EXTENSIONS = ("avro", "iceberg")  # iceberg needs avro loaded first


def extension_path(name: str) -> Path:
    package = importlib.import_module(f"duckdb_extension_{name}")
    directory = Path(cast(str, package.__file__)).parent / "extensions" / f"v{duckdb.__version__}"
    return directory / f"{name}.duckdb_extension"


def iceberg_connection() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET autoload_known_extensions = false")
    for name in EXTENSIONS:
        connection.execute(f"LOAD '{extension_path(name)}'")
    return connect(connection)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def configure_s3(connection: duckdb.DuckDBPyConnection, properties: Mapping[str, str]) -> None:
    """Let DuckDB read s3:// with the catalog's S3 settings (httpfs, from its wheel too)."""
    connection.execute(f"LOAD '{extension_path('httpfs')}'")
    endpoint = urlsplit(properties.get("s3.endpoint", ""))
    options = {
        "KEY_ID": properties.get("s3.access-key-id", ""),
        "SECRET": properties.get("s3.secret-access-key", ""),
        "REGION": properties.get("s3.region", "us-east-1"),
        "ENDPOINT": endpoint.netloc,
        "URL_STYLE": "path",
    }
    rendered = ", ".join(f"{key} {_sql_text(value)}" for key, value in options.items() if value)
    use_ssl = "true" if endpoint.scheme == "https" else "false"
    connection.execute(
        f"CREATE OR REPLACE SECRET lakehouse_s3 (TYPE s3, {rendered}, USE_SSL {use_ssl})"
    )


def scan_checksum(
    metadata_location: str, properties: Mapping[str, str] | None = None
) -> tuple[int, int]:
    """(rows, row checksum) of a table read by DuckDB from its metadata file; ``properties``
    are the catalog's (S3 endpoint and keys) for tables on S3."""
    path = metadata_location.removeprefix("file://")
    relation = f"iceberg_scan({_sql_text(path)})"
    with iceberg_connection() as connection:
        if path.startswith(("s3://", "s3a://")):
            configure_s3(connection, properties or {})
        rows, checksum = connection.execute(ROW_CHECKSUM_SQL.format(relation=relation)).fetchone()  # type: ignore[misc]
    return int(rows), int(checksum)
