"""How dbt nodes become Dagster assets: keys, owners, tags, kinds and column metadata.

Models are ``analytics/<model>`` in group ``analytics``; sources are the staging assets they
read (``staging/<table>``); tests become asset checks. Everything else comes from the yml files
in ``dbt/models``: descriptions, ``meta.owner``, tags, and per-column ``meta.pii`` and
``meta.classification``, which become column tags in the Dagster UI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from lakehouse.governance.lineage.columns import ColumnLineage, column_lineage_metadata

ANALYTICS = "analytics"
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


def _is_model(props: Mapping[str, Any]) -> bool:
    return props.get("resource_type") == "model"


def column_tags(column: Mapping[str, Any]) -> dict[str, str]:
    """Dagster column tags from a dbt column: its dbt tags, ``pii`` and ``classification``."""
    meta = column.get("meta") or {}
    tags = {tag: "" for tag in column.get("tags") or ()}
    if meta.get("pii"):
        tags["pii"] = "true"
    if (classification := meta.get("classification")) is not None:
        if classification not in CLASSIFICATIONS:
            raise ValueError(
                f"column {column.get('name')}: classification must be one of "
                f"{', '.join(CLASSIFICATIONS)}, got {classification!r}"
            )
        tags["classification"] = classification
    return tags


def column_schema(props: Mapping[str, Any]) -> dg.TableSchema | None:
    """The model's documented columns with their types, descriptions and tags."""
    columns = props.get("columns") or {}
    if not columns:
        return None
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=column.get("data_type") or "?",
                description=column.get("description") or None,
                tags=column_tags(column),
            )
            for name, column in columns.items()
        ]
    )


class LakehouseDbtTranslator(DagsterDbtTranslator):
    """The lakehouse's naming and metadata rules for the dbt project."""

    def __init__(self, column_lineage: Mapping[str, ColumnLineage] | None = None) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.column_lineage = dict(column_lineage or {})  # column_lineage.py, per table

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props.get("resource_type") == "source":
            # The source `staging` is the staging layer: its tables are the Spark assets.
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([ANALYTICS, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return ANALYTICS if _is_model(dbt_resource_props) else None

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        owner = (dbt_resource_props.get("meta") or {}).get("owner")
        if owner:
            return [owner] if isinstance(owner, str) else list(owner)
        return super().get_owners(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        meta = dbt_resource_props.get("meta") or {}
        if classification := meta.get("classification"):
            tags["classification"] = classification
        if "contains_pii" in meta:
            tags["pii"] = str(bool(meta["contains_pii"])).lower()
        return tags

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        schema = column_schema(dbt_resource_props)
        if schema is not None:
            metadata["dagster/column_schema"] = schema
        if _is_model(dbt_resource_props):
            table = f"{ANALYTICS}.{dbt_resource_props['name']}"
            metadata["iceberg/table"] = table
            if lineage := self.column_lineage.get(table):
                metadata["dagster/column_lineage"] = column_lineage_metadata(lineage)
        return metadata

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("model."):
            # Kinds are {"dbt", <adapter>} already; both engines write Iceberg tables.
            spec = spec.merge_attributes(kinds={"iceberg"})
        return spec
