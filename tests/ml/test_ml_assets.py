"""The ml assets end to end: analytics tables in a fresh catalog, ml tables out, contract run."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest
from ml_history import CUSTOMERS, PURCHASES
from pyiceberg.catalog import Catalog

from lakehouse.catalog import IcebergCatalogResource
from lakehouse.governance.consents import PROFILING, Consent, record_consents
from lakehouse.iceberg import WriteRequest, write
from lakehouse.io_manager import IcebergIOManager
from lakehouse.ml import CHURN_TRAINING_SET, CUSTOMER_FEATURES, build_ml_assets, build_ml_checks
from lakehouse.partitions import MONTHLY
from lakehouse.settings import Settings

RUN_CONFIG = {"reference_date": "2024-03-01", "churn_horizon_days": 5}


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


@pytest.fixture(autouse=True)
def analytics_tables(catalog: Catalog) -> None:
    """Analytics tables as dbt leaves them (extra columns too), in this test's fresh catalog."""
    customers = CUSTOMERS.assign(email="x@example.com")  # not projected into the features
    purchases = PURCHASES.assign(status="purchased")
    values = pd.DataFrame({"user_id": [1, 2], "value_segment": ["high", "none"]})
    for name, frame in [
        ("dim_customers", customers),
        ("fct_purchases", purchases),
        ("customer_lifetime_value", values),
    ]:
        write(catalog, _table(frame), WriteRequest(identifier=("analytics", name)))


def _resources(settings: Settings) -> dict[str, object]:
    return {
        "io_manager": IcebergIOManager(settings=settings),
        "catalog": IcebergCatalogResource(settings=settings),  # the consents
    }


def _materialize(settings: Settings, **config: object) -> dg.ExecuteInProcessResult:
    upstream = [
        dg.AssetSpec(["analytics", "dim_customers"]),
        # Partitioned like the real dbt asset: the unpartitioned ml assets read all of it.
        dg.AssetSpec(["analytics", "fct_purchases"], partitions_def=MONTHLY),
        dg.AssetSpec(["analytics", "customer_lifetime_value"]),
    ]
    run_config = {
        "ops": {
            name: {"config": config} for name in ("ml__customer_features", "ml__churn_training_set")
        }
    }
    return dg.materialize(
        [*upstream, *build_ml_assets(), *build_ml_checks()],
        selection=[CUSTOMER_FEATURES, CHURN_TRAINING_SET],
        resources=_resources(settings),
        run_config=run_config,
    )


def test_features_and_training_set_land_in_the_ml_namespace(settings: Settings, catalog: Catalog):
    result = _materialize(settings, **RUN_CONFIG)

    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.asset_key == CUSTOMER_FEATURES
    features = catalog.load_table(("ml", "customer_features")).scan().to_pandas()
    assert list(features["user_id"]) == [1, 2, 3]
    assert list(features["value_segment"]) == ["high", "none", "unknown"]
    assert "email" not in features.columns
    one = features.set_index("user_id").loc[1]
    assert (one["frequency"], one["returns"], one["recency_days"]) == (3, 1, 2)
    training = catalog.load_table(("ml", "churn_training_set")).scan().to_pandas()
    # Cutoff 02-25: user 1 paid before it and again on 02-27 -> not churned.
    assert training[["user_id", "churned"]].to_dict("records") == [{"user_id": 1, "churned": False}]


def test_the_blocking_contract_fails_on_a_broken_feature_table(
    settings: Settings, catalog: Catalog
):
    broken = PURCHASES.assign(user_id=-PURCHASES["user_id"])  # ids must be positive
    customers = CUSTOMERS.assign(user_id=-CUSTOMERS["user_id"])
    write(catalog, _table(broken), WriteRequest(identifier=("analytics", "fct_purchases")))
    write(catalog, _table(customers), WriteRequest(identifier=("analytics", "dim_customers")))

    result = dg.materialize(
        [
            dg.AssetSpec(["analytics", "dim_customers"]),
            dg.AssetSpec(["analytics", "fct_purchases"], partitions_def=MONTHLY),
            dg.AssetSpec(["analytics", "customer_lifetime_value"]),
            *build_ml_assets(),
            *build_ml_checks(),
        ],
        selection=[CUSTOMER_FEATURES],
        resources=_resources(settings),
        run_config={"ops": {"ml__customer_features": {"config": RUN_CONFIG}}},
        raise_on_error=False,
    )

    assert not result.success
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed
    assert "user_id" in (check.metadata["summary"].value or "")


def test_an_empty_training_set_is_written_with_its_declared_types(
    settings: Settings, catalog: Catalog
):
    """A young lakehouse has no purchase older than the horizon: zero rows, still a table."""
    result = _materialize(settings, reference_date="2024-03-01", churn_horizon_days=3650)

    assert result.success
    table = catalog.load_table(("ml", "churn_training_set"))
    assert len(table.scan().to_arrow()) == 0
    types = {field.name: str(field.field_type) for field in table.schema().fields}
    assert (types["as_of"], types["reference_date"], types["churned"]) == (
        "date",
        "date",
        "boolean",
    )


def test_a_subject_who_withdrew_consent_leaves_the_features_on_the_next_run(
    settings: Settings, catalog: Catalog
):
    granted = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    record_consents(catalog, [Consent("2", PROFILING, "granted", granted, "crm")])
    assert _materialize(settings, **RUN_CONFIG).success
    features = catalog.load_table(("ml", "customer_features")).scan().to_pandas()
    assert list(features["user_id"]) == [1, 2, 3]

    withdrawn = granted + dt.timedelta(days=1)  # after the grant, before any run's instant
    record_consents(
        catalog,
        [
            Consent("2", PROFILING, "withdrawn", withdrawn, "crm"),
            Consent("3", "marketing", "withdrawn", withdrawn, "crm"),  # another purpose
        ],
    )
    result = _materialize(settings, **RUN_CONFIG)

    assert result.success
    features = catalog.load_table(("ml", "customer_features")).scan().to_pandas()
    assert list(features["user_id"]) == [1, 3]
    training = catalog.load_table(("ml", "churn_training_set")).scan().to_pandas()
    assert 2 not in set(training["user_id"])
    (materialization,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key == CUSTOMER_FEATURES
    ]
    metadata = materialization.materialization.metadata
    assert metadata["consent_withdrawn_rows"].value == 1
