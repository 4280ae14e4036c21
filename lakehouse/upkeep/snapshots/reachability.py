"""Which snapshots a table keeps and which files they reach: shared by expiry and orphan removal.

The model (``History``) is plain data so the rules are tested without Iceberg; ``load_history``
fills it from a pyiceberg table. A file is reachable from a snapshot when it is the snapshot's
manifest list, one of its manifests, or a live (added or existing) entry of one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pyiceberg.manifest import DataFile, ManifestFile
from pyiceberg.table import Table
from pyiceberg.table.refs import SnapshotRefType

from lakehouse.upkeep.manifests import read_entries


@dataclass(frozen=True)
class SnapshotNode:
    snapshot_id: int
    parent_id: int | None
    timestamp_ms: int
    manifest_list: str


@dataclass
class History:
    """A table's snapshots, refs, and the files each manifest list and manifest points to."""

    snapshots: dict[int, SnapshotNode] = field(default_factory=dict)
    branches: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    manifests: dict[str, frozenset[str]] = field(default_factory=dict)  # manifest list -> paths
    live_files: dict[str, frozenset[str]] = field(default_factory=dict)  # manifest -> files

    def ancestors(self, snapshot_id: int | None) -> Iterable[int]:
        """The snapshot then its parents, newest first, stopping where history was expired."""
        seen: set[int] = set()
        while snapshot_id is not None and snapshot_id in self.snapshots and snapshot_id not in seen:
            seen.add(snapshot_id)
            yield snapshot_id
            snapshot_id = self.snapshots[snapshot_id].parent_id


def retained_snapshots(
    history: History, *, now_ms: int, max_age_ms: int, min_keep: int
) -> set[int]:
    """Snapshots expiry must keep: tagged ones, branch heads, each branch's last ``min_keep``
    ancestors, and every snapshot younger than ``max_age_ms``."""
    keep = set(history.tags.values()) | set(history.branches.values())
    for head in history.branches.values():
        for position, snapshot_id in enumerate(history.ancestors(head)):
            if position >= min_keep:
                break
            keep.add(snapshot_id)
    cutoff = now_ms - max_age_ms
    keep |= {s.snapshot_id for s in history.snapshots.values() if s.timestamp_ms >= cutoff}
    return keep & set(history.snapshots)


def reachable_files(history: History, snapshot_ids: Iterable[int] | None = None) -> set[str]:
    """Manifest lists, manifests and live files reached from ``snapshot_ids`` (default: all)."""
    ids = history.snapshots if snapshot_ids is None else snapshot_ids
    files: set[str] = set()
    for snapshot_id in ids:
        manifest_list = history.snapshots[snapshot_id].manifest_list
        files.add(manifest_list)
        for manifest in history.manifests.get(manifest_list, frozenset()):
            files.add(manifest)
            files |= history.live_files.get(manifest, frozenset())
    return files


def unreachable_files(before: History, after: History) -> set[str]:
    """Files ``before`` reached that no snapshot of ``after`` reaches: safe to delete, because
    ``after`` is read from the catalog after the expiry committed and holds every survivor."""
    return reachable_files(before) - reachable_files(after)


def load_history(
    table: Table,
    cache: dict[str, object] | None = None,
    data_files: dict[str, DataFile] | None = None,
) -> History:
    """Read a table's snapshot graph and the files it reaches; manifests are immutable, so a
    ``cache`` shared between calls reads each one once. ``data_files`` collects the live
    entries' DataFile records (their statistics) for callers that need more than paths."""
    cache = {} if cache is None else cache
    metadata = table.metadata
    history = History()
    for name, ref in metadata.refs.items():
        target = history.tags if ref.snapshot_ref_type == SnapshotRefType.TAG else history.branches
        target[name] = ref.snapshot_id
    for snapshot in metadata.snapshots:
        history.snapshots[snapshot.snapshot_id] = SnapshotNode(
            snapshot.snapshot_id,
            snapshot.parent_snapshot_id,
            snapshot.timestamp_ms,
            snapshot.manifest_list,
        )
        manifest_list = snapshot.manifest_list
        key = f"list:{manifest_list}"
        if key not in cache:
            cache[key] = tuple(snapshot.manifests(table.io))
        manifests: tuple[ManifestFile, ...] = cache[key]  # type: ignore[assignment]
        history.manifests[manifest_list] = frozenset(m.manifest_path for m in manifests)
        for manifest in manifests:
            path = manifest.manifest_path
            if path not in history.live_files:
                if path not in cache or data_files is not None:
                    entries = read_entries(manifest, table.io)
                    cache[path] = frozenset(e.data_file.file_path for e in entries)
                    if data_files is not None:
                        data_files.update((e.data_file.file_path, e.data_file) for e in entries)
                history.live_files[path] = cache[path]  # type: ignore[assignment]
    return history


def metadata_files(table: Table) -> set[str]:
    """Files the table metadata itself points to besides snapshots: the current and previous
    metadata files and statistics files."""
    metadata = table.metadata
    files = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    files |= {stats.statistics_path for stats in metadata.statistics}
    files |= {stats.statistics_path for stats in metadata.partition_statistics}
    return files
