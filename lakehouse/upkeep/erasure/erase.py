"""GDPR erasure: remove a data subject's rows from every PII table, physically.

A table is PII when its properties say ``lakehouse.pii=true``; ``lakehouse.subject-column``
names the column holding the subject's id. Deleting rows only adds a snapshot: the old files
still hold them. So, per table: delete the rows on every branch, append an empty marker
snapshot to each branch deleted from (its manifests no longer carry the deleted entries and
their column bounds), untag
and expire every snapshot that still reaches a file holding the subject and the delete's own
snapshots, and delete the files they alone reached. An audit row (subject as a sha256, never
in clear) goes to ``governance.erasure_audit`` (which restores replay erasures from) and to the
audit trail (``lakehouse.governance.audit``). Which tables are PII, and how a subject is named
and matched, is ``lakehouse.governance.pii``'s, shared with the GDPR export.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import warnings
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo
from pyiceberg.expressions.visitors import _InclusiveMetricsEvaluator
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.refs import MAIN_BRANCH

from lakehouse.governance.audit.recorders import erasure_record
from lakehouse.governance.audit.store import AuditStore
from lakehouse.governance.pii import (
    PII_PROPERTY,
    SUBJECT_COLUMN_PROPERTY,
    PiiTagError,
    find_pii_tables,
    subject_filter,
    subject_hash,
)
from lakehouse.iceberg.commits import CommitPlan, commit, retry_on_conflict, summary_properties
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.upkeep.compaction.bin_packing import UPKEEP_PROPERTY
from lakehouse.upkeep.rules import GOVERNANCE_NAMESPACE, pii_tables
from lakehouse.upkeep.snapshots.expiry import expire_snapshots
from lakehouse.upkeep.snapshots.reachability import History, load_history, reachable_files

AUDIT_TABLE = (GOVERNANCE_NAMESPACE, "erasure_audit")
REQUEST_PROPERTY = "lakehouse.erasure-request"


@dataclass
class TableErasure:
    rows_deleted: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    tags_removed: list[str] = field(default_factory=list)
    remaining_holders: int = 0  # files still reachable holding the subject: must be 0
    # What expiry deleted: versioned buckets keep them until their lifecycle rule (versions.py)
    deleted_files: list[str] = field(default_factory=list)


@dataclass
class ErasureReport:
    request_id: str
    subject_sha256: str
    requested_by: str
    requested_at: dt.datetime
    tables: dict[str, TableErasure] = field(default_factory=dict)

    @property
    def rows_deleted(self) -> int:
        return sum(t.rows_deleted for t in self.tables.values())


def tag_declared_pii(catalog: Catalog) -> list[str]:
    """Set the PII properties on tables ``rules.py`` declares (idempotent); names tagged now."""
    tagged = []
    for name, column in pii_tables().items():
        identifier = tuple(name.split("."))
        if not catalog.table_exists(identifier):
            continue
        table = catalog.load_table(identifier)
        if column not in table.schema().column_names:
            continue  # declared for another shape of this table: leave it to its owner
        wanted = {PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: column}
        if any(table.properties.get(k) != v for k, v in wanted.items()):
            with table.transaction() as txn:
                txn.set_properties(wanted)
            tagged.append(name)
    return tagged


def _holds(table: Table, data_file: DataFile, predicate: EqualTo) -> bool:
    """Whether a file has a row matching ``predicate`` (stats first, then a filtered read)."""
    if not _InclusiveMetricsEvaluator(table.schema(), predicate).eval(data_file):
        return False
    reader = ArrowScan(table.metadata, table.io, table.schema(), predicate)
    return reader.to_table([FileScanTask(data_file)]).num_rows > 0


def _holders(table: Table, predicate: EqualTo) -> tuple[History, set[str]]:
    data_files: dict[str, DataFile] = {}
    history = load_history(table, data_files=data_files)
    return history, {p for p, f in data_files.items() if _holds(table, f, predicate)}


def erase_from_table(
    catalog: Catalog,
    identifier: tuple[str, ...],
    column: str,
    subject_id: str,
    request_id: str,
    *,
    timeout_seconds: float = 120.0,
) -> TableErasure:
    table = catalog.load_table(identifier)
    predicate = subject_filter(table, column, subject_id)
    properties = {UPKEEP_PROPERTY: "erasure", REQUEST_PROPERTY: request_id}
    result = TableErasure()
    history, holders = _holders(table, predicate)
    if not holders:
        return result
    touched = {MAIN_BRANCH}  # main always gets the marker: its snapshots carry the request id
    for branch, head in sorted(history.branches.items()):
        rows = table.scan(row_filter=predicate, snapshot_id=head).count()
        if rows:
            result.rows_deleted += rows
            touched.add(branch)

            def delete(current: Table, branch: str = branch) -> None:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Delete operation did not match")
                    current.delete(predicate, snapshot_properties=properties, branch=branch)

            retry_on_conflict(catalog, identifier, delete, timeout_seconds=timeout_seconds)
    # The delete's manifests keep each removed file's entry (DELETED) with its column bounds,
    # which name the subject when a file held only their rows; an empty append on each branch
    # drops those manifests from its head, and expiry below then deletes them.
    for branch in sorted(touched):
        marker = CommitPlan(data_files=(), snapshot_properties=properties, branch=branch)
        table, _ = commit(catalog, identifier, marker, timeout_seconds=timeout_seconds)

    history = load_history(table)
    heads = set(history.branches.values())
    doomed = {
        s.snapshot_id
        for s in table.metadata.snapshots
        if summary_properties(s).get(REQUEST_PROPERTY) == request_id
        or reachable_files(history, [s.snapshot_id]) & holders
    } - heads
    tags = sorted(name for name, sid in history.tags.items() if sid in doomed)
    if tags:

        def untag(current: Table) -> None:
            with current.manage_snapshots() as manage:
                for name in tags:
                    manage.remove_tag(name)

        retry_on_conflict(catalog, identifier, untag, timeout_seconds=timeout_seconds)
    result.tags_removed = tags
    expired = expire_snapshots(
        catalog,
        identifier,
        lambda h: doomed & set(h.snapshots),
        timeout_seconds=timeout_seconds,
    )
    result.snapshots_expired = len(expired.expired)
    result.files_deleted = len(expired.deleted_files)
    result.deleted_files = sorted(expired.deleted_files)
    after = load_history(catalog.load_table(identifier))
    result.remaining_holders = len(reachable_files(after) & holders)
    return result


AUDIT_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("subject_sha256", pa.string(), nullable=False),
        pa.field("requested_by", pa.string(), nullable=False),
        pa.field("requested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("completed_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("tables", pa.string(), nullable=False),  # JSON: table -> what was done
        pa.field("rows_deleted", pa.int64(), nullable=False),
    ]
)


def write_audit(catalog: Catalog, report: ErasureReport, *, timeout_seconds: float) -> None:
    row = {
        "request_id": [report.request_id],
        "subject_sha256": [report.subject_sha256],
        "requested_by": [report.requested_by],
        "requested_at": [report.requested_at],
        "completed_at": [dt.datetime.now(dt.UTC)],
        "tables": [json.dumps({k: v.__dict__ for k, v in report.tables.items()}, sort_keys=True)],
        "rows_deleted": [report.rows_deleted],
    }
    catalog.create_namespace_if_not_exists(GOVERNANCE_NAMESPACE)
    request = WriteRequest(AUDIT_TABLE, mode="append")
    write(
        catalog, pa.table(row, schema=AUDIT_SCHEMA), request, commit_timeout_seconds=timeout_seconds
    )


class ErasureIncomplete(RuntimeError):
    """Some file still holding the subject remains reachable (e.g. from another branch)."""


def erase_subject(
    catalog: Catalog,
    subject_id: str,
    requested_by: str,
    *,
    timeout_seconds: float = 120.0,
    audit: AuditStore | None = None,
    run_id: str | None = None,
) -> ErasureReport:
    """Erase ``subject_id`` from every PII table and record it: the erasure audit table, then
    the audit trail (``audit``, when given)."""
    report = ErasureReport(
        request_id=uuid.uuid4().hex,
        subject_sha256=subject_hash(subject_id),
        requested_by=requested_by,
        requested_at=dt.datetime.now(dt.UTC),
    )
    tag_declared_pii(catalog)
    try:
        tables = find_pii_tables(catalog)
    except PiiTagError as error:
        raise ErasureIncomplete(str(error)) from None
    for identifier, column in sorted(tables.items()):
        report.tables[".".join(identifier)] = erase_from_table(
            catalog,
            identifier,
            column,
            subject_id,
            report.request_id,
            timeout_seconds=timeout_seconds,
        )
    write_audit(catalog, report, timeout_seconds=timeout_seconds)
    if audit is not None:
        done = {name: vars(t) for name, t in report.tables.items()}
        audit.append(
            [
                erasure_record(
                    report.request_id, report.subject_sha256, requested_by, done, run_id=run_id
                )
            ]
        )
    left = {name: t.remaining_holders for name, t in report.tables.items() if t.remaining_holders}
    if left:
        raise ErasureIncomplete(
            f"request {report.request_id}: files still hold the subject: {left}"
        )
    return report
