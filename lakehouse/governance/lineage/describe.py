"""``TableDescription``s from where the facts are: a live Iceberg table, or a Dagster
materialisation's metadata (``lakehouse/iceberg/metadata.py`` writes those keys)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyiceberg.table import Table

from lakehouse.governance.archive import ArchiveManifest, ArchiveRange
from lakehouse.governance.lineage.facets import Column, TableDescription


def _int(value: Any) -> int | None:
    value = getattr(value, "value", value)
    return int(value) if value is not None else None


def describe_table(
    table: Table,
    *,
    catalog: str | None = None,
    description: str | None = None,
    owners: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    column_tags: Mapping[str, Mapping[str, str]] | None = None,
) -> TableDescription:
    """The table at its current snapshot: columns, snapshot, rows, bytes and files."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
    column_tags = column_tags or {}
    return TableDescription(
        table=".".join(table.name()[-2:]),
        location=table.location(),
        catalog=catalog,
        columns=[
            Column(f.name, str(f.field_type), f.doc, column_tags.get(f.name, {}))
            for f in table.schema().fields
        ],
        description=description,
        owners=tuple(owners),
        tags=dict(tags or {}),
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        format_version=table.format_version,
        row_count=_int(summary.get("total-records")),
        bytes=_int(summary.get("total-files-size")),
        file_count=_int(summary.get("total-data-files")),
    )


def describe_materialization(
    table: str,
    location: str,
    metadata: Mapping[str, Any],
    *,
    catalog: str | None = None,
    description: str | None = None,
    owners: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
) -> TableDescription:
    """From an ``AssetMaterialization``'s metadata: snapshot id, row count, bytes, data files,
    and ``dagster/column_schema`` (its columns' ``pii``/``classification`` tags included)."""
    schema = metadata.get("dagster/column_schema")
    schema = getattr(schema, "value", schema) or getattr(schema, "schema", None)
    columns = [
        Column(c.name, c.type, c.description, dict(c.tags or {}))
        for c in (getattr(schema, "columns", None) or [])
    ]
    location_value = metadata.get("table_location")
    return TableDescription(
        table=table,
        location=str(getattr(location_value, "value", location_value) or location),
        catalog=catalog,
        columns=columns,
        description=description,
        owners=tuple(owners),
        tags=dict(tags or {}),
        snapshot_id=_int(metadata.get("snapshot_id")),
        row_count=_int(metadata.get("dagster/row_count")),
        bytes=_int(metadata.get("table_bytes")),
        file_count=_int(metadata.get("data_files")),
    )


def describe_archive(manifest: ArchiveManifest, manifest_uri: str) -> TableDescription:
    """An archive as a dataset of its own (``archive.<namespace>.<table>``) at its directory."""
    return TableDescription(
        table=f"archive.{manifest.table}",
        location=manifest_uri.rsplit("/", 1)[0],
        columns=[
            Column(f.name, str(f.field_type), f.doc) for f in manifest.iceberg_schema().fields
        ],
        description=f"Rows of {manifest.table} archived before retention deleted them: "
        f"{ArchiveRange.from_dict(manifest.range).label()}",
        row_count=manifest.rows,
        bytes=manifest.bytes,
        file_count=1,
        storage_layer="parquet",
    )
