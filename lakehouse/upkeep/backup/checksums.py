"""Content checksums for backups: sha256 per file and an order-independent row checksum.

The row checksum is the sum, modulo 2**64, of a 64-bit hash (lower half of md5) of each row's
text form, computed by DuckDB. A sum does not depend on row order or on how rows are spread over
files, so a table's checksum is the sum of its files' checksums (backups compute only new files'
ones) and a second reader (DuckDB's ``iceberg_scan``) can recompute it with the same SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

MODULUS = 2**64

# ``t`` is the scanned relation; casting the whole row to text covers nested columns too.
ROW_CHECKSUM_SQL = (
    "SELECT count(*)::BIGINT, (coalesce(sum(md5_number_lower(CAST(t AS VARCHAR))), 0) "
    f"% {MODULUS})::UBIGINT FROM {{relation}} AS t"
)


def connect(connection: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A connection whose text forms do not depend on the machine's time zone."""
    connection = connection or duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def row_checksum(
    data: pa.Table | pa.RecordBatchReader, connection: duckdb.DuckDBPyConnection | None = None
) -> tuple[int, int]:
    """(rows, checksum) of an Arrow table or stream of batches."""
    connection = connect(connection)
    connection.register("checksum_input", data)
    try:
        rows, checksum = connection.execute(
            ROW_CHECKSUM_SQL.format(relation="checksum_input")
        ).fetchone()  # type: ignore[misc]
    finally:
        connection.unregister("checksum_input")
    return int(rows), int(checksum)


def combine(checksums: Iterable[int]) -> int:
    """The checksum of a union of row sets from the checksums of its parts."""
    return sum(checksums) % MODULUS
