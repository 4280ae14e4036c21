"""The rewrite commit and reads behind compaction, kept to one pass over the manifests.

pyiceberg's overwrite reads every manifest twice more at commit time (to find the entries to
delete and to rewrite the rest); after 200 appends that was most of a compaction. Here the
manifests are read once and the planner and the commit share those entries (a retry on a newer
head reads only the manifests it has not seen).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pyiceberg.manifest import (
    DataFileContent,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
)
from pyiceberg.table import Table
from pyiceberg.table.update.snapshot import _OverwriteFiles

from lakehouse.upkeep.manifests import read_entries

EntryCache = dict[str, list[ManifestEntry]]


def live_entries(
    table: Table, cache: EntryCache, on_read: Callable[[ManifestEntry], None] | None = None
) -> list[ManifestEntry] | None:
    """The current snapshot's live data entries, reading manifests into ``cache`` and telling
    ``on_read`` of each entry as soon as it is known; None when the snapshot has delete files
    (the caller plans the slow way)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    manifests = snapshot.manifests(table.io)
    if any(m.content != ManifestContent.DATA for m in manifests):
        return None
    for manifest in manifests:  # sequentially: Avro decoding holds the GIL, threads only slow it
        if manifest.manifest_path not in cache:
            entries = read_entries(manifest, table.io)
            cache[manifest.manifest_path] = entries
            if on_read is not None:
                for entry in entries:
                    on_read(entry)
    return [e for m in manifests for e in cache[m.manifest_path]]


class RewriteFiles(_OverwriteFiles):
    """An overwrite that replaces known files, validated like Iceberg's RewriteFiles.

    Replaced files must still be live and gain no delete file; files other writers added
    meanwhile are no conflict (the base class, under the default serializable isolation,
    refuses any concurrent append). Manifest entries come from ``entry_cache``.
    """

    entry_cache: EntryCache

    def _entries(self, manifest: ManifestFile) -> list[ManifestEntry]:
        path = manifest.manifest_path
        if path not in self.entry_cache:
            self.entry_cache[path] = read_entries(manifest, self._io)
        return self.entry_cache[path]

    def _parent_manifests(self) -> Iterable[ManifestFile]:
        if self._parent_snapshot_id is None:
            return []
        parent = self._transaction.table_metadata.snapshot_by_id(self._parent_snapshot_id)
        return parent.manifests(self._io) if parent is not None else []

    def _replaced(self) -> set[str]:
        return {f.file_path for f in self._deleted_data_files}

    def _deleted_entries(self) -> list[ManifestEntry]:
        replaced = self._replaced()
        deleted = [
            ManifestEntry.from_args(
                status=ManifestEntryStatus.DELETED,
                snapshot_id=self._snapshot_id,
                sequence_number=entry.sequence_number,
                file_sequence_number=entry.file_sequence_number,
                data_file=entry.data_file,
            )
            for manifest in self._parent_manifests()
            if manifest.content == ManifestContent.DATA
            for entry in self._entries(manifest)
            if entry.data_file.content == DataFileContent.DATA
            and entry.data_file.file_path in replaced
        ]
        self._validate_required_deletes(deleted)
        return deleted

    def _existing_manifests(self) -> list[ManifestFile]:
        replaced, kept_manifests = self._replaced(), []
        for manifest in self._parent_manifests():
            if manifest.content != ManifestContent.DATA:
                kept_manifests.append(manifest)
                continue
            entries = self._entries(manifest)
            kept = [e for e in entries if e.data_file.file_path not in replaced]
            if len(kept) == len(entries):
                kept_manifests.append(manifest)
            elif kept:
                with self.new_manifest_writer(self.spec(manifest.partition_spec_id)) as writer:
                    for entry in kept:
                        writer.existing(entry)
                kept_manifests.append(writer.to_manifest_file())
        return kept_manifests

    def _validate_concurrency(self) -> None:
        from pyiceberg.table.update.validate import (
            _validate_data_files_exist,
            _validate_no_new_deletes_for_data_files,
        )

        window = self._commit_window
        if window is None or window.is_empty() or window.head is None:
            return
        table = self._transaction._table
        _validate_data_files_exist(table, window.head, self._deleted_data_files, window.base)
        _validate_no_new_deletes_for_data_files(
            table, window.head, None, self._deleted_data_files, window.base
        )
