"""The backup location's layout and its manifests.

    <root>/tables/<namespace>/<table>/<path under the table location>   immutable copies
    <root>/catalog/<backup id>/...                                      catalog dumps
    <root>/manifests/<backup id>.json                                   one per backup, last

Iceberg never rewrites a file in place, so a file copied once serves every later backup
(incremental). A backup exists only once its manifest is written; copies no manifest names
are leftovers of a failed run and are pruned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.upkeep.storage import Storage, canonical, join, relative_to

FORMAT = 1
TAG_PREFIX = "backup-"


def new_backup_id(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def backup_time(backup_id: str) -> dt.datetime:
    return dt.datetime.strptime(backup_id, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)


@dataclass
class BackedUpFile:
    path: str  # relative to the backup root
    source: str  # where the table had it
    size: int
    sha256: str
    kind: str  # metadata, manifest-list, manifest, data, delete
    rows: int | None = None
    row_checksum: str | None = None  # as text: JSON readers elsewhere lose 64-bit integers
    schema_id: int | None = None


@dataclass
class TableBackup:
    identifier: str
    table_uuid: str
    location: str
    snapshot_id: int | None
    tag: str | None
    metadata_file: str | None  # relative path of the copied metadata JSON
    schema: dict[str, Any]
    row_count: int
    row_checksum: str
    files: list[BackedUpFile] = field(default_factory=list)

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.identifier.split("."))


@dataclass
class CatalogBackup:
    kind: str  # sqlite, postgresql, rest (not ours to dump)
    path: str | None = None
    size: int = 0
    sha256: str | None = None


@dataclass
class Backup:
    backup_id: str
    created_at: str
    completed_at: str | None = None
    tables: list[TableBackup] = field(default_factory=list)
    catalog: CatalogBackup | None = None
    failed: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def created(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.created_at)

    def table(self, identifier: str) -> TableBackup:
        for table in self.tables:
            if table.identifier == identifier:
                return table
        raise KeyError(f"backup {self.backup_id} holds no table {identifier}")

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Backup:
        data = json.loads(raw)
        tables = [
            TableBackup(**{**t, "files": [BackedUpFile(**f) for f in t["files"]]})
            for t in data.pop("tables")
        ]
        catalog = data.pop("catalog")
        return cls(**data, tables=tables, catalog=CatalogBackup(**catalog) if catalog else None)


def table_prefix(identifier: tuple[str, ...]) -> str:
    return "/".join(["tables", *identifier])


def file_key(identifier: tuple[str, ...], location: str, source: str) -> str:
    """Where a table's file lives in the backup: its path under the table location, or a
    hashed name for a file registered from elsewhere."""
    relative = relative_to(source, location)
    if relative is None:
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        relative = f"_external/{digest}/{source.rsplit('/', 1)[-1]}"
    return f"{table_prefix(identifier)}/{relative}"


def manifest_uri(root: str, backup_id: str) -> str:
    return join(root, "manifests", f"{backup_id}.json")


def list_backups(storage: Storage, root: str) -> list[str]:
    """Completed backups, oldest first."""
    names = [e.uri.rsplit("/", 1)[-1] for e in storage.list(join(root, "manifests"))]
    return sorted(n.removesuffix(".json") for n in names if n.endswith(".json"))


def load_backup(storage: Storage, root: str, backup_id: str | None = None) -> Backup:
    """A backup's manifest; the latest one when ``backup_id`` is None."""
    if backup_id is None or backup_id == "latest":
        backups = list_backups(storage, root)
        if not backups:
            raise FileNotFoundError(f"no backup under {root}")
        backup_id = backups[-1]
    return Backup.from_json(storage.read_bytes(manifest_uri(root, backup_id)))


def write_backup(storage: Storage, root: str, backup: Backup) -> str:
    uri = manifest_uri(root, backup.backup_id)
    storage.write_bytes(uri, backup.to_json())
    return uri


def prune(
    storage: Storage, root: str, *, now: dt.datetime, retention: dt.timedelta
) -> tuple[list[str], int]:
    """Drop manifests past ``retention`` (the latest always stays), then copies no remaining
    manifest names and older than a day (a running backup may be copying them)."""
    backups = list_backups(storage, root)
    dropped = [b for b in backups[:-1] if backup_time(b) < now - retention]
    for backup_id in dropped:
        storage.delete(manifest_uri(root, backup_id))
    kept: set[str] = set()
    for backup_id in backups:
        if backup_id in dropped:
            continue
        backup = load_backup(storage, root, backup_id)
        kept |= {canonical(join(root, f.path)) for t in backup.tables for f in t.files}
        if backup.catalog and backup.catalog.path:
            kept.add(canonical(join(root, backup.catalog.path)))
    deleted = 0
    for prefix in ("tables", "catalog"):
        for entry in storage.list(join(root, prefix)):
            stale = entry.modified < now - dt.timedelta(days=1)
            if stale and canonical(entry.uri) not in kept and storage.delete(entry.uri):
                deleted += 1
    return dropped, deleted
