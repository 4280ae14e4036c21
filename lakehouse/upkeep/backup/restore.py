"""Restore a backed-up table under a new name and location.

Absolute paths sit inside the metadata JSON, the manifest list and the manifests (Avro). Rather
than patching bytes, the restore writes NEW metadata with pyiceberg's own writers: the backed-up
metadata keeps its schemas, specs, sort orders, properties and sequence numbers, but holds only
the backed-up snapshot, whose manifest list and manifests are rewritten with the data files'
new paths (entries, statistics and partition values copied as they are). The result is
registered with ``register_table``. Data files are copied byte for byte, so their sha256s still
match the backup manifest. Position delete files embed data file paths and are refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    read_manifest_list,
    write_manifest,
    write_manifest_list,
)
from pyiceberg.serializers import FromInputFile, ToOutputFile
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRef, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot

from lakehouse.upkeep.backup.store import BackedUpFile, TableBackup
from lakehouse.upkeep.storage import Storage, join, relative_to


class RestoreError(RuntimeError):
    """A backup cannot be restored; the message names the table and the cause."""


@dataclass(frozen=True)
class Restored:
    table: Table
    files_copied: int
    bytes_copied: int


def verify_files(storage: Storage, root: str, backup: TableBackup) -> list[str]:
    """Every backed-up file is present with the recorded size and sha256."""
    problems = []
    for entry in backup.files:
        uri = join(root, entry.path)
        info = storage.info(uri)
        if info is None:
            problems.append(f"{backup.identifier}: missing {entry.path}")
        elif info.size != entry.size:
            problems.append(
                f"{backup.identifier}: {entry.path} is {info.size} bytes, not {entry.size}"
            )
        elif storage.sha256(uri) != entry.sha256:
            problems.append(f"{backup.identifier}: {entry.path} does not match its sha256")
    return problems


def restore_location(original: str, target: tuple[str, ...]) -> str:
    """A fresh location beside the original's namespace directory, so it stays inside the
    warehouse (a REST catalog refuses locations outside it) and never reuses a dropped one."""
    warehouse = original.rstrip("/").rsplit("/", 2)[0]
    return join(warehouse, *target[:-1], f"{target[-1]}-{uuid.uuid4().hex[:8]}")


def _rewritten(data_file: DataFile, path: str) -> DataFile:
    copy = DataFile(*data_file._data)
    copy[1] = path  # file_path: position 1 of the data_file struct
    copy.spec_id = data_file.spec_id
    return copy


def _reading_copy(manifest: ManifestFile, path: str) -> ManifestFile:
    """The manifest's list entry pointing at its backed-up copy (position 0: manifest_path)."""
    copy = ManifestFile(*manifest._data)
    copy[0] = path
    return copy


def drop_and_purge(catalog: Catalog, storage: Storage, identifier: tuple[str, ...]) -> None:
    """Drop a restored table and delete its files (pyiceberg's drop leaves them)."""
    try:
        location = catalog.load_table(identifier).location()
    except NoSuchTableError:
        return
    catalog.drop_table(identifier)
    for entry in storage.list(location):
        storage.delete(entry.uri)


