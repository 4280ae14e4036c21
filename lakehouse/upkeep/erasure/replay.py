"""Re-apply GDPR erasures to a table restored from a backup taken before them.

Backups are immutable copies, so a subject erased after a backup is still in it until the
backup ages out (``upkeep_backup_retention_days``). An operator restore therefore replays the
erasures the audit table recorded since the backup: it hashes the restored subject column,
deletes the matching rows and expires the restored snapshot that still held them.
"""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import GreaterThanOrEqual, In
from pyiceberg.table import Table

from lakehouse.governance.pii import PII_PROPERTY, SUBJECT_COLUMN_PROPERTY, subject_hash
from lakehouse.upkeep.erasure.erase import AUDIT_TABLE
from lakehouse.upkeep.rules import pii_tables
from lakehouse.upkeep.snapshots.expiry import expire_snapshots


def erased_since(catalog: Catalog, since: dt.datetime) -> set[str]:
    """sha256s of the subjects erased at or after ``since``."""
    if not catalog.table_exists(AUDIT_TABLE):
        return set()
    audit = catalog.load_table(AUDIT_TABLE)
    rows = audit.scan(
        row_filter=GreaterThanOrEqual("requested_at", since.astimezone(dt.UTC).isoformat()),
        selected_fields=("subject_sha256",),
    ).to_arrow()
    return set(rows["subject_sha256"].to_pylist())


def subject_column(catalog: Catalog, source: tuple[str, ...], restored: Table) -> str | None:
    """The subject column: the restored properties, else the source table's today (it may have
    been tagged PII after the backup), else what ``rules.py`` declares."""
    candidates = [restored.properties]
    if catalog.table_exists(source):
        candidates.append(catalog.load_table(source).properties)
    for properties in candidates:
        if properties.get(PII_PROPERTY, "").lower() == "true":
            return properties.get(SUBJECT_COLUMN_PROPERTY)
    return pii_tables().get(".".join(source))


def reapply_erasures(
    catalog: Catalog, identifier: tuple[str, ...], since: dt.datetime, source: tuple[str, ...]
) -> int:
    """Delete, physically, the rows of subjects erased since ``since`` from the table restored
    from ``source``; the number of rows removed."""
    table = catalog.load_table(identifier)
    column = subject_column(catalog, source, table)
    if not column:
        return 0
    hashes = erased_since(catalog, since)
    if not hashes or table.current_snapshot() is None:
        return 0
    values = pc.unique(table.scan(selected_fields=(column,)).to_arrow()[column]).to_pylist()
    doomed = [v for v in values if v is not None and subject_hash(str(v)) in hashes]
    if not doomed:
        return 0
    rows = table.scan(row_filter=In(column, doomed)).count()
    table.delete(In(column, doomed))
    expire_snapshots(catalog, identifier, lambda h: set(h.snapshots) - set(h.branches.values()))
    return rows
