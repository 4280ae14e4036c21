"""Reading a table in bounded memory: one data file at a time, as Arrow record batches.

pyiceberg's own readers (``to_arrow``, ``to_arrow_batch_reader``) read every file of a scan at
once, in threads, whatever the consumer takes; at ten million rows that is the whole table in
memory. Going file by file through its ``ArrowScan`` keeps one file's batches at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow
from pyiceberg.table import Table


def file_batches(
    table: Table,
    row_filter: BooleanExpression | None = None,
    selected_fields: tuple[str, ...] = ("*",),
    snapshot_id: int | None = None,
) -> pa.RecordBatchReader:
    """The rows of ``table`` (at ``snapshot_id``, main by default) matching ``row_filter``,
    projected to ``selected_fields``, read one data file at a time."""
    scan = table.scan(
        row_filter=row_filter or AlwaysTrue(),
        selected_fields=selected_fields,
        snapshot_id=snapshot_id,
    )
    projection = scan.projection()
    reader = ArrowScan(table.metadata, table.io, projection, scan.row_filter)
    schema = schema_to_pyarrow(projection, include_field_ids=False)

    def batches() -> Iterator[pa.RecordBatch]:
        for task in scan.plan_files():
            for batch in reader.to_record_batches([task]):
                # Files written at other times may differ in string width or nullability.
                yield batch if batch.schema.equals(schema) else batch.cast(schema)

    return pa.RecordBatchReader.from_batches(schema, batches())
