"""What the data catalog learns about a table: OpenLineage dataset facets from one description.

Datasets are named by location (namespace ``s3://bucket`` or ``file``, name the table's path),
as OpenLineage's Spark integration names Iceberg tables, so events from other producers join;
a symlink carries the catalog name (``staging.users``) that people search by. Snapshot and
location also go in the custom ``lakehouse_iceberg`` facet (schema in ``schemas/``).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import attr
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    OutputDatasetFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    dataset_version_dataset,
    documentation_dataset,
    output_statistics_output_dataset,
    ownership_dataset,
    schema_dataset,
    storage_dataset,
    symlinks_dataset,
    tags_dataset,
)

SCHEMA_DIR = Path(__file__).with_name("schemas")
SPEC_BASE = "https://data-platform.local/lakehouse/spec/facets"
PRODUCER = f"https://data-platform.local/lakehouse/{importlib.metadata.version('lakehouse')}"
ICEBERG_FACET = "lakehouse_iceberg"


@attr.define
class LakehouseIcebergDatasetFacet(DatasetFacet):
    """The Iceberg snapshot and table location (no standard facet carries both)."""

    table: str
    tableLocation: str
    catalog: str | None = attr.field(default=None)
    snapshotId: int | None = attr.field(default=None)
    formatVersion: int | None = attr.field(default=None)
    branch: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return (
            f"{SPEC_BASE}/1-0-0/LakehouseIcebergDatasetFacet.json"
            "#/$defs/LakehouseIcebergDatasetFacet"
        )


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)  # pii, classification


@dataclass(frozen=True)
class TableDescription:
    """Everything the catalog is told about one Iceberg table; all but the first two optional."""

    table: str  # namespace.table
    location: str  # the table's base location, file:///... or s3://...
    catalog: str | None = None
    columns: Sequence[Column] = ()
    description: str | None = None
    owners: Sequence[str] = ()  # "team:analytics", "user@example.com"
    tags: Mapping[str, str] = field(default_factory=dict)  # classification, pii, domain, layer
    snapshot_id: int | None = None
    format_version: int | None = None
    row_count: int | None = None
    bytes: int | None = None
    file_count: int | None = None
    storage_layer: str = "iceberg"  # "parquet": a plain file (an archive), no Iceberg facet


def dataset_name(location: str) -> tuple[str, str]:
    """(namespace, name) of a table location, OpenLineage's naming for object stores and files."""
    parts = urlsplit(location)
    if parts.scheme in ("", "file"):
        return "file", parts.path
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def _owner(owner: str) -> ownership_dataset.Owner:
    kind, _, name = owner.partition(":")
    return ownership_dataset.Owner(name=owner, type=kind if name else "user")


def dataset_facets(table: TableDescription) -> dict[str, DatasetFacet]:
    namespace, _ = dataset_name(table.location)
    facets: dict[str, DatasetFacet] = {
        "symlinks": symlinks_dataset.SymlinksDatasetFacet(
            identifiers=[
                symlinks_dataset.Identifier(namespace=namespace, name=table.table, type="TABLE")
            ]
        ),
        "storage": storage_dataset.StorageDatasetFacet(
            storageLayer=table.storage_layer, fileFormat="parquet"
        ),
    }
    if table.storage_layer == "iceberg":
        facets[ICEBERG_FACET] = LakehouseIcebergDatasetFacet(
            table=table.table,
            tableLocation=table.location,
            catalog=table.catalog,
            snapshotId=table.snapshot_id,
            formatVersion=table.format_version,
            branch="main" if table.snapshot_id is not None else None,
        )
    if table.columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=c.name, type=c.type, description=c.description
                )
                for c in table.columns
            ]
        )
    if table.snapshot_id is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=str(table.snapshot_id)
        )
    if table.description:
        facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(
            description=table.description
        )
    if table.owners:
        facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
            owners=[_owner(o) for o in table.owners]
        )
    tags = [
        tags_dataset.TagsDatasetFacetFields(key=k, value=v, source="LAKEHOUSE")
        for k, v in sorted(table.tags.items())
    ] + [
        tags_dataset.TagsDatasetFacetFields(key=k, value=v, source="LAKEHOUSE", field=c.name)
        for c in table.columns
        for k, v in sorted(c.tags.items())
    ]
    if tags:
        facets["tags"] = tags_dataset.TagsDatasetFacet(tags=tags)
    return facets


def output_dataset(
    table: TableDescription,
    column_lineage: column_lineage_dataset.ColumnLineageDatasetFacet | None = None,
) -> OutputDataset:
    namespace, name = dataset_name(table.location)
    facets = dataset_facets(table)
    if column_lineage is not None:
        facets["columnLineage"] = column_lineage
    output_facets: dict[str, OutputDatasetFacet] = {}
    if table.row_count is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=table.row_count, size=table.bytes, fileCount=table.file_count
            )
        )
    return OutputDataset(namespace, name, facets=facets, outputFacets=output_facets)


def input_dataset(
    table: TableDescription,
    assertions: Sequence[data_quality_assertions_dataset.Assertion] = (),
) -> InputDataset:
    namespace, name = dataset_name(table.location)
    input_facets: dict[str, InputDatasetFacet] = {}
    if assertions:
        input_facets["dataQualityAssertions"] = (
            data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=list(assertions)
            )
        )
    return InputDataset(namespace, name, facets=dataset_facets(table), inputFacets=input_facets)
