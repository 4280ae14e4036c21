"""The dbt models on DuckDB, run through Dagster, against numbers computed by hand.

One shared run (conftest ``pipeline``): staging v1 written; dimensions, both months of the
partitioned models (one backfill run) and customer lifetime value built; then staging v2
written and only D2's month of the partitioned models rebuilt.
The expected numbers are worked out by hand in staging_data.py.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from analytics_pipeline import ANALYTICS_TABLES, FACT, Pipeline
from staging_data import (
    CUSTOMER_LIFETIME_VALUE_V1,
    D1,
    D2,
    DAILY_REVENUE_V1,
    DAILY_REVENUE_V2,
    M2,
    at,
)

pytestmark = pytest.mark.slow


def rows_by(table: pa.Table, key: str) -> dict:
    return {row[key]: row for row in table.to_pylist()}


def daily_revenue(table: pa.Table) -> dict:
    columns = (
        "purchases",
        "customers",
        "returns",
        "gross_revenue",
        "refunded_amount",
        "net_revenue",
        "average_order_value",
        "return_rate",
    )
    return {
        day: tuple(row[column] for column in columns)
        for day, row in rows_by(table, "revenue_date").items()
    }


def lifetime_values(table: pa.Table) -> dict:
    columns = (
        "purchases",
        "returns",
        "gross_revenue",
        "refunded_amount",
        "lifetime_value",
        "active_days",
        "value_segment",
    )
    return {
        user: tuple(row[column] for column in columns)
        for user, row in rows_by(table, "user_id").items()
    }


def test_daily_revenue_equals_the_hand_computed_numbers(pipeline: Pipeline) -> None:
    assert daily_revenue(pipeline.v1["daily_revenue"]) == pytest.approx(DAILY_REVENUE_V1)


def test_a_d2_run_replaces_daily_revenue_of_d2_only(pipeline: Pipeline) -> None:
    assert daily_revenue(pipeline.v2["daily_revenue"]) == pytest.approx(DAILY_REVENUE_V2)
    revenue = pipeline.catalog.load_table(("analytics", "daily_revenue"))
    assert [str(field.transform) for field in revenue.spec().fields] == ["day"]
    summary = revenue.current_snapshot().summary.additional_properties
    assert summary["dagster.partition-key"] == M2


def test_customer_lifetime_value_equals_the_hand_computed_numbers(pipeline: Pipeline) -> None:
    assert lifetime_values(pipeline.v1["customer_lifetime_value"]) == CUSTOMER_LIFETIME_VALUE_V1
    user_1 = rows_by(pipeline.v1["customer_lifetime_value"], "user_id")[1]
    assert user_1["average_order_value"] == pytest.approx(450.5 / 3)
    assert user_1["first_purchase_at"] == at(1, 9, 30)


def test_dimensions_derive_bands_domains_and_names(pipeline: Pipeline) -> None:
    customers = rows_by(pipeline.v1["dim_customers"], "user_id")
    assert {user: row["age_band"] for user, row in customers.items()} == {
        1: "35_44",
        2: "under_25",
        3: "unknown",
    }
    assert customers[1]["email_domain"] == "example.com"
    assert customers[2]["country_code"] == "JM"
    products = rows_by(pipeline.v1["dim_products"], "product_id")
    assert products[20]["product_name"] == "Honda Civic"


def test_fct_purchases_prices_each_purchase(pipeline: Pipeline) -> None:
    facts = rows_by(pipeline.v1["fct_purchases"], "purchase_id")
    assert sorted(facts) == [100, 101, 102, 103, 104]
    returned = facts[101]
    assert (returned["gross_revenue"], returned["refunded_amount"], returned["net_revenue"]) == (
        250.5,
        250.5,
        0.0,
    )
    assert returned["days_to_return"] == 2
    assert facts[102]["hours_to_purchase"] == 2  # 23:00 on D1 to 01:00 on D2
    assert facts[102]["purchase_date"] == D1
    assert facts[103]["gross_revenue"] == 0.0 and facts[103]["hours_to_purchase"] is None
    assert facts[104]["customer_country_code"] == "GB"


def test_analytics_outputs_are_iceberg_tables_with_snapshots(pipeline: Pipeline) -> None:
    catalog = pipeline.catalog
    assert sorted(name for _, name in catalog.list_tables("analytics")) == sorted(ANALYTICS_TABLES)
    run_ids = {result.run_id for result in pipeline.results.values()}
    for name in ANALYTICS_TABLES:
        table = catalog.load_table(("analytics", name))
        snapshot = table.current_snapshot()
        assert snapshot is not None, name
        summary = snapshot.summary.additional_properties
        assert summary["dagster.run-id"] in run_ids, name
        assert summary["dbt.model"] == name
    fact = catalog.load_table(("analytics", "fct_purchases"))
    assert [str(field.transform) for field in fact.spec().fields] == ["day"]


def test_materialisations_carry_snapshot_metadata_and_passing_checks(pipeline: Pipeline) -> None:
    metrics = pipeline.results["metrics"]
    for event in metrics.get_asset_materialization_events():
        metadata = event.materialization.metadata
        assert metadata["iceberg/snapshot_id"].value > 0
        assert metadata["dagster/row_count"].value in (2, 3)
    for result in pipeline.results.values():
        evaluations = result.get_asset_check_evaluations()
        assert evaluations, "dbt tests ran as asset checks"
        assert all(evaluation.passed for evaluation in evaluations)
    d2 = pipeline.results["fact_d2"].get_asset_materialization_events()
    assert d2[0].materialization.partition == M2
    assert d2[0].materialization.metadata["dagster/partition_row_count"].value == 3


def test_a_new_staging_snapshot_is_what_the_next_run_reads(pipeline: Pipeline) -> None:
    facts = rows_by(pipeline.v2["fct_purchases"], "purchase_id")
    assert 105 not in rows_by(pipeline.v1["fct_purchases"], "purchase_id")
    new = facts[105]  # only in the second staging snapshot
    assert (new["user_id"], new["gross_revenue"], new["customer_country_code"]) == (3, 250.5, "IT")


def test_one_month_partition_run_touches_only_that_months_days(pipeline: Pipeline) -> None:
    facts = rows_by(pipeline.v2["fct_purchases"], "purchase_id")
    assert sorted(facts) == [100, 101, 102, 103, 104, 105]
    assert facts[100]["status"] == "purchased"  # D1's staging change was not picked up
    d1, d2 = (day.toordinal() - dt.date(1970, 1, 1).toordinal() for day in (D1, D2))
    before, after = pipeline.fct_files_before_d2_run, pipeline.fct_files_after_d2_run
    assert after[d1] == before[d1]
    assert after[d2].isdisjoint(before[d2])
    fact = pipeline.catalog.load_table(tuple(FACT.path))
    summary = fact.current_snapshot().summary.additional_properties
    assert summary["dagster.partition-key"] == M2
