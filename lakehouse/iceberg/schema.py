"""Schema and partition-spec evolution before a write: add new columns, refuse type changes.

Evolution is its own small commit ahead of the data commit: data files are written with the
table's field ids, and Iceberg guarantees files stay readable under any later schema, so a
concurrent writer evolving the table cannot invalidate files we already wrote.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import ResolveError, ValidationError
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema, promote
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.transforms import DayTransform
from pyiceberg.types import IcebergType

from lakehouse.iceberg.commits import CachedTransaction


class SchemaEvolutionError(ValueError):
    """A batch does not fit its table; the message names the table, the column and both types."""


def table_name(table: Table) -> str:
    return ".".join(table.name())


def table_address(table: Table) -> str:
    """``<catalog>.<namespace>.<table>``: the name Trino, Spark and the Dagster UI use."""
    return ".".join((table.catalog.name, *table.name()))


def batch_schema(schema: pa.Schema, format_version: int = 2) -> Schema:
    """The Iceberg view of an Arrow schema (ids unassigned), as pyiceberg's union uses it."""
    return Catalog._convert_schema_if_needed(schema, format_version=format_version)  # type: ignore[arg-type]


def _widens(narrow: IcebergType, wide: IcebergType) -> bool:
    try:
        promote(narrow, wide)
    except ResolveError:
        return False
    return True


def _kind(field_type: IcebergType) -> str:
    return "primitive" if field_type.is_primitive else type(field_type).__name__


def check_compatible(table: Table, batch: Schema) -> None:
    """Raise if a batch column changes a table column's type in a way Iceberg cannot promote."""
    current = table.schema()
    for field in batch.fields:
        try:
            existing = current.find_field(field.name)
        except ValueError:  # a new column: union_by_name adds it
            continue
        old, new = existing.field_type, field.field_type
        if old == new:
            continue
        compatible = (
            _widens(new, old) or _widens(old, new)
            if old.is_primitive and new.is_primitive
            else _kind(old) == _kind(new)
        )
        if not compatible:
            raise SchemaEvolutionError(
                f"cannot write to table {table_name(table)}: column '{field.name}' is {old} in "
                f"the table but {new} in the batch (incompatible type change)"
            )


def conform(table: Table, data: pa.Table) -> pa.Table:
    """Fit a batch to its table where Arrow says less than Iceberg.

    Arrow (and every pandas frame) marks columns nullable, and union_by_name would relax the
    table's required columns on the first write, so a column without nulls stays required; an
    all-null pandas column has Arrow's null type, so it takes the table column's type.
    """
    current = table.schema()
    fields = []
    for field in data.schema:
        try:
            existing = current.find_field(field.name)
        except ValueError:
            fields.append(field)
            continue
        if pa.types.is_null(field.type):
            field = field.with_type(schema_to_pyarrow(existing.field_type))
        elif existing.required and field.nullable and data.column(field.name).null_count == 0:
            field = field.with_nullable(False)
        fields.append(field)
    schema = pa.schema(fields, metadata=data.schema.metadata)
    return data if schema.equals(data.schema) else data.cast(schema)


def _needs_union(current: Schema, batch: Schema) -> bool:
    """Whether union_by_name would change anything (cheap; nested columns always say yes)."""
    for field in batch.fields:
        try:
            existing = current.find_field(field.name)
        except ValueError:
            return True
        if existing.required and field.optional:
            return True
        if existing.field_type != field.field_type and not _widens(
            field.field_type, existing.field_type
        ):
            return True
    return False


def _partitioned_on(metadata: TableMetadata, column: str) -> bool:
    try:
        field_id = metadata.schema().find_field(column).field_id
    except ValueError:  # a new column, added by this write's union
        return False
    return any(field.source_id == field_id for field in metadata.spec().fields)


def add_day_partition(txn: Transaction, column: str) -> None:
    """Partition by ``day(column)``: one file set per day, so a daily overwrite drops whole files."""
    with txn.update_spec() as spec:
        spec.add_field(column, DayTransform(), f"{column}_day")


def evolve(table: Table, batch: pa.Schema, partition_column: str | None = None) -> bool:
    """Union the batch's columns into the table and add ``day(column)``; True if it committed.

    Refreshes nothing itself: the caller reloads and calls again on ``CommitFailedException``,
    which is safe because the change is recomputed from the reloaded table.
    """
    incoming = batch_schema(batch, table.format_version)
    check_compatible(table, incoming)
    add_partition = bool(partition_column) and not _partitioned_on(
        table.metadata, partition_column or ""
    )
    if not add_partition and not _needs_union(table.schema(), incoming):
        return False  # the common case: no transaction, no metadata copy
    txn = CachedTransaction(table)
    try:
        with txn.update_schema() as update:
            update.union_by_name(batch, format_version=table.format_version)
    except (ValidationError, ValueError) as error:  # nested changes check_compatible leaves
        raise SchemaEvolutionError(f"cannot write to table {table_name(table)}: {error}") from None
    if partition_column and not _partitioned_on(txn.table_metadata, partition_column):
        add_day_partition(txn, partition_column)
    if txn.table_metadata == table.metadata:
        return False
    txn.commit_transaction()
    return True
