"""How the dbt project appears in Dagster: keys, checks, owners, tags, kinds, columns, partitions."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.analytics.translator import column_tags
from lakehouse.partitions import MONTHLY
from lakehouse.settings import load_settings


@pytest.fixture(scope="module")
def specs(duckdb_manifest: Path) -> dict[str, tuple[dg.AssetsDefinition, dg.AssetSpec]]:
    found = {}
    for assets_def in build_analytics_assets(load_settings({})):
        for spec in assets_def.specs:
            found[spec.key.to_user_string()] = (assets_def, spec)
    return found


def test_models_are_analytics_assets_reading_the_staging_assets(specs: dict) -> None:
    _, revenue = specs["analytics/daily_revenue"]
    assert {dep.asset_key.to_user_string() for dep in revenue.deps} == {"analytics/fct_purchases"}
    _, fact = specs["analytics/fct_purchases"]
    assert {dep.asset_key.to_user_string() for dep in fact.deps} == {
        "staging/purchases",
        "analytics/dim_customers",
        "analytics/dim_products",
    }
    _, customers = specs["analytics/dim_customers"]
    assert [dep.asset_key.to_user_string() for dep in customers.deps] == ["staging/users"]


def test_specs_carry_group_owner_kinds_tags_and_description(specs: dict) -> None:
    _, customers = specs["analytics/dim_customers"]
    assert customers.group_name == "analytics"
    assert customers.owners == ["team:analytics"]
    assert customers.kinds == {"dbt", "duckdb", "iceberg"}
    assert customers.tags["classification"] == "restricted"
    assert customers.tags["pii"] == "true"
    assert "dimension" in customers.tags
    assert customers.description.startswith("One row per customer")
    _, revenue = specs["analytics/daily_revenue"]
    assert revenue.owners == ["team:finance-analytics"]


def test_columns_carry_types_descriptions_and_pii_tags(specs: dict) -> None:
    _, customers = specs["analytics/dim_customers"]
    columns = {
        column.name: column for column in customers.metadata["dagster/column_schema"].columns
    }
    assert columns["email"].tags == {"pii": "true", "classification": "restricted"}
    assert columns["age_band"].tags == {"classification": "internal"}
    assert columns["email"].type == "varchar"
    assert columns["email"].description == "Customer's e-mail address."


def test_dbt_tests_are_asset_checks(specs: dict) -> None:
    fact_def, _ = specs["analytics/fct_purchases"]
    checks = {key.name for key in fact_def.check_keys}
    assert "unique_fct_purchases_purchase_id" in checks
    assert any(name.startswith("relationships_fct_purchases_user_id") for name in checks)
    assert any(name.startswith("accepted_values_fct_purchases_status") for name in checks)


def test_the_purchase_models_are_partitioned_by_month_with_single_run_backfills(
    specs: dict,
) -> None:
    fact_def, _ = specs["analytics/fct_purchases"]
    assert fact_def.partitions_def is MONTHLY
    assert fact_def.backfill_policy == dg.BackfillPolicy.single_run()
    assert set(fact_def.keys) == {
        dg.AssetKey(["analytics", "fct_purchases"]),
        dg.AssetKey(["analytics", "daily_revenue"]),
    }
    models_def, lifetime_value = specs["analytics/customer_lifetime_value"]
    assert models_def.partitions_def is None
    assert lifetime_value.tags.get("whole_history") == ""  # kept out of the transforms job


def test_column_classification_must_be_known() -> None:
    with pytest.raises(ValueError, match="classification must be one of"):
        column_tags({"name": "x", "meta": {"classification": "secret"}})
