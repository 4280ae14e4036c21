"""Compaction: bin-pack a partition's small data files into files near the target size.

``plan_compaction`` is pure. ``compact_table`` is the embedded executor: it reads each group
(in the table's current schema), writes one file per group and swaps old for new in ONE
overwrite snapshot (``rewrite.RewriteFiles``). That snapshot validates, like Iceberg's
RewriteFiles, that every replaced file is still live and gained no delete file; a concurrent
append is kept (the commit is rebuilt on the new head), a concurrent delete of an input fails
the compaction, and the files it wrote are deleted.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyiceberg.catalog import Catalog
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Operation

from lakehouse.iceberg.commits import (
    COMMIT_ID_PROPERTY,
    CachedTransaction,
    find_commit,
    new_commit_id,
    retry_on_conflict,
)
from lakehouse.upkeep.compaction.file_reads import Prefetch
from lakehouse.upkeep.compaction.group_writer import write_group
from lakehouse.upkeep.compaction.rewrite import EntryCache, RewriteFiles, live_entries
from lakehouse.upkeep.rules import TableRules

log = logging.getLogger(__name__)
UPKEEP_PROPERTY = "lakehouse.upkeep"  # snapshot summary: which upkeep job wrote it
LAST_COMPACTION_PROPERTY = "lakehouse.last-compaction"  # stamped by engine compactions
COMPACTION = "compaction"


@dataclass(frozen=True)
class FileInfo:
    path: str
    partition: tuple[object, ...]
    size: int
    records: int
    spec_id: int = 0


@dataclass(frozen=True)
class CompactionGroup:
    """Files of one partition to rewrite as one file."""

    partition: tuple[object, ...]
    spec_id: int
    files: tuple[FileInfo, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def plan_compaction(
    files: Iterable[FileInfo], *, target_bytes: int, small_bytes: int, min_small_files: int
) -> list[CompactionGroup]:
    """Per partition holding >= ``min_small_files`` small files, first-fit-decreasing bins of
    at most ``target_bytes``; a bin of one file would rewrite nothing, so it is dropped."""
    small: dict[tuple[int, tuple[object, ...]], list[FileInfo]] = defaultdict(list)
    for info in files:
        if info.size < small_bytes:
            small[(info.spec_id, info.partition)].append(info)
    groups: list[CompactionGroup] = []
    for (spec_id, partition), candidates in sorted(small.items(), key=lambda item: repr(item[0])):
        if len(candidates) < min_small_files:
            continue
        bins: list[list[FileInfo]] = []
        for info in sorted(candidates, key=lambda f: (-f.size, f.path)):
            for open_bin in bins:
                if sum(f.size for f in open_bin) + info.size <= target_bytes:
                    open_bin.append(info)
                    break
            else:
                bins.append([info])
        groups += [CompactionGroup(partition, spec_id, tuple(b)) for b in bins if len(b) > 1]
    return groups


class ConcurrentRewriteError(RuntimeError):
    """Files chosen for compaction changed under it; nothing was committed."""


def _partition_tuple(data_file: DataFile) -> tuple[object, ...]:
    partition = data_file.partition
    return tuple(partition[i] for i in range(len(partition)))


def file_infos(
    table: Table, cache: EntryCache | None = None, prefetch: Prefetch | None = None
) -> tuple[list[FileInfo], dict[str, FileScanTask]]:
    """The current snapshot's data files that can be compacted: current spec, no deletes."""
    spec_id = table.metadata.default_spec_id
    on_read = prefetch.offer if prefetch is not None else None
    entries = live_entries(table, {} if cache is None else cache, on_read)
    if entries is None:  # delete files present: pyiceberg's planner pairs them with data
        scan = table.scan().plan_files()
        tasks = {t.file.file_path: t for t in scan if not t.delete_files}
    else:
        tasks = {e.data_file.file_path: FileScanTask(e.data_file) for e in entries}
    infos = [
        FileInfo(
            path,
            _partition_tuple(task.file),
            task.file.file_size_in_bytes,
            task.file.record_count,
            spec_id,
        )
        for path, task in tasks.items()
        if task.file.spec_id == spec_id
    ]
    return infos, tasks


