"""Replay: quarantined rows go back through write-audit-publish after a fix, exactly once.

Each quarantine batch is re-submitted as it was written (upsert on the same keys; otherwise
appended, so a full-table or partition overwrite never wipes what main holds now) to an audit
branch, audited with today's contract, and published with the good rows; rows that still fail
go back to quarantine as a new batch. The published snapshot carries the batch id, so a replay
interrupted after publishing and run again only clears the quarantine: nothing lands twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import ancestors_of

from lakehouse.iceberg.branches import audit_branch, is_audit_branch, remove_branch
from lakehouse.iceberg.commits import summary_properties
from lakehouse.iceberg.writes import WriteMode, WriteRequest, write
from lakehouse.wap.audit import Validator, run_audit
from lakehouse.wap.policy import WapPolicy
from lakehouse.wap.quarantine import (
    AT,
    BATCH,
    BRANCH,
    REQUEST,
    drop_batch,
    read_quarantine,
    source_rows,
)
from lakehouse.wap.target import AuditTarget

REPLAY_PROPERTY = "lakehouse.replay-of"
# Every row ends on main or back in quarantine, whatever the source asset's policy.
REPLAY_POLICY = WapPolicy(on_bad_rows="publish_good_rows", max_bad_fraction=1.0)

Fix = Callable[[pa.Table], pa.Table]


@dataclass
class ReplayResult:
    table: str
    batches: int = 0
    published_rows: int = 0
    requarantined_rows: int = 0
    already_published: list[str] = field(default_factory=list)


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
    return dataclasses.replace(request, mode=mode, branch=branch, snapshot_properties=properties)


def replay(
    catalog: Catalog,
    identifier: tuple[str, ...],
    validate: Validator,
    *,
    fix: Fix | None = None,
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
        data = source_rows(rows)
        data = fix(data) if fix is not None else data
        run_id = f"replay-{batch}"
        branch = audit_branch(run_id)
        request_json = rows[REQUEST][0].as_py()
        if request_json is None:
            raise ValueError(f"{result.table}: quarantine batch {batch} has no write request")
        request = _replay_request(request_json, batch, branch)
        write(catalog, data, request, commit_timeout_seconds=commit_timeout_seconds)
        target = AuditTarget(
            catalog,
            identifier,
            branch,
            run_id,
            REPLAY_POLICY,
            commit_timeout_seconds=commit_timeout_seconds,
        )
        outcome = run_audit(target, validate)
        if not outcome.published:  # rows already on main fail: the rows are quarantined again
            remove_branch(catalog.load_table(identifier), branch)
        result.requarantined_rows += outcome.quarantined_rows
        result.published_rows += (
            data.num_rows - outcome.quarantined_rows if outcome.published else 0
        )
        drop_batch(catalog, identifier, batch)
        _drop_source_branch(catalog, identifier, rows[BRANCH][0].as_py())
    return result


def _drop_source_branch(catalog: Catalog, identifier: tuple[str, ...], name: str | None) -> None:
    """The rejected batch's audit branch was kept for inspection; its rows are dealt with now."""
    if name and is_audit_branch(name):
        remove_branch(catalog.load_table(identifier), name)
