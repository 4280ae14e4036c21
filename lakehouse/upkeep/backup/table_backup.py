"""Table backups: copy the current snapshot's metadata and every file it reaches, record
sizes, sha256s, the schema, row counts and an order-independent row checksum, then tag it.

The tag keeps the snapshot alive through expiry until a later backup supersedes it (the tags
of the last ``TAGS_KEPT`` backups stay), and dates the table's last successful backup. Files already in the backup store are not copied
again; their checksums come from the previous manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFileContent
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.refs import SnapshotRefType

from lakehouse.iceberg.commits import retry_on_conflict
from lakehouse.settings import Settings
from lakehouse.upkeep.backup.catalog_backup import backup_catalog
from lakehouse.upkeep.backup.checksums import combine, row_checksum
from lakehouse.upkeep.backup.store import (
    TAG_PREFIX,
    BackedUpFile,
    Backup,
    TableBackup,
    file_key,
    list_backups,
    load_backup,
    new_backup_id,
    write_backup,
)
from lakehouse.upkeep.storage import Storage, join

log = logging.getLogger(__name__)
TAGS_KEPT = 2


def previous_files(storage: Storage, root: str) -> dict[str, BackedUpFile]:
    """Files the latest completed backup holds, by backup path (reused without copying)."""
    backups = list_backups(storage, root)
    if not backups:
        return {}
    latest = load_backup(storage, root, backups[-1])
    return {f.path: f for table in latest.tables for f in table.files}


def _tag(
    catalog: Catalog, identifier: tuple[str, ...], snapshot_id: int, tag: str, timeout: float
) -> Table:
    """Tag the backed-up snapshot and drop backup tags older than the last ``TAGS_KEPT``.

    The snapshot cannot have been expired while it was copied: it was the branch head a moment
    ago, so it is within the retention window.
    """

    def change(table: Table) -> None:
        old = sorted(
            name
            for name, ref in table.metadata.refs.items()
            if ref.snapshot_ref_type == SnapshotRefType.TAG and name.startswith(TAG_PREFIX)
        )
        with table.manage_snapshots() as manage:
            manage.create_tag(snapshot_id, tag)
            for name in old[: max(0, len(old) - (TAGS_KEPT - 1))]:
                manage.remove_tag(name)

    table, _ = retry_on_conflict(catalog, identifier, change, timeout_seconds=timeout)
    return table  # pyiceberg refreshed it with the committed metadata


def _file_rows(table: Table, task: FileScanTask) -> tuple[int, int]:
    reader = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue())
    return row_checksum(reader.to_table([task]))


def backup_table(
    catalog: Catalog,
    identifier: tuple[str, ...],
    storage: Storage,
    root: str,
    backup_id: str,
    known: dict[str, BackedUpFile],
    *,
    timeout_seconds: float = 120.0,
) -> TableBackup:
    """Back up one table's current snapshot into ``root``."""
    table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    location, schema = table.location(), table.schema()
    files: list[BackedUpFile] = []

    def copy(source: str, kind: str, task: FileScanTask | None = None) -> BackedUpFile:
        key = file_key(identifier, location, source)
        previous = known.get(key)
        if previous is not None and previous.source == source and storage.exists(join(root, key)):
            entry = BackedUpFile(**{**previous.__dict__, "kind": kind})
        else:
            size, sha256 = storage.copy(source, join(root, key))
            entry = BackedUpFile(key, source, size, sha256, kind)
        if task is not None and entry.schema_id != schema.schema_id:
            rows, checksum = _file_rows(table, task)
            entry.rows, entry.row_checksum, entry.schema_id = rows, str(checksum), schema.schema_id
        files.append(entry)
        return entry

    rows, checksum = 0, 0
    if snapshot is not None:
        copy(snapshot.manifest_list, "manifest-list")
        for manifest in snapshot.manifests(table.io):
            copy(manifest.manifest_path, "manifest")
        tasks = list(table.scan(snapshot_id=snapshot.snapshot_id).plan_files())
        has_deletes = any(task.delete_files for task in tasks)
        for task in tasks:
            copy(task.file.file_path, "data", None if has_deletes else task)
            for delete_file in task.delete_files:
                if not any(f.source == delete_file.file_path for f in files):
                    kind = "delete" if delete_file.content != DataFileContent.DATA else "data"
                    copy(delete_file.file_path, kind)
        data = [f for f in files if f.kind == "data"]
        if has_deletes:  # per-file sums would count deleted rows: scan the snapshot instead
            scan = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow_batch_reader()
            rows, checksum = row_checksum(scan)
        else:
            rows = sum(f.rows or 0 for f in data)
            checksum = combine(int(f.row_checksum or 0) for f in data)
    metadata = copy(table.metadata_location, "metadata")
    tag = None
    if snapshot is not None:  # tagged once copied: a backup tag means a complete copy
        tag = f"{TAG_PREFIX}{backup_id}"
        _tag(catalog, identifier, snapshot.snapshot_id, tag, timeout_seconds)
    return TableBackup(
        identifier=".".join(identifier),
        table_uuid=str(table.metadata.table_uuid),
        location=location,
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        tag=tag,
        metadata_file=metadata.path,
        schema=json.loads(schema.model_dump_json()),
        row_count=rows,
        row_checksum=str(checksum),
        files=files,
    )


def all_tables(catalog: Catalog, exclude_namespaces: set[str]) -> list[tuple[str, ...]]:
    identifiers = []
    for namespace in sorted(catalog.list_namespaces()):
        if ".".join(namespace) in exclude_namespaces:
            continue
        identifiers += sorted(tuple(i) for i in catalog.list_tables(namespace))
    return identifiers


def run_backup(
    catalog: Catalog,
    settings: Settings,
    storage: Storage,
    root: str,
    *,
    now: dt.datetime | None = None,
    tables: list[tuple[str, ...]] | None = None,
) -> Backup:
    """Back up every table and the catalog; the manifest is written last, also when some
    table failed (those are listed under ``failed``; the caller fails the run)."""
    now = now or dt.datetime.now(dt.UTC)
    backup = Backup(backup_id=new_backup_id(now), created_at=now.isoformat())
    known = previous_files(storage, root)
    identifiers = tables or all_tables(catalog, {settings.upkeep_restore_namespace})
    for identifier in identifiers:
        try:
            backup.tables.append(
                backup_table(
                    catalog,
                    identifier,
                    storage,
                    root,
                    backup.backup_id,
                    known,
                    timeout_seconds=settings.commit_timeout_seconds,
                )
            )
        except Exception as error:  # one table's failure must not stop the others' backups
            log.exception("backup of %s failed", ".".join(identifier))
            backup.failed[".".join(identifier)] = f"{type(error).__name__}: {error}"
    try:
        backup.catalog = backup_catalog(settings, storage, root, backup.backup_id)
    except Exception as error:
        backup.failed["catalog"] = f"{type(error).__name__}: {error}"
    backup.completed_at = dt.datetime.now(dt.UTC).isoformat()
    write_backup(storage, root, backup)
    return backup
