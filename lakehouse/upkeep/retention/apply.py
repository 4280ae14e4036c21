"""Data retention: delete rows older than the table's retention, by its time column.

The rules (raw 90 days, transformed 365 days) live in ``rules.py``. The delete is pyiceberg's
copy-on-write delete: whole partitions past the cutoff are dropped from metadata, partly
expired files are rewritten. The rows stay in older snapshots until snapshot expiry.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import BooleanExpression, LessThan
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, HourTransform, MonthTransform, YearTransform
from pyiceberg.types import DateType, TimestampType, TimestamptzType

from lakehouse.iceberg.commits import retry_on_conflict
from lakehouse.upkeep.compaction.bin_packing import UPKEEP_PROPERTY
from lakehouse.upkeep.rules import TIME_COLUMN_PROPERTY, TableRules

_TIME_TRANSFORMS = (HourTransform, DayTransform, MonthTransform, YearTransform)


@dataclass
class RetentionResult:
    table: str
    column: str | None = None
    cutoff: dt.datetime | None = None
    rows_deleted: int = 0
    skipped: str | None = None


def time_column(table: Table, rules: TableRules) -> str | None:
    """The rule's column, else the ``lakehouse.time-column`` property, else the source of a
    time-partition transform; only columns holding a date or timestamp count."""
    schema = table.schema()
    candidates = [rules.time_column, table.properties.get(TIME_COLUMN_PROPERTY)]
    candidates += [
        schema.find_column_name(f.source_id)
        for f in table.spec().fields
        if isinstance(f.transform, _TIME_TRANSFORMS)
    ]
    for name in candidates:
        if not name:
            continue
        try:
            field_type = schema.find_field(name).field_type
        except ValueError:
            continue
        if isinstance(field_type, DateType | TimestampType | TimestamptzType):
            return name
    return None


def cutoff_filter(table: Table, column: str, cutoff: dt.datetime) -> BooleanExpression:
    """``column < cutoff`` with the literal in the column's own type (UTC for naive ones)."""
    field_type = table.schema().find_field(column).field_type
    instant = cutoff.astimezone(dt.UTC)
    if isinstance(field_type, DateType):
        return LessThan(column, instant.date().isoformat())
    if isinstance(field_type, TimestamptzType):
        return LessThan(column, instant.isoformat())
    return LessThan(column, instant.replace(tzinfo=None).isoformat())


def apply_retention(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    now: dt.datetime | None = None,
    *,
    timeout_seconds: float = 120.0,
    dry_run: bool = False,
) -> RetentionResult:
    """Delete the table's rows past its retention (nothing when it has no rule or column)."""
    now = now or dt.datetime.now(dt.UTC)
    table = catalog.load_table(identifier)
    result = RetentionResult(".".join(identifier))
    if rules.retention is None:
        result.skipped = "no retention rule"
        return result
    column = time_column(table, rules)
    if column is None:
        result.skipped = "no time column (set one in rules.py or lakehouse.time-column)"
        return result
    result.column, result.cutoff = column, now - rules.retention
    expired = cutoff_filter(table, column, result.cutoff)
    if table.current_snapshot() is None:
        return result
    result.rows_deleted = table.scan(row_filter=expired).count()
    if dry_run or result.rows_deleted == 0:
        return result

    def change(current: Table) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            current.delete(expired, snapshot_properties={UPKEEP_PROPERTY: "retention"})

    retry_on_conflict(catalog, identifier, change, timeout_seconds=timeout_seconds, table=table)
    return result