@dataclass
class CompactionResult:
    table: str
    groups: int = 0
    files_removed: int = 0
    files_added: int = 0
    bytes_rewritten: int = 0
    snapshot_id: int | None = None
    planned: list[CompactionGroup] = field(default_factory=list)


def rewrite_groups(
    catalog: Catalog,
    identifier: tuple[str, ...],
    table: Table,
    groups: list[CompactionGroup],
    tasks: dict[str, FileScanTask],
    *,
    timeout_seconds: float,
    cache: EntryCache | None = None,
    prefetch: Prefetch | None = None,
) -> tuple[list[DataFile], list[DataFile], int | None]:
    """Rewrite every group, then commit all replacements in one snapshot."""
    write_uuid, old, new = uuid.uuid4(), [], []
    for task_id, group in enumerate(groups):
        group_tasks = [tasks[f.path] for f in group.files]
        new.append(write_group(table, group_tasks, prefetch, write_uuid, task_id))
        old += [task.file for task in group_tasks]
    commit_id, cache = new_commit_id(), {} if cache is None else cache
    properties = {
        UPKEEP_PROPERTY: COMPACTION,
        COMMIT_ID_PROPERTY: commit_id,
        "lakehouse.compaction.files-removed": str(len(old)),
    }

    def change(current: Table) -> int:
        if (landed := find_commit(current, commit_id)) is not None:  # an ambiguous retry
            return landed.snapshot_id
        if current is not table:
            live = {task.file.file_path for task in current.scan().plan_files()}
            if missing := [f.file_path for f in old if f.file_path not in live]:
                raise ConcurrentRewriteError(
                    f"{'.'.join(identifier)}: {len(missing)} file(s) to compact were removed "
                    f"concurrently (e.g. {missing[0]}); compaction skipped, nothing lost"
                )
        txn = CachedTransaction(current)
        rewrite = RewriteFiles(
            operation=Operation.OVERWRITE,
            transaction=txn,
            io=current.io,
            snapshot_properties=properties,
        )
        rewrite.entry_cache = cache
        with rewrite:
            for data_file in old:
                rewrite.delete_data_file(data_file)
            for data_file in new:
                rewrite.append_data_file(data_file)
        txn.commit_transaction()
        return rewrite.snapshot_id

    try:
        _, snapshot_id = retry_on_conflict(
            catalog, identifier, change, timeout_seconds=timeout_seconds, table=table
        )
    except Exception:
        try:
            landed = find_commit(catalog.load_table(identifier), commit_id) is not None
        except Exception:  # catalog unreachable: keep the files, orphan removal takes them
            landed = True
        if not landed:
            for data_file in new:  # never committed: leave no orphan behind
                table.io.delete(data_file.file_path)
        raise
    return old, new, snapshot_id


def compact_table(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    *,
    timeout_seconds: float = 120.0,
    dry_run: bool = False,
) -> CompactionResult:
    """Compact one table with pyiceberg (the embedded engine)."""
    table = catalog.load_table(identifier)
    result = CompactionResult(".".join(identifier))
    if table.current_snapshot() is None:
        return result
    cache: EntryCache = {}
    prefetch = (
        None if dry_run else Prefetch(table, rules.small_file_bytes, rules.target_file_size_bytes)
    )
    try:
        infos, tasks = file_infos(table, cache, prefetch)
        groups = plan_compaction(
            infos,
            target_bytes=rules.target_file_size_bytes,
            small_bytes=rules.small_file_bytes,
            min_small_files=rules.min_small_files,
        )
        result.planned, result.groups = groups, len(groups)
        result.bytes_rewritten = sum(g.size for g in groups)
        if dry_run or not groups:
            return result
        old, new, result.snapshot_id = rewrite_groups(
            catalog,
            identifier,
            table,
            groups,
            tasks,
            timeout_seconds=timeout_seconds,
            cache=cache,
            prefetch=prefetch,
        )
    finally:
        if prefetch is not None:
            prefetch.close()
    result.files_removed, result.files_added = len(old), len(new)
    log.info("compacted %s: %d files -> %d", result.table, len(old), len(new))
    return result
