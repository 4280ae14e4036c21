"""The audit: validate what an audit branch would make current, then publish it or hold it back.

The branch head is the write's append snapshot; the files it added are the batch, every other
file of the snapshot (within the partition window) is the rest of the table. Both are validated
together, so a key the batch duplicates is caught. Then, by the asset's policy (``policy.py``):

- clean: ``main`` fast-forwards to the branch head and the branch is dropped;
- some bad rows, allowed: they go to quarantine and the write is re-applied on the branch with
  the good rows only, then audited again;
- otherwise: every batch row goes to quarantine (the bad ones with their reasons), ``main`` stays
  where it was, and the branch is kept for inspection until upkeep removes it. A batch its
  writer put on hold (``hold.py``) takes this path too, under the hold's rule.

If ``main`` moved between the write and the publish (another writer), the write is re-applied on
the new head and audited again: that writer's commit is kept, and what is published is what was
validated. After ``MAX_ATTEMPTS`` the batch goes to quarantine as ``publish_conflict``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot

from lakehouse.iceberg.branches import MainMovedError, added_files, branch_head, fast_forward
from lakehouse.iceberg.commits import retry_on_conflict, summary_properties
from lakehouse.iceberg.write_request import REQUEST_PROPERTY, WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.quality import CHUNK_ROWS, QualityReport, RowValidation
from lakehouse.wap.hold import hold_of
from lakehouse.wap.policy import BATCH, Decision, Reasons, decide
from lakehouse.wap.quarantine import Quarantined, quarantine_rows
from lakehouse.wap.target import AuditTarget

MAX_ATTEMPTS = 4
PUBLISH_CONFLICT = "publish_conflict"
# Takes the rows as chunks in order (``AuditState.chunks``), e.g. ``quality.validate_rows``.
Validator = Callable[[Iterable[pa.Table]], RowValidation]


@dataclass(frozen=True)
class AuditState:
    """The rows an audit sees: ``rest`` (already on main) then ``batch`` (what the write added).

    Read lazily: the audit validates ``chunks()`` (record batches, never the whole table in
    memory) and reads ``batch`` whole only when rows go to quarantine or are re-applied."""

    table: Table
    snapshot: Snapshot | None
    request_json: str | None
    scan: ArrowScan
    rest_tasks: tuple[FileScanTask, ...] = ()
    batch_tasks: tuple[FileScanTask, ...] = ()
    counted: dict[str, int] = field(default_factory=dict)  # rows seen by ``chunks()``

    @functools.cached_property
    def rest(self) -> pa.Table:
        return self.scan.to_table(self.rest_tasks)

    @functools.cached_property
    def batch(self) -> pa.Table:
        return self.scan.to_table(self.batch_tasks)

    @property
    def rows(self) -> pa.Table:
        return pa.concat_tables([self.rest, self.batch], promote_options="permissive")

    def chunks(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
        """``rows`` in order, ``chunk_rows`` at a time, counting rest and batch rows."""
        for part, tasks in (("rest", self.rest_tasks), ("batch", self.batch_tasks)):
            self.counted[part] = 0
            pending: list[pa.RecordBatch] = []
            # One file at a time: pyiceberg reads all of a call's files at once, in threads.
            batches = (b for task in tasks for b in self.scan.to_record_batches([task]))
            for record_batch in batches:
                pending.append(record_batch)
                self.counted[part] += record_batch.num_rows
                if sum(b.num_rows for b in pending) >= chunk_rows:
                    yield _table(pending)
                    pending = []
            if pending:
                yield _table(pending)
        if not self.counted["rest"] + self.counted["batch"]:
            yield self.scan.to_table([])  # no rows: the columns, for the contract to check

    def count(self, part: str) -> int:
        """Rows of ``rest`` or ``batch``, from ``chunks()`` if it ran, else by reading them."""
        if part in self.counted:
            return self.counted[part]
        rows: int = (self.rest if part == "rest" else self.batch).num_rows
        return rows


@dataclass
class AuditOutcome:
    passed: bool
    published: bool
    report: QualityReport
    branch: str | None
    audited_snapshot_id: int | None
    main_snapshot_id: int | None
    reason: str = ""
    quarantined_rows: int = 0
    quarantine_batches: list[str] = field(default_factory=list)
    attempts: int = 0
    published_rows: int = 0


def _table(batches: list[pa.RecordBatch]) -> pa.Table:
    """Batches of several files as one table (files may differ in string width)."""
    tables = [pa.Table.from_batches([batch]) for batch in batches]
    return pa.concat_tables(tables, promote_options="permissive")


def load_state(target: AuditTarget) -> AuditState:
    table = target.catalog.load_table(target.identifier)
    head = branch_head(table, target.branch) if target.branch else table.current_snapshot()
    if target.branch and head is None:
        raise LookupError(f"{target.name}: audit branch {target.branch!r} is missing")
    schema = table.schema()
    scan = ArrowScan(table.metadata, table.io, schema, target.row_filter)
    if head is None:
        return AuditState(table, None, None, scan)
    request_json = summary_properties(head).get(REQUEST_PROPERTY) if target.branch else None
    batch_files = added_files(table, head) if request_json else set()
    tasks = list(
        table.scan(row_filter=target.row_filter, snapshot_id=head.snapshot_id).plan_files()
    )
    rest = tuple(t for t in tasks if t.file.file_path not in batch_files)
    batch = tuple(t for t in tasks if t.file.file_path in batch_files)
    return AuditState(table, head, request_json, scan, rest, batch)


def _main_id(target: AuditTarget) -> int | None:
    main = target.catalog.load_table(target.identifier).current_snapshot()
    return main.snapshot_id if main else None


def restage(target: AuditTarget, state: AuditState, rows: pa.Table) -> None:
    """Re-apply the branch's write with ``rows``, from main's current head."""
    assert target.branch is not None and state.request_json is not None
    request = WriteRequest.from_json(state.request_json, branch=target.branch)
    write(target.catalog, rows, request, commit_timeout_seconds=target.commit_timeout_seconds)


def publish(target: AuditTarget) -> Snapshot:
    """Fast-forward main to the branch (retrying catalog conflicts; main moving is not one)."""
    assert target.branch is not None
    branch = target.branch
    _, head = retry_on_conflict(
        target.catalog,
        target.identifier,
        lambda table: fast_forward(table, branch),
        timeout_seconds=target.commit_timeout_seconds,
    )
    return head


def quarantine_batch_rows(
    target: AuditTarget, state: AuditState, reasons: dict[int, Reasons]
) -> Quarantined:
    """The audit's default: the rows at ``reasons``' positions go to the source's quarantine."""
    positions = sorted(reasons)
    return quarantine_rows(
        target.catalog,
        target.identifier,
        state.batch.take(pa.array(positions, pa.int64())),
        [reasons[p] for p in positions],
        run_id=target.run_id,
        branch=target.branch,
        snapshot_id=state.snapshot.snapshot_id if state.snapshot else None,
        request_json=state.request_json,
        volatile_columns=target.policy.volatile_columns,
        commit_timeout_seconds=target.commit_timeout_seconds,
    )


