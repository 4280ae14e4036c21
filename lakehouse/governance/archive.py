"""Archive before delete (seed §4.2): what retention is about to delete goes to compressed
Parquet under ``<archive root>/<namespace>/<table>/<archive id>/`` with a manifest, is read
back and verified, and only then is reported safe to delete.

The manifest holds the table, the range, the snapshot read, the row count, the file's sha256,
an order-free digest of the rows (so a restored table can be compared whatever its file
layout), and the Iceberg schema (so a restore gets the same types, ids aside).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import And, BooleanExpression, GreaterThanOrEqual, LessThan
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.types import DateType, TimestamptzType

from lakehouse.governance.files import Location

DATA_FILE = "data.parquet"
MANIFEST = "manifest.json"
COMPRESSION = "zstd"
LATEST_PROPERTY = "lakehouse.archive.latest"
SCRATCH_NAMESPACE = "scratch"


class ArchiveError(RuntimeError):
    """An archive could not be written or does not verify: nothing may be deleted."""


@dataclass(frozen=True)
class ArchiveRange:
    """Rows with ``start <= column < end`` (``start`` None: everything before ``end``)."""

    column: str
    end: dt.datetime
    start: dt.datetime | None = None

    def label(self) -> str:
        start = self.start.isoformat() if self.start else "-inf"
        return f"{self.column} in [{start}, {self.end.isoformat()})"

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> ArchiveRange:
        start = data.get("start")
        return cls(
            data["column"] or "",
            dt.datetime.fromisoformat(data["end"] or ""),
            dt.datetime.fromisoformat(start) if start else None,
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "column": self.column,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat(),
        }


def _literal(table: Table, column: str, instant: dt.datetime) -> str:
    """``instant`` spelled in the column's own type (UTC; a date column takes the UTC date)."""
    field_type = table.schema().find_field(column).field_type
    utc = instant.astimezone(dt.UTC)
    if isinstance(field_type, DateType):
        return utc.date().isoformat()
    if isinstance(field_type, TimestamptzType):
        return utc.isoformat()
    return utc.replace(tzinfo=None).isoformat()


def range_filter(table: Table, rows: ArchiveRange) -> BooleanExpression:
    """The rows of ``rows`` as an Iceberg filter; retention deletes by the same filter."""
    upper: BooleanExpression = LessThan(rows.column, _literal(table, rows.column, rows.end))
    if rows.start is None:
        return upper
    return And(GreaterThanOrEqual(rows.column, _literal(table, rows.column, rows.start)), upper)


def content_digest(rows: pa.Table) -> str:
    """sha256 of the rows as a multiset: the sum of each row's hash (mod 2^256), so two
    tables with the same rows in any order and any file layout agree."""
    total = 0
    for batch in rows.to_batches():
        for row in batch.to_pylist():
            encoded = json.dumps(row, sort_keys=True, default=repr).encode()
            total = (total + int.from_bytes(hashlib.sha256(encoded).digest(), "big")) % 2**256
    return f"{total:064x}"


@dataclass(frozen=True)
class ArchiveManifest:
    archive_id: str
    table: str
    range: dict[str, str | None]
    row_filter: str
    snapshot_id: int | None
    rows: int
    file: str
    bytes: int
    sha256: str
    content_sha256: str
    compression: str
    schema: dict[str, Any]
    created_at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ArchiveManifest:
        return cls(**json.loads(text))

    @property
    def directory(self) -> str:
        namespace, _, name = self.table.rpartition(".")
        return f"{namespace}/{name}/{self.archive_id}"

    def iceberg_schema(self) -> Schema:
        return Schema.model_validate(self.schema)


@dataclass(frozen=True)
class ArchiveReceipt:
    """What retention gets back: the verified manifest and its URI, or nothing to archive."""

    rows: int
    manifest: ArchiveManifest | None
    manifest_uri: str | None

    @property
    def safe_to_delete(self) -> bool:
        """True once every row in range is in a verified archive (or there were none)."""
        return self.rows == 0 or self.manifest is not None


def _verify(location: Location, manifest: ArchiveManifest, original: pa.Table) -> None:
    """Read the archive back: bytes, rows, schema and content must match what was read."""
    size, digest = location.sha256(f"{manifest.directory}/{DATA_FILE}")
    back = location.read_parquet(f"{manifest.directory}/{DATA_FILE}")
    problems = []
    if (size, digest) != (manifest.bytes, manifest.sha256):
        problems.append("the stored bytes changed")
    if back.num_rows != original.num_rows:
        problems.append(f"{back.num_rows} rows read back, {original.num_rows} archived")
    if not back.schema.equals(original.schema):
        problems.append("the schema read back differs")
    if content_digest(back) != manifest.content_sha256:
        problems.append("the rows read back differ")
    stored = location.read_bytes(f"{manifest.directory}/{MANIFEST}").decode()
    if ArchiveManifest.from_json(stored) != manifest:
        problems.append("the manifest read back differs")
    if problems:
        raise ArchiveError(
            f"archive {location.uri(manifest.directory)} of {manifest.table} does not verify: "
            f"{'; '.join(problems)}; nothing may be deleted"
        )


