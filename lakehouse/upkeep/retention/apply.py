"""Data retention: archive, then delete rows older than the table's retention (seed §4.2).

The rules (raw 90 days, transformed 365 days) live in ``rules.py``. The rows past the cutoff are
first written to a verified archive (``lakehouse.governance.archive``: compressed Parquet and a
manifest, read back); the delete, by the same filter, commits only if the table still holds
exactly the archived rows in range, so a late row is never deleted unarchived. The delete is
pyiceberg's copy-on-write delete; the rows stay in older snapshots until snapshot expiry.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, HourTransform, MonthTransform, YearTransform
from pyiceberg.types import DateType, TimestampType, TimestamptzType

from lakehouse.governance.archive import (
    ArchiveError,
    ArchiveRange,
    ArchiveReceipt,
    archive_rows,
    covers,
    range_filter,
    record_on_table,
)
from lakehouse.iceberg.commits import retry_on_conflict
from lakehouse.upkeep.compaction.bin_packing import UPKEEP_PROPERTY
from lakehouse.upkeep.rules import TIME_COLUMN_PROPERTY, TableRules

_TIME_TRANSFORMS = (HourTransform, DayTransform, MonthTransform, YearTransform)
ARCHIVE_PROPERTY = "lakehouse.archive"  # on the delete's snapshot: the archive's manifest


@dataclass
class RetentionResult:
    table: str
    column: str | None = None
    cutoff: dt.datetime | None = None
    rows_deleted: int = 0
    skipped: str | None = None
    archive: ArchiveReceipt | None = None


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


def apply_retention(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    now: dt.datetime | None = None,
    *,
    archive_root: str | None,
    timeout_seconds: float = 120.0,
    dry_run: bool = False,
) -> RetentionResult:
    """Archive under ``archive_root``, then delete, the table's rows past its retention
    (nothing when it has no rule or column); ``dry_run`` only counts them."""
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
    expired_rows = ArchiveRange(column, result.cutoff)
    expired = range_filter(table, expired_rows)
    if table.current_snapshot() is None:
        return result
    result.rows_deleted = table.scan(row_filter=expired).count()
    if dry_run or result.rows_deleted == 0:
        return result
    if archive_root is None:
        raise ArchiveError(
            f"LAKEHOUSE_ARCHIVE_LOCATION: {result.table} has {result.rows_deleted} rows past "
            "retention but no archive location is set (the warehouse is a REST name); "
            "nothing deleted"
        )
    receipt = archive_rows(catalog, identifier, expired_rows, root=archive_root, now=now)
    if not receipt.safe_to_delete or receipt.manifest_uri is None:
        raise ArchiveError(f"{result.table}: the archive is not verified; nothing deleted")
    properties = {UPKEEP_PROPERTY: "retention", ARCHIVE_PROPERTY: receipt.manifest_uri}

    def change(current: Table) -> None:
        if not covers(current, receipt):
            raise ArchiveError(
                f"{result.table}: rows in {expired_rows.label()} changed since they were "
                f"archived to {receipt.manifest_uri}; nothing deleted (the next run archives "
                "again)"
            )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            current.delete(range_filter(current, expired_rows), snapshot_properties=properties)

    retry_on_conflict(catalog, identifier, change, timeout_seconds=timeout_seconds)
    record_on_table(catalog, identifier, receipt.manifest_uri)
    result.rows_deleted, result.archive = receipt.rows, receipt
    return result
