"""Catalog defaults per layer, filled in only where an asset's own definition is silent.

Analysts filter the UI by owner and by the ``layer``, ``domain`` and ``classification`` tags.
The layers declare their own (raw, staging, ml, and dbt's ``meta``); these defaults cover the
gaps so no asset is missing from a filter. An asset's own value always wins, except the
storage address: every table asset's ``dagster/table_name`` is its Iceberg table
``<catalog>.<namespace>.<table>``, whichever engine writes it (dagster-dbt would name DuckDB's
in-memory relation, ``memory.analytics.<model>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import dagster as dg

CATALOG_TAGS = ("layer", "domain", "classification")
TABLE_NAME = "dagster/table_name"
# The layers whose assets are Iceberg tables named by their key; upkeep assets are run reports.
TABLE_LAYERS = ("raw", "staging", "analytics", "ml")
LAYER_OWNERS: dict[str, str] = {
    "raw": "team:data-engineering",
    "staging": "team:data-engineering",
    "analytics": "team:analytics",
    "ml": "team:data-science",
    "upkeep": "team:data-engineering",
}
LAYER_TAGS: dict[str, dict[str, str]] = {
    # Upkeep assets hold run reports about the tables, not business data.
    "upkeep": {"domain": "platform", "classification": "internal"},
}
# dbt models whose yml declares no domain yet (dbt meta.domain would replace this).
TABLE_DOMAINS: dict[str, str] = {
    "analytics/dim_customers": "customers",
    "analytics/customer_lifetime_value": "customers",
    "analytics/dim_products": "products",
    "analytics/fct_purchases": "sales",
    "analytics/daily_revenue": "finance",
}


def _defaults(key: dg.AssetKey) -> dict[str, str]:
    layer = key.path[0]
    defaults = {"layer": layer, **LAYER_TAGS.get(layer, {})}
    if (domain := TABLE_DOMAINS.get(key.to_user_string())) is not None:
        defaults["domain"] = domain
    return defaults


def _with_catalog_defaults(spec: dg.AssetSpec) -> dg.AssetSpec:
    tags = {**_defaults(spec.key), **spec.tags}
    owners = list(spec.owners) or [LAYER_OWNERS[spec.key.path[0]]]
    return spec.replace_attributes(tags=tags, owners=owners)


def apply_catalog_defaults(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec],
) -> Sequence[dg.AssetsDefinition | dg.AssetSpec]:
    return dg.map_asset_specs(_with_catalog_defaults, list(assets))


def table_address(catalog_name: str, key: dg.AssetKey) -> str:
    """The Iceberg table an asset holds, as an analyst queries it: ``lakehouse.raw.faker_users``."""
    return ".".join((catalog_name, *key.path))


def apply_table_names(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec], catalog_name: str
) -> Sequence[dg.AssetsDefinition | dg.AssetSpec]:
    def named(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key.path[0] not in TABLE_LAYERS:
            return spec
        address = table_address(catalog_name, spec.key)
        return spec.replace_attributes(metadata={**spec.metadata, TABLE_NAME: address})

    return dg.map_asset_specs(named, list(assets))
