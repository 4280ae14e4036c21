"""A failing dbt test stops the models after it, and the ml assets after those.

The analytics assets run ``dbt build``: a model's tests run before the models that depend on
it, and dbt skips those when one fails. ``dbt run`` then ``dbt test`` would build them all
first. Here staging.users gets a duplicate user_id, written through the catalog (as if its
staging check had been bypassed), so ``dim_customers``' ``unique`` test fails: the
docs/dbt.md's "what an analyst sees when a dbt test fails", checked on a fresh embedded lakehouse.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from analytics_pipeline import FACT
from pyiceberg.catalog import Catalog
from staging_data import M1, M2, PURCHASES_V1, users, write_staging

from lakehouse.analytics.assets import build_analytics_assets
from lakehouse.analytics.resources import build_dbt_resource
from lakehouse.catalog import IcebergCatalogResource, build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.io_manager import IcebergIOManager
from lakehouse.ml import CHURN_TRAINING_SET, CUSTOMER_FEATURES, build_ml_assets, build_ml_checks
from lakehouse.settings import load_settings

pytestmark = pytest.mark.slow
CUSTOMERS = dg.AssetKey(["analytics", "dim_customers"])
PRODUCTS = dg.AssetKey(["analytics", "dim_products"])
LIFETIME_VALUE = dg.AssetKey(["analytics", "customer_lifetime_value"])
ML = [CUSTOMER_FEATURES, CHURN_TRAINING_SET]


def _duplicate_user(table: pa.Table) -> pa.Table:
    """User 2 twice (a second e-mail): staging's key, and dim_customers' unique test, broken."""
    second = table.slice(1, 1).set_column(2, "email", pa.array(["bob@other.org"]))
    return pa.concat_tables([table, second])


def _snapshot_id(catalog: Catalog, key: dg.AssetKey) -> int:
    return catalog.load_table(tuple(key.path)).current_snapshot().snapshot_id


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def test_a_failing_dbt_test_stops_the_models_and_ml_assets_after_it(
    tmp_path: Path, duckdb_manifest: Path
) -> None:
    environ = {"LAKEHOUSE_HOME": str(tmp_path)}
    settings = load_settings(environ)
    catalog = build_catalog(settings)
    assets = [*build_analytics_assets(settings), *build_ml_assets()]
    resources = {
        "dbt": build_dbt_resource(load_settings(environ)),
        "io_manager": IcebergIOManager(settings=load_settings(environ)),
        "catalog": IcebergCatalogResource(settings=settings),  # the ml assets read consents
    }

    def materialize(selection: list[dg.AssetKey], **kwargs: object) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [*assets, *build_ml_checks()], selection=selection, resources=resources, **kwargs
        )

    # A good lakehouse first: every model below has a snapshot to keep.
    write_staging(catalog, PURCHASES_V1)
    assert materialize([CUSTOMERS, PRODUCTS]).success
    backfill = {
        "dagster/asset_partition_range_start": M1,
        "dagster/asset_partition_range_end": M2,
    }
    assert materialize([FACT], tags=backfill).success
    assert materialize([LIFETIME_VALUE]).success
    before = {key: _snapshot_id(catalog, key) for key in (CUSTOMERS, LIFETIME_VALUE)}

    write(catalog, _duplicate_user(users()), WriteRequest(("staging", "users")))
    result = materialize([CUSTOMERS, PRODUCTS, LIFETIME_VALUE, *ML], raise_on_error=False)

    assert not result.success, "a failed dbt test must fail the run"
    built = _materialized(result)
    # Its dependant is skipped: no materialisation, the previous snapshot still current.
    assert LIFETIME_VALUE not in built, "customer_lifetime_value was built after the failed test"
    assert _snapshot_id(catalog, LIFETIME_VALUE) == before[LIFETIME_VALUE]
    # And nothing downstream of it in Dagster runs.
    assert not built & set(ML)
    assert not any(catalog.table_exists(tuple(key.path)) for key in ML)
    # The failing test is a failed check on its model, the only one.
    failed = [
        (evaluation.asset_key, evaluation.check_name)
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    assert failed == [(CUSTOMERS, "unique_dim_customers_user_id")]
    # dbt build commits the failing model, then its tests run: its new snapshot is current.
    assert CUSTOMERS in built and PRODUCTS in built
    customers = catalog.load_table(tuple(CUSTOMERS.path))
    assert customers.current_snapshot().snapshot_id != before[CUSTOMERS]
    assert sorted(customers.scan().to_arrow()["user_id"].to_pylist()) == [1, 2, 2, 3]
    # docs/dbt.md's way back: roll main back to the snapshot before the run.
    customers.manage_snapshots().rollback_to_snapshot(before[CUSTOMERS]).commit()
    customers = catalog.load_table(tuple(CUSTOMERS.path))
    assert sorted(customers.scan().to_arrow()["user_id"].to_pylist()) == [1, 2, 3]