def archive_rows(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rows: ArchiveRange,
    *,
    root: str,
    now: dt.datetime | None = None,
) -> ArchiveReceipt:
    """Archive the rows of ``identifier`` in ``rows`` (at its current snapshot) under ``root``."""
    table = catalog.load_table(identifier)
    snapshot = table.current_snapshot()
    expression = range_filter(table, rows)
    data = (
        table.scan(row_filter=expression, snapshot_id=snapshot.snapshot_id).to_arrow()
        if snapshot
        else None
    )
    if data is None or data.num_rows == 0:
        return ArchiveReceipt(0, None, None)
    created = now or dt.datetime.now(dt.UTC)
    archive_id = f"{created.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    location = Location(root, catalog.properties)
    name = ".".join(identifier)
    directory = f"{'.'.join(identifier[:-1])}/{identifier[-1]}/{archive_id}"
    try:
        location.write_parquet(f"{directory}/{DATA_FILE}", data, compression=COMPRESSION)
        size, digest = location.sha256(f"{directory}/{DATA_FILE}")
        manifest = ArchiveManifest(
            archive_id=archive_id,
            table=name,
            range=rows.as_dict(),
            row_filter=str(expression),
            snapshot_id=snapshot.snapshot_id if snapshot else None,
            rows=data.num_rows,
            file=DATA_FILE,
            bytes=size,
            sha256=digest,
            content_sha256=content_digest(data),
            compression=COMPRESSION,
            schema=json.loads(table.schema().model_dump_json()),
            created_at=created.isoformat(),
        )
        location.write_bytes(f"{directory}/{MANIFEST}", manifest.to_json().encode())
    except OSError as error:
        raise ArchiveError(
            f"cannot archive {name} ({rows.label()}) to {location.uri(directory)}: {error}; "
            "nothing may be deleted"
        ) from None
    _verify(location, manifest, data)
    return ArchiveReceipt(data.num_rows, manifest, location.uri(f"{directory}/{MANIFEST}"))


def covers(table: Table, receipt: ArchiveReceipt) -> bool:
    """Whether the rows of ``table`` (as loaded) in the archived range are the ones archived:
    check it on the table a delete by the same range is based on, so no late row is lost."""
    if receipt.manifest is None:
        return True
    expression = range_filter(table, ArchiveRange.from_dict(receipt.manifest.range))
    return table.scan(row_filter=expression).count() == receipt.manifest.rows


def still_covers(catalog: Catalog, identifier: tuple[str, ...], receipt: ArchiveReceipt) -> bool:
    """``covers`` on the table as it is now."""
    return covers(catalog.load_table(identifier), receipt)


def record_on_table(catalog: Catalog, identifier: tuple[str, ...], manifest_uri: str) -> None:
    """Point the table's catalog entry at its latest archive (DataHub and co. show properties)."""
    table = catalog.load_table(identifier)
    with table.transaction() as txn:
        txn.set_properties({LATEST_PROPERTY: manifest_uri})


def list_archives(
    root: str, properties: dict[str, str] | None = None, *, table: str | None = None
) -> list[ArchiveManifest]:
    """Every archive under ``root`` (of ``table`` only, when given), oldest first."""
    location = Location(root, properties)
    prefix = "/".join(table.rsplit(".", 1)) if table else ""
    manifests = [
        ArchiveManifest.from_json(location.read_bytes(path).decode())
        for path in location.list(prefix)
        if path.endswith(f"/{MANIFEST}")
    ]
    return sorted(manifests, key=lambda m: (m.created_at, m.archive_id))


def restore_archive(
    catalog: Catalog,
    root: str,
    manifest: ArchiveManifest,
    *,
    namespace: str = SCRATCH_NAMESPACE,
) -> tuple[str, ...]:
    """Bring an archive back as a new Iceberg table in ``namespace`` (never over a live one);
    the rows are checked against the manifest's digest before the table is created."""
    location = Location(root, catalog.properties)
    data = location.read_parquet(f"{manifest.directory}/{DATA_FILE}")
    if data.num_rows != manifest.rows or content_digest(data) != manifest.content_sha256:
        raise ArchiveError(f"archive {manifest.archive_id} of {manifest.table} is damaged")
    name = f"{manifest.table.replace('.', '__')}__{manifest.archive_id.replace('-', '_')}"
    identifier = (namespace, name.lower())
    catalog.create_namespace_if_not_exists(namespace)
    table = catalog.create_table(identifier, schema=manifest.iceberg_schema())
    table.append(data)
    return identifier
