"""Commit written data files exactly once, retrying under contention within a bounded wait.

pyiceberg retries a conflicting commit 4 times and then gives up (2 writers x 50 appends on
PostgreSQL lost 4 commits). We wrap it in our own loop: exponential backoff with full jitter,
bounded by ``commit_timeout_seconds`` (plus the attempt under way), reloading the table before
each retry. The data files are written once and re-committed as they are; only manifests and
metadata are rewritten. pyiceberg's quick retries still run inside each attempt: they keep the
snapshot id and the files too, so they are cheap.

Exactly once: every commit carries a unique ``lakehouse.commit-id`` in its snapshot summary.
After an ambiguous failure (the connection dropped, the catalog answered 5xx) the commit may
have landed, so before any retry we look for that id in the reloaded table and stop if found.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy.exc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    ValidationException,
)
from pyiceberg.expressions import BooleanExpression
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table, TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot, ancestors_of
from pyiceberg.table.update import SetSnapshotRefUpdate, TableUpdate, update_table_metadata
from pyiceberg.utils.properties import property_as_bool

COMMIT_ID_PROPERTY = "lakehouse.commit-id"

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that guarantee the commit did not land: reload, replan, retry. A ValidationException is a
# concurrent change to rows our delete covers; replanning against the new head resolves it, with
# the semantics of the write (the partition or the keys end up holding this batch).
RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (CommitFailedException, ValidationException)

# Errors after which the commit may or may not have landed: check before retrying.
AMBIGUOUS_ERRORS: tuple[type[BaseException], ...] = (
    CommitStateUnknownException,
    OSError,  # includes ConnectionError, TimeoutError and requests' connection errors
    sqlalchemy.exc.OperationalError,  # lost connection, or SQLite's "database is locked"
    sqlalchemy.exc.InterfaceError,
)


class CommitTimeoutError(RuntimeError):
    """A commit did not land within ``commit_timeout_seconds``; the message says if it surely
    did not (then its data files are deleted) or if the catalog was too unreachable to tell."""


class CachedTransaction(Transaction):
    """A ``Transaction`` whose metadata view is built once per change, not on every read.

    pyiceberg 0.12 deep-copies the whole table metadata on each ``table_metadata`` read (about
    twenty per append), so with a few hundred snapshots that copy was most of a commit's time.
    The metadata models are frozen and updates copy on write, so one shared view per (base,
    staged updates) pair is safe.
    """

    _view: tuple[TableMetadata, tuple[TableUpdate, ...], TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        if self._view is None or self._view[0] is not base or self._view[1] is not updates:
            view = update_table_metadata(base, updates) if updates else base
            self._view = (base, updates, view)
        return self._view[2]


def new_commit_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class CommitPlan:
    """What one atomic commit does: drop rows matching ``delete_filter``, then add files, on
    ``branch`` (``main`` unless an audit branch)."""

    data_files: tuple[DataFile, ...]
    # A callable is called only when the branch has rows to delete from: an upsert's key filter
    # (one literal per key) is not built for the first write of a table.
    delete_filter: BooleanExpression | Callable[[], BooleanExpression] | None = None
    snapshot_properties: Mapping[str, str] = field(default_factory=dict)
    commit_id: str = field(default_factory=new_commit_id)
    branch: str = MAIN_BRANCH

    @property
    def properties(self) -> dict[str, str]:
        return {**self.snapshot_properties, COMMIT_ID_PROPERTY: self.commit_id}


@dataclass
class Backoff:
    """Full-jitter exponential backoff that never sleeps past the deadline."""

    timeout_seconds: float
    base_seconds: float = 0.05
    cap_seconds: float = 2.0
    attempts: int = 0
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_seconds

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def wait(self) -> None:
        delay = random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**self.attempts))
        self.attempts += 1
        time.sleep(max(0.0, min(delay, self.deadline - time.monotonic())))


def summary_properties(snapshot: Snapshot) -> dict[str, str]:
    """A snapshot's summary as a plain dict: ``Summary`` answers None, not KeyError, for any key,
    so ``key in summary`` is always true."""
    return snapshot.summary.additional_properties if snapshot.summary is not None else {}


def find_commit(table: Table, commit_id: str) -> Snapshot | None:
    """The last snapshot a commit produced (its append), or None if it has not landed."""
    for snapshot in reversed(table.metadata.snapshots):
        if summary_properties(snapshot).get(COMMIT_ID_PROPERTY) == commit_id:
            return snapshot
    return None


def latest_snapshot_property(table: Table, key: str) -> str | None:
    """The value of ``key`` in the newest snapshot on main that carries it (walking history)."""
    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        if (value := summary_properties(snapshot).get(key)) is not None:
            return value
    return None


def _commit_once(table: Table, plan: CommitPlan) -> None:
    """One transaction, one catalog commit: delete what the filter covers, append the files.

    A delete snapshot then an append, as pyiceberg's own overwrite does. One OVERWRITE snapshot
    would be tidier, but pyiceberg 0.12 carries its deleted-entries manifest into every later
    overwrite of the partition, so each commit got slower; a fast append drops it.
    """
    properties = plan.properties
    txn = CachedTransaction(table)
    if plan.delete_filter is not None and table.snapshot_by_name(plan.branch) is not None:
        delete = plan.delete_filter
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Delete operation did not match any records")
            txn.delete(
                delete if isinstance(delete, BooleanExpression) else delete(),
                snapshot_properties=properties,
                branch=plan.branch,
            )
    # pyiceberg refuses a branch write to a table with no snapshot at all (its ref requirement
    # fails), so the first write of a new table is a snapshot with no ref, then the branch is
    # pointed at it; no one else writes a run's audit branch, so no requirement is lost.
    first = plan.branch != MAIN_BRANCH and not table.metadata.snapshots
    update = txn.update_snapshot(
        snapshot_properties=properties, branch=None if first else plan.branch
    )
    merge = property_as_bool(
        txn.table_metadata.properties,
        TableProperties.MANIFEST_MERGE_ENABLED,
        TableProperties.MANIFEST_MERGE_ENABLED_DEFAULT,
    )
    # Always an append snapshot, even with no files: it carries the commit id and properties.
    with update.merge_append() if merge else update.fast_append() as append:
        for data_file in plan.data_files:
            append.append_data_file(data_file)
    if first:
        (snapshot,) = txn.table_metadata.snapshots
        ref = SetSnapshotRefUpdate(
            ref_name=plan.branch, type=SnapshotRefType.BRANCH, snapshot_id=snapshot.snapshot_id
        )
        txn._stage((ref,), ())
    txn.commit_transaction()


def commit(
    catalog: Catalog,
    identifier: tuple[str, ...],
    plan: CommitPlan,
    *,
    timeout_seconds: float,
    table: Table | None = None,
) -> tuple[Table, Snapshot]:
    """Land ``plan`` exactly once; return the table after the commit and the commit's snapshot.

    ``table`` is the copy the files were written against (saves one reload on the first try).
    """
    backoff = Backoff(timeout_seconds)
    current, io = table, table.io if table is not None else None
    last_error: BaseException | None = None
    while True:
        try:
            if current is None:
                current = catalog.load_table(identifier)
                io = current.io
                if (landed := find_commit(current, plan.commit_id)) is not None:
                    log.info("commit %s had landed despite %r", plan.commit_id, last_error)
                    return current, landed
            _commit_once(current, plan)
            landed = find_commit(current, plan.commit_id)
            if landed is None:  # pragma: no cover - pyiceberg updates the table on success
                raise RuntimeError(f"commit {plan.commit_id} succeeded but no snapshot carries it")
            return current, landed
        except (*RETRYABLE_ERRORS, *AMBIGUOUS_ERRORS) as error:
            last_error = error
        current = None
        if backoff.expired():
            break
        log.warning("commit to %s failed, retrying: %s", ".".join(identifier), last_error)
        backoff.wait()
    landed_state = "nothing was committed"
    if isinstance(last_error, RETRYABLE_ERRORS):
        if io is not None:
            delete_quietly(io, plan.data_files)  # these errors guarantee it did not land
    else:
        try:  # one last look: the ambiguous attempt may have landed
            current = catalog.load_table(identifier)
            if (landed := find_commit(current, plan.commit_id)) is not None:
                return current, landed
        except Exception:  # the catalog is still unreachable: say so below
            landed_state = "the catalog is unreachable, so whether it landed is unknown"
    raise CommitTimeoutError(
        f"could not commit to {'.'.join(identifier)} within {timeout_seconds:g} s "
        f"(commit_timeout_seconds) after {backoff.attempts + 1} attempts; {landed_state} "
        f"(commit id {plan.commit_id}). Last error: {type(last_error).__name__}: {last_error}"
    ) from last_error


def retry_on_conflict(
    catalog: Catalog,
    identifier: tuple[str, ...],
    change: Callable[[Table], T],
    *,
    timeout_seconds: float,
    table: Table | None = None,
) -> tuple[Table, T]:
    """Apply an idempotent metadata ``change``, reloading and re-applying it on conflicts."""
    backoff = Backoff(timeout_seconds)
    current = table or catalog.load_table(identifier)
    while True:
        try:
            return current, change(current)
        except (*RETRYABLE_ERRORS, *AMBIGUOUS_ERRORS) as error:
            if backoff.expired():
                raise CommitTimeoutError(
                    f"could not change {'.'.join(identifier)} within {timeout_seconds:g} s "
                    f"(commit_timeout_seconds): {type(error).__name__}: {error}"
                ) from error
        backoff.wait()
        current = catalog.load_table(identifier)


def delete_quietly(io: FileIO, files: Iterable[DataFile]) -> None:
    for data_file in files:
        try:
            io.delete(data_file.file_path)
        except OSError:
            log.warning("could not delete uncommitted data file %s", data_file.file_path)
