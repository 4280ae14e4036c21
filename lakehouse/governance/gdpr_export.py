"""GDPR portability (seed §5.2): a data subject's rows from every PII table, in JSON Lines.

One file per table (``<namespace>.<table>.jsonl``, a JSON object a line, values in their JSON
spelling: times in ISO 8601, decimals as strings, bytes in base64) and a ``manifest.json``
listing each file's rows and sha256. The manifest and the audit trail name the subject by
hash; the files hold the subject's own data, for the subject.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog

from lakehouse.governance.files import Location
from lakehouse.governance.pii import find_pii_tables, subject_filter, subject_hash

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class TableExport:
    table: str
    subject_column: str
    rows: int
    file: str
    sha256: str
    snapshot_id: int | None


@dataclass
class SubjectExport:
    export_id: str
    subject_sha256: str
    exported_at: str
    location: str
    tables: list[TableExport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def manifest(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "subject_sha256": self.subject_sha256,
            "exported_at": self.exported_at,
            "format": "jsonl",
            "rows": self.rows,
            "tables": [asdict(t) for t in self.tables],
        }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"no JSON spelling for {type(value).__name__}")


def json_lines(rows: pa.Table) -> bytes:
    """One JSON object a line, columns in table order (nested values as JSON objects/arrays)."""
    lines = [json.dumps(row, default=_json_value, ensure_ascii=False) for row in rows.to_pylist()]
    return "".join(f"{line}\n" for line in lines).encode()


def export_subject(
    catalog: Catalog,
    subject: str,
    tables: Mapping[tuple[str, ...], str] | None = None,
    *,
    destination: str,
    now: dt.datetime | None = None,
) -> SubjectExport:
    """Write ``subject``'s rows from ``tables`` (identifier -> subject column; default every
    table tagged PII) under ``destination/<export id>/``; a table without the subject gets an
    empty file, so the manifest shows it was searched."""
    targets = dict(tables) if tables is not None else find_pii_tables(catalog)
    export_id = uuid.uuid4().hex
    location = Location(destination, catalog.properties)
    result = SubjectExport(
        export_id=export_id,
        subject_sha256=subject_hash(subject),
        exported_at=(now or dt.datetime.now(dt.UTC)).isoformat(),
        location=location.uri(export_id),
    )
    for identifier, column in sorted(targets.items()):
        table = catalog.load_table(identifier)
        snapshot = table.current_snapshot()
        rows = (
            table.scan(row_filter=subject_filter(table, column, subject)).to_arrow()
            if snapshot is not None
            else table.schema().as_arrow().empty_table()
        )
        name = ".".join(identifier)
        relative = f"{export_id}/{name}.jsonl"
        location.write_bytes(relative, json_lines(rows))
        _, digest = location.sha256(relative)
        result.tables.append(
            TableExport(
                name,
                column,
                rows.num_rows,
                f"{name}.jsonl",
                digest,
                snapshot.snapshot_id if snapshot else None,
            )
        )
    location.write_bytes(
        f"{export_id}/{MANIFEST}", json.dumps(result.manifest(), indent=2).encode()
    )
    return result
