"""Iceberg storage without Dagster: the write (modes, partitions, schema evolution), commits
with retries and idempotency, branches and data files. ``lakehouse/io_manager.py`` is where
Dagster meets it."""

from lakehouse.iceberg.arrow import register_arrow_converter, to_arrow
from lakehouse.iceberg.commits import (
    COMMIT_ID_PROPERTY,
    CommitTimeoutError,
    latest_snapshot_property,
)
from lakehouse.iceberg.schema import SchemaEvolutionError
from lakehouse.iceberg.write_request import WriteRequest, WriteRequestError
from lakehouse.iceberg.writes import WriteResult, write

__all__ = [
    "COMMIT_ID_PROPERTY",
    "CommitTimeoutError",
    "SchemaEvolutionError",
    "WriteRequest",
    "WriteRequestError",
    "WriteResult",
    "latest_snapshot_property",
    "register_arrow_converter",
    "to_arrow",
    "write",
]