# Where the audit sends rows kept off main (a replay moves them within the quarantine instead).
QuarantineSink = Callable[[AuditTarget, AuditState, dict[int, Reasons]], Quarantined]


def _decide(target: AuditTarget, state: AuditState, validation: RowValidation) -> Decision:
    hold = hold_of(summary_properties(state.snapshot)) if state.snapshot else None
    if hold is not None and state.request_json is not None:
        everything = {row: [(BATCH, hold.rule)] for row in range(state.count("batch"))}
        return Decision(False, everything, hold.reason)
    return decide(
        batch_rows=state.count("batch"),
        rest_rows=state.count("rest"),
        by_row=validation.by_row,
        table_level=[(f.column, f.check) for f in validation.table_level],
        policy=target.policy,
        summary=validation.report.summary(),
    )


def run_audit(
    target: AuditTarget, validate: Validator, sink: QuarantineSink = quarantine_batch_rows
) -> AuditOutcome:
    """Audit the target's branch and publish it or hold it back (see the module docstring)."""
    if target.branch is None:  # nothing staged: report on main, change nothing
        state = load_state(target)
        report = validate(state.chunks()).report
        main = state.snapshot.snapshot_id if state.snapshot else None
        return AuditOutcome(report.passed, False, report, None, main, main, report.summary())
    first: QualityReport | None = None
    outcome = AuditOutcome(False, False, QualityReport(0, []), target.branch, None, None)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outcome.attempts = attempt
        state = load_state(target)
        outcome.audited_snapshot_id = state.snapshot.snapshot_id if state.snapshot else None
        validation = validate(state.chunks())
        first = first or validation.report
        outcome.report = first
        decision = _decide(target, state, validation)
        if decision.quarantine:
            quarantined = sink(target, state, decision.quarantine)
            outcome.quarantine_batches.append(quarantined.batch)
            outcome.quarantined_rows += quarantined.rows
        if not decision.publish:
            outcome.reason = f"main not changed: {decision.reason}"
            outcome.main_snapshot_id = _main_id(target)
            return outcome
        if decision.quarantine:  # publish the good rows: re-apply the write without the bad
            good = sorted(set(range(state.count("batch"))) - set(decision.quarantine))
            restage(target, state, state.batch.take(pa.array(good, pa.int64())))
            outcome.reason = decision.reason
            continue
        try:
            head = publish(target)
        except MainMovedError as moved:
            outcome.reason = str(moved)
            restage(target, state, state.batch)
            continue
        outcome.passed = outcome.published = True
        outcome.published_rows = state.count("batch")
        outcome.audited_snapshot_id = outcome.main_snapshot_id = head.snapshot_id
        outcome.reason = outcome.reason or validation.report.summary()
        return outcome
    state = load_state(target)
    reasons = {row: [(BATCH, PUBLISH_CONFLICT)] for row in range(state.count("batch"))}
    if reasons:
        quarantined = sink(target, state, reasons)
        outcome.quarantine_batches.append(quarantined.batch)
        outcome.quarantined_rows += quarantined.rows
    outcome.reason = (
        f"main not changed: {target.name} could not publish branch {target.branch!r} in "
        f"{MAX_ATTEMPTS} attempts ({outcome.reason}); its rows are in quarantine"
    )
    outcome.main_snapshot_id = _main_id(target)
    return outcome