def restore_table(
    catalog: Catalog,
    storage: Storage,
    root: str,
    backup: TableBackup,
    target: tuple[str, ...],
    *,
    replace: bool = False,
) -> Restored:
    """Copy the backup's data files to a fresh location beside the original's namespace,
    write new metadata for them and register it as ``target``."""
    if backup.metadata_file is None:
        raise RestoreError(f"{backup.identifier}: the backup holds no metadata file")
    io = storage.io
    original = FromInputFile.table_metadata(io.new_input(join(root, backup.metadata_file)))
    if replace:
        drop_and_purge(catalog, storage, target)
    location = restore_location(backup.location, target)
    by_source = {f.source: f for f in backup.files}
    copied = copied_bytes = 0

    def place(source: str) -> str:
        nonlocal copied, copied_bytes
        entry = by_source[source]
        relative = relative_to(source, backup.location) or entry.path.rsplit("/", 1)[-1]
        destination = join(location, relative)
        size, sha256 = storage.copy(join(root, entry.path), destination)
        if sha256 != entry.sha256:  # the copy read other bytes than the backup recorded
            raise RestoreError(f"{backup.identifier}: {entry.path} changed while restoring")
        copied, copied_bytes = copied + 1, copied_bytes + size
        return destination

    snapshots: list[Snapshot] = []
    if backup.snapshot_id is not None:
        snapshot = original.snapshot_by_id(backup.snapshot_id)
        if snapshot is None:
            raise RestoreError(
                f"{backup.identifier}: snapshot {backup.snapshot_id} not in metadata"
            )
        snapshots = [_rewrite_snapshot(original, snapshot, io, root, by_source, location, place)]
    restored = _restored_metadata(original, snapshots, location)
    metadata_path = join(location, "metadata", f"00000-{uuid.uuid4()}.metadata.json")
    ToOutputFile.table_metadata(restored, io.new_output(metadata_path))
    catalog.create_namespace_if_not_exists(target[:-1])
    table = catalog.register_table(target, metadata_path)
    return Restored(table, copied, copied_bytes)


def _rewrite_snapshot(
    original: TableMetadata,
    snapshot: Snapshot,
    io: FileIO,
    root: str,
    by_source: dict[str, BackedUpFile],
    location: str,
    place: Callable[[str], str],
) -> Snapshot:
    """The snapshot with new manifests (one per original) pointing at the copied files."""
    specs, schema = original.specs(), original.schema()
    manifests = []
    backed_up_list = io.new_input(join(root, by_source[snapshot.manifest_list].path))
    for number, listed in enumerate(read_manifest_list(backed_up_list)):
        manifest = _reading_copy(listed, join(root, by_source[listed.manifest_path].path))
        entries = manifest.fetch_manifest_entry(io, discard_deleted=True)
        if manifest.content != ManifestContent.DATA or any(
            e.data_file.content != DataFileContent.DATA for e in entries
        ):
            raise RestoreError("delete files embed data file paths: restore them in place")
        if not entries:  # only deleted entries (e.g. after compaction): nothing to carry over
            continue
        output = io.new_output(
            join(location, "metadata", f"restored-{uuid.uuid4()}-m{number}.avro")
        )
        with write_manifest(
            format_version=original.format_version,
            spec=specs[manifest.partition_spec_id],
            schema=schema,
            output_file=output,
            snapshot_id=snapshot.snapshot_id,
            avro_compression="deflate",
        ) as writer:
            for entry in entries:
                writer.add_entry(
                    ManifestEntry.from_args(
                        status=ManifestEntryStatus.EXISTING,
                        snapshot_id=entry.snapshot_id,
                        sequence_number=entry.sequence_number,
                        file_sequence_number=entry.file_sequence_number,
                        data_file=_rewritten(entry.data_file, place(entry.data_file.file_path)),
                    )
                )
        manifests.append(writer.to_manifest_file())
    list_path = join(
        location, "metadata", f"snap-{snapshot.snapshot_id}-restored-{uuid.uuid4()}.avro"
    )
    with write_manifest_list(
        format_version=original.format_version,
        output_file=io.new_output(list_path),
        snapshot_id=snapshot.snapshot_id,
        parent_snapshot_id=None,
        sequence_number=snapshot.sequence_number,
        avro_compression="deflate",
    ) as list_writer:
        list_writer.add_manifests(manifests)
    return snapshot.model_copy(update={"manifest_list": list_path, "parent_snapshot_id": None})


def _restored_metadata(
    original: TableMetadata, snapshots: list[Snapshot], location: str
) -> TableMetadata:
    refs = {}
    current = None
    if snapshots:
        current = snapshots[0].snapshot_id
        refs = {
            MAIN_BRANCH: SnapshotRef(snapshot_id=current, snapshot_ref_type=SnapshotRefType.BRANCH)
        }
    return original.model_copy(
        update={
            "location": location,
            "table_uuid": uuid.uuid4(),
            "snapshots": snapshots,
            "current_snapshot_id": current,
            "refs": refs,
            "snapshot_log": [],
            "metadata_log": [],
            "statistics": [],
            "partition_statistics": [],
        }
    )
