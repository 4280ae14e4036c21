"""Materialisation metadata the Dagster UI shows and plots, read from the committed snapshot."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from lakehouse.iceberg.commits import summary_properties
from lakehouse.iceberg.schema import table_address
from lakehouse.iceberg.writes import WriteResult


def column_schema(schema: Schema) -> dg.TableSchema:
    """The Iceberg schema as Dagster's column schema: names, types, nullability and docs."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=field.name,
                type=str(field.field_type),
                description=field.doc,
                constraints=dg.TableColumnConstraints(nullable=not field.required),
            )
            for field in schema.fields
        ]
    )


def _total(snapshot: Snapshot, key: str) -> int | None:
    value = summary_properties(snapshot).get(key)
    return int(value) if value is not None else None


def data_file_bytes(table: Table, snapshot: Snapshot) -> int:
    """Sum of the data files' sizes; the summary total counts delete files too, so only trust it
    when the table has none (pyiceberg writes copy-on-write; other engines may not)."""
    total, delete_files = (
        _total(snapshot, "total-files-size"),
        _total(snapshot, "total-delete-files"),
    )
    if total is not None and delete_files == 0:
        return total
    return sum(
        task.file.file_size_in_bytes
        for task in table.scan(snapshot_id=snapshot.snapshot_id).plan_files()
    )


def materialization_metadata(result: WriteResult, *, partition_replaced: bool) -> dict[str, Any]:
    """Numbers as ints so the UI plots them across materialisations."""
    table, snapshot = result.table, result.snapshot
    row_count = _total(snapshot, "total-records")
    data_files = _total(snapshot, "total-data-files")
    if row_count is None or data_files is None:  # a summary without totals (another engine)
        tasks = list(table.scan(snapshot_id=snapshot.snapshot_id).plan_files())
        row_count = sum(task.file.record_count for task in tasks)
        data_files = len(tasks)
    metadata: dict[str, Any] = {
        "dagster/row_count": row_count,
        "rows_written": result.rows_written,
        "snapshot_id": snapshot.snapshot_id,
        "data_files": data_files,
        "table_bytes": data_file_bytes(table, snapshot),
        "table_location": dg.MetadataValue.path(table.location()),
        "dagster/table_name": table_address(table),
        "dagster/column_schema": column_schema(table.schema()),
    }
    if partition_replaced:  # the partition now holds exactly the batch
        metadata["dagster/partition_row_count"] = result.rows_written
    return metadata
