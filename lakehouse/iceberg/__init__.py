"""Iceberg storage for assets: the IO manager, its Dagster-free write, and commit helpers."""

from lakehouse.iceberg.arrow import register_arrow_converter, to_arrow
from lakehouse.iceberg.commits import (
    COMMIT_ID_PROPERTY,
    CommitTimeoutError,
    latest_snapshot_property,
)
from lakehouse.iceberg.io_manager import SNAPSHOT_PROPERTIES_KEY, IcebergIOManager
from lakehouse.iceberg.schema import SchemaEvolutionError
from lakehouse.iceberg.writes import WriteRequest, WriteRequestError, WriteResult, write

__all__ = [
    "COMMIT_ID_PROPERTY",
    "SNAPSHOT_PROPERTIES_KEY",
    "CommitTimeoutError",
    "IcebergIOManager",
    "SchemaEvolutionError",
    "WriteRequest",
    "WriteRequestError",
    "WriteResult",
    "latest_snapshot_property",
    "register_arrow_converter",
    "to_arrow",
    "write",
]
