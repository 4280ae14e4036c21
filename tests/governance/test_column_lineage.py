"""Column lineage: every dbt model column traced from the compiled SQL, every Spark staging
column declared beside its transform, rendered as OpenLineage facets and Dagster metadata."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa
import pytest

from lakehouse.governance.lineage.columns import (
    ColumnSource,
    column_lineage_facet,
    column_lineage_metadata,
)
from lakehouse.governance.lineage.dbt_columns import DbtLineageError, dbt_column_lineage
from lakehouse.governance.lineage.spark_columns import spark_column_lineage
from lakehouse.raw.streams import STREAMS
from spark.contracts import CONTRACTS

# Columns computed from no input column (count(*)): listed, with no inputs.
COUNTS = {
    ("analytics.customer_lifetime_value", "purchases"),
    ("analytics.daily_revenue", "purchases"),
}


def models(manifest: dict) -> dict[str, dict]:
    return {
        f"{n['schema']}.{n['name']}": n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
    }


@pytest.mark.slow  # dbt compile, once per session
def test_every_dbt_model_column_is_traced(compiled_manifest):
    lineage = dbt_column_lineage(compiled_manifest)
    assert (
        set(lineage)
        == set(models(compiled_manifest))
        == {
            "analytics.dim_customers",
            "analytics.dim_products",
            "analytics.fct_purchases",
            "analytics.customer_lifetime_value",
            "analytics.daily_revenue",
        }
    )
    tables = {f"{s['schema']}.{s['name']}" for s in compiled_manifest["sources"].values()}
    tables |= set(lineage)
    for model, node in models(compiled_manifest).items():
        assert list(lineage[model]) == list(node["columns"]), model
        for column, sources in lineage[model].items():
            if (model, column) in COUNTS:
                assert sources == [], (model, column)
                continue
            assert sources, f"{model}.{column} traced to no input column"
            for source in sources:
                assert source.table in tables and source.table != model


@pytest.mark.slow  # dbt compile, once per session
def test_dbt_lineage_follows_renames_ctes_and_joins(compiled_manifest):
    lineage = dbt_column_lineage(compiled_manifest)
    fct = lineage["analytics.fct_purchases"]
    assert fct["customer_country_code"] == [
        ColumnSource("analytics.dim_customers", "country_code", identity=True)
    ]
    assert fct["purchase_id"] == [ColumnSource("staging.purchases", "purchase_id", True)]
    assert set(fct["gross_revenue"]) == {
        ColumnSource("analytics.dim_products", "price"),
        ColumnSource("staging.purchases", "purchased_at"),
    }
    assert lineage["analytics.dim_customers"]["email_domain"] == [
        ColumnSource("staging.users", "email")
    ]
    clv = lineage["analytics.customer_lifetime_value"]
    assert clv["lifetime_value"] == [ColumnSource("analytics.fct_purchases", "net_revenue")]


@pytest.mark.slow  # dbt compile, once per session
def test_a_model_without_compiled_sql_is_named(compiled_manifest, tmp_path):
    manifest = {**compiled_manifest, "nodes": dict(compiled_manifest["nodes"])}
    uid = "model.lakehouse_analytics.dim_products"
    manifest["nodes"][uid] = {
        **manifest["nodes"][uid],
        "compiled_code": None,
        "compiled_path": None,
    }
    with pytest.raises(DbtLineageError, match="dim_products has no compiled SQL"):
        dbt_column_lineage(manifest, tmp_path)


@pytest.mark.slow  # dbt compile, once per session
def test_dagster_column_lineage_metadata_names_project_assets(compiled_manifest):
    lineage = dbt_column_lineage(compiled_manifest)
    keys = {dg.AssetKey(t.split(".")) for t in lineage}
    keys |= {dg.AssetKey(["staging", s["name"]]) for s in compiled_manifest["sources"].values()}
    for table, columns in lineage.items():
        metadata = column_lineage_metadata(columns)
        assert isinstance(metadata, dg.TableColumnLineage)
        assert set(metadata.deps_by_column) == set(columns)
        for deps in metadata.deps_by_column.values():
            assert {d.asset_key for d in deps} <= keys, table
    fct = column_lineage_metadata(lineage["analytics.fct_purchases"])
    assert fct.deps_by_column["customer_country_code"] == [
        dg.TableColumnDep(
            asset_key=dg.AssetKey(["analytics", "dim_customers"]), column_name="country_code"
        )
    ]
    # Dagster accepts it as asset metadata.
    spec = dg.AssetSpec(["analytics", "fct_purchases"], metadata={"dagster/column_lineage": fct})
    assert spec.metadata["dagster/column_lineage"] == fct


def _raw_path_exists(schema: pa.Schema, path: str) -> bool:
    head, _, rest = path.partition(".")
    if head not in schema.names:
        return False
    field = schema.field(head)
    return not rest or (pa.types.is_struct(field.type) and rest in [f.name for f in field.type])


def test_every_spark_staging_column_is_declared_from_existing_raw_columns():
    lineage = spark_column_lineage()
    raw = {f"raw.{s.table}": s.schema for s in STREAMS}
    assert set(lineage) == {f"staging.{t}" for t in CONTRACTS}
    for table, contract in CONTRACTS.items():
        columns = lineage[f"staging.{table}"]
        assert list(columns) == contract.names, table
        for column, sources in columns.items():
            assert sources, f"staging.{table}.{column}"
            for source in sources:
                assert source.table == f"raw.{contract.source}"
                assert _raw_path_exists(raw[source.table], source.column), (table, source)
    users = lineage["staging.users"]
    assert users["user_id"] == [ColumnSource("raw.faker_users", "id", identity=True)]
    assert users["city"] == [ColumnSource("raw.faker_users", "address.city")]


def test_staging_assets_carry_their_spark_lineage_to_the_ui_and_openlineage():
    """Every staging column is on its asset's ``dagster/column_lineage`` (the UI), which the run
    sensors read back as the OpenLineage ``columnLineage`` facet, inputs named by dataset."""
    from lakehouse.definitions import build_definitions
    from lakehouse.governance.lineage.dagster_lineage import asset_facts_from

    repository = build_definitions({"LAKEHOUSE_RUNTIME": "embedded"}).get_repository_def()
    describe = asset_facts_from(repository)
    for table, contract in CONTRACTS.items():
        spec = repository.assets_defs_by_key[dg.AssetKey(["staging", table])].specs_by_key
        metadata = spec[dg.AssetKey(["staging", table])].metadata["dagster/column_lineage"]
        assert list(metadata.deps_by_column) == contract.names, table
        deps = {d.asset_key for deps in metadata.deps_by_column.values() for d in deps}
        assert deps == {dg.AssetKey(["raw", contract.source])}, table
        facts = describe(f"staging/{table}")
        assert facts is not None and facts.column_lineage is not None
        facet = column_lineage_facet(facts.column_lineage, lambda t: f"file:///w/{t}")
        assert list(facet.fields) == contract.names, table
        for field in facet.fields.values():
            assert {i.name for i in field.inputFields} == {f"/w/raw.{contract.source}"}


@pytest.mark.slow  # dbt compile, once per session
def test_the_facet_names_inputs_by_their_dataset(compiled_manifest):
    locations = {"analytics.dim_customers": "s3://warehouse/analytics/dim_customers",
                 "staging.purchases": "file:///lake/staging/purchases",
                 "analytics.dim_products": "s3://warehouse/analytics/dim_products"}  # fmt: skip
    facet = column_lineage_facet(
        dbt_column_lineage(compiled_manifest)["analytics.fct_purchases"], locations.__getitem__
    )
    (country,) = facet.fields["customer_country_code"].inputFields
    assert (country.namespace, country.name, country.field) == (
        "s3://warehouse",
        "analytics/dim_customers",
        "country_code",
    )
    assert country.transformations[0].subtype == "IDENTITY"
    purchase = facet.fields["purchase_id"].inputFields[0]
    assert (purchase.namespace, purchase.name) == ("file", "/lake/staging/purchases")
