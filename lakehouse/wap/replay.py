"""Replay: quarantined rows go back through write-audit-publish after a fix, exactly once, and a
replay that fixes nothing changes nothing.

Each quarantine batch is re-submitted as it was written (upsert on the same keys; otherwise
appended, so a full-table or partition overwrite never wipes what main holds now) to an audit
branch and audited with today's contract. If no row passes, the branch is removed and the
quarantine is left as it was. If some pass, the rows that do not are first moved to a batch of
their own (one commit), the rest are published, and then their batch is dropped: the published
snapshot carries the batch id, so a replay interrupted after publishing and run again only
clears the quarantine, and nothing lands twice.

Not re-submitted: rows kept for the record (``SUPERSEDED``), rows of a batch whose hold the
caller does not release, and records whose original could not be typed (unless ``retype``,
given by the table's layer, types it now).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import ancestors_of

from lakehouse.iceberg.branches import audit_branch, is_audit_branch, remove_branch
from lakehouse.iceberg.commits import summary_properties
from lakehouse.iceberg.write_request import WriteMode, WriteRequest
from lakehouse.iceberg.writes import write
from lakehouse.wap.audit import AuditState, Validator, run_audit
from lakehouse.wap.hold import HOLD_PROPERTY, Hold, request_hold
from lakehouse.wap.policy import SUPERSEDED, Reasons, WapPolicy
from lakehouse.wap.quarantine import (
    AT,
    BATCH,
    BRANCH,
    FINGERPRINT,
    ORIGINAL,
    REQUEST,
    RULE,
    Quarantined,
    drop_batch,
    read_quarantine,
    source_rows,
    split_batch,
)
from lakehouse.wap.target import AuditTarget

REPLAY_PROPERTY = "lakehouse.replay-of"
# Every row ends on main or back in quarantine, whatever the source asset's policy.
REPLAY_POLICY = WapPolicy(on_bad_rows="publish_good_rows", max_bad_fraction=1.0)

Fix = Callable[[pa.Table], pa.Table]
# Is the reason a batch was held gone now (the contract updated, say)?
Release = Callable[[Hold], bool]
# The original records as sent -> each one typed as a row of the table, or None if it still
# cannot be.
Retype = Callable[[Sequence[str]], list[dict[str, Any] | None]]


@dataclass
class ReplayResult:
    table: str
    batches: int = 0
    published_rows: int = 0
    still_failing_rows: int = 0
    kept_rows: int = 0  # superseded versions, kept for the record
    already_published: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kept = f", {self.kept_rows} superseded kept for the record" if self.kept_rows else ""
        return (
            f"{self.table}: {self.batches} batch(es) replayed, {self.published_rows} published, "
            f"{self.still_failing_rows} still failing{kept}"
        )


def _published(catalog: Catalog, identifier: tuple[str, ...], batch: str) -> bool:
    table = catalog.load_table(identifier)
    main = table.current_snapshot()
    if main is None:
        return False
    return any(
        summary_properties(s).get(REPLAY_PROPERTY) == batch
        for s in ancestors_of(main, table.metadata)
    )


def _replay_request(request_json: str, batch: str, branch: str) -> WriteRequest:
    request = WriteRequest.from_json(request_json)
    mode: WriteMode = "upsert" if request.upsert_keys else "append"
    properties = {**request.snapshot_properties, REPLAY_PROPERTY: batch}
    properties.pop("airbyte.state", None)  # a replay must not move an incremental cursor
    properties.pop(HOLD_PROPERTY, None)  # released, or the batch would not be replayed
    return dataclasses.replace(request, mode=mode, branch=branch, snapshot_properties=properties)


def _content(row: Mapping[str, Any], names: Sequence[str]) -> str:
    return json.dumps([row.get(name) for name in names], default=str)


def _candidates(rows: pa.Table, retype: Retype | None) -> tuple[pa.Table, list[str], list[str]]:
    """(the rows to re-submit as the table holds them, their fingerprints, fingerprints of
    records that still cannot be typed)."""
    data = source_rows(rows)
    original = rows[ORIGINAL] if ORIGINAL in rows.column_names else pa.nulls(rows.num_rows)
    typed_rows: list[dict[str, Any]] = []
    prints: list[str] = []
    untyped: list[str] = []
    texts = original.to_pylist()
    retyped = retype([t for t in texts if t is not None]) if retype else []
    again = iter(retyped)
    for position, (row, text) in enumerate(zip(data.to_pylist(), texts, strict=True)):
        fingerprint = rows[FINGERPRINT][position].as_py()
        value = row if text is None else (next(again) if retype else None)
        if value is None:
            untyped.append(fingerprint)
        else:
            typed_rows.append(value)
            prints.append(fingerprint)
    return pa.Table.from_pylist(typed_rows, schema=data.schema), prints, untyped


def _replay_batch(
    catalog: Catalog,
    identifier: tuple[str, ...],
    batch: str,
    rows: pa.Table,
    validate: Validator,
    result: ReplayResult,
    *,
    fix: Fix | None,
    retype: Retype | None,
    commit_timeout_seconds: float,
) -> None:
    kept = pc.equal(rows[RULE], SUPERSEDED)
    result.kept_rows += pc.sum(kept.cast(pa.int64())).as_py() or 0
    kept_prints = rows.filter(kept)[FINGERPRINT].to_pylist()
    data, prints, untyped = _candidates(rows.filter(pc.invert(kept)), retype)
    if data.num_rows == 0:
        result.still_failing_rows += len(untyped)
        return
    data = fix(data) if fix is not None else data
    request_json = rows[REQUEST][0].as_py()
    if request_json is None:
        raise ValueError(f"{result.table}: quarantine batch {batch} has no write request")
    if untyped or kept_prints:  # the batch must end as exactly the rows that publish
        split_batch(catalog, identifier, batch, [*untyped, *kept_prints])
    run_id = f"replay-{batch}"
    branch = audit_branch(run_id)
    write(
        catalog,
        data,
        _replay_request(request_json, batch, branch),
        commit_timeout_seconds=commit_timeout_seconds,
    )
    by_content: dict[str, list[str]] = {}
    for row, fingerprint in zip(data.to_pylist(), prints, strict=True):
        by_content.setdefault(_content(row, data.column_names), []).append(fingerprint)

    def move_failing(_: AuditTarget, state: AuditState, reasons: dict[int, Reasons]) -> Quarantined:
        if len(reasons) < state.batch.num_rows:  # some rows publish: the rest keep waiting
            staged = state.batch.to_pylist()
            failing = [by_content[_content(staged[p], data.column_names)].pop() for p in reasons]
            split_batch(catalog, identifier, batch, failing)
        return Quarantined(batch, 0, len(reasons))

    target = AuditTarget(
        catalog,
        identifier,
        branch,
        run_id,
        REPLAY_POLICY,
        commit_timeout_seconds=commit_timeout_seconds,
    )
    outcome = run_audit(target, validate, sink=move_failing)
    result.still_failing_rows += len(untyped)
    if not outcome.published:
        remove_branch(catalog.load_table(identifier), branch)
        result.still_failing_rows += data.num_rows
        return
    result.published_rows += outcome.published_rows
    result.still_failing_rows += data.num_rows - outcome.published_rows
    drop_batch(catalog, identifier, batch)
    _drop_source_branch(catalog, identifier, rows[BRANCH][0].as_py())


def replay(
    catalog: Catalog,
    identifier: tuple[str, ...],
    validate: Validator,
    *,
    fix: Fix | None = None,
    release: Release | None = None,
    retype: Retype | None = None,
    commit_timeout_seconds: float = 120.0,
) -> ReplayResult:
    """Re-submit every quarantined batch of ``identifier``, oldest first."""
    result = ReplayResult(".".join(identifier))
    quarantined = read_quarantine(catalog, identifier)
    if quarantined is None or quarantined.num_rows == 0:
        return result
    order = quarantined.group_by(BATCH).aggregate([(AT, "min")]).sort_by(f"{AT}_min")
    for batch in order[BATCH].to_pylist():
        rows = quarantined.filter(pc.equal(quarantined[BATCH], batch))
        result.batches += 1
        if _published(catalog, identifier, batch):
            result.already_published.append(batch)
            drop_batch(catalog, identifier, batch)
            _drop_source_branch(catalog, identifier, rows[BRANCH][0].as_py())
            continue
        hold = request_hold(rows[REQUEST][0].as_py())
        if hold is not None and (release is None or not release(hold)):
            result.still_failing_rows += rows.num_rows
            continue
        _replay_batch(
            catalog,
            identifier,
            batch,
            rows,
            validate,
            result,
            fix=fix,
            retype=retype,
            commit_timeout_seconds=commit_timeout_seconds,
        )
    return result


def _drop_source_branch(catalog: Catalog, identifier: tuple[str, ...], name: str | None) -> None:
    """The rejected batch's audit branch was kept for inspection; its rows are dealt with now."""
    if name and is_audit_branch(name):
        remove_branch(catalog.load_table(identifier), name)
