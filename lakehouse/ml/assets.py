"""The ml assets: customer features for scoring and a churn training set, both in Iceberg.

Thin wrappers over ``lakehouse/ml/features.py``. The analytics tables arrive through the
Iceberg IO manager as pandas, projected to the columns used; ``fct_purchases`` is daily
partitioned and these assets are not, so Dagster maps the input to all its partitions and the
IO manager reads the whole table (its dbt asset declares no ``partition_expr`` to filter on).
"""

# No `from __future__ import annotations`: Dagster reads the parameter annotations itself.
import datetime as dt

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from lakehouse.catalog import IcebergCatalogResource
from lakehouse.governance.consent_asset import CONSENTS
from lakehouse.governance.consents import (
    PROFILING,
    read_consents,
    withdrawn_subjects,
    without_subjects,
)
from lakehouse.ml import features
from lakehouse.ml.tables import (
    CHURN_TRAINING_SET,
    CUSTOMER_FEATURES,
    GROUP,
    KINDS,
    OWNERS,
    TAGS,
    metadata,
    to_table,
)
from lakehouse.wap.gate import build_pandera_check

CUSTOMERS = dg.AssetKey(["analytics", "dim_customers"])
PURCHASES = dg.AssetKey(["analytics", "fct_purchases"])
LIFETIME_VALUE = dg.AssetKey(["analytics", "customer_lifetime_value"])


class MlConfig(dg.Config):
    """Run config shared by the ml assets; the defaults suit the daily run."""

    reference_date: str | None = Field(
        None, description="ISO day the features are computed as of (default: today, UTC)"
    )
    churn_horizon_days: int = Field(
        90, ge=1, description="churned = no paid purchase in this many days before the reference"
    )

    def reference(self) -> dt.date:
        if self.reference_date:
            return dt.date.fromisoformat(self.reference_date)
        return dt.datetime.now(dt.UTC).date()


def _input(key: dg.AssetKey, columns: tuple[str, ...]) -> dg.AssetIn:
    return dg.AssetIn(key=key, metadata={"columns": list(columns)})


_CUSTOMERS_IN = _input(CUSTOMERS, features.CUSTOMER_COLUMNS)
_PURCHASES_IN = _input(PURCHASES, features.PURCHASE_COLUMNS)


def _consented(
    context: dg.AssetExecutionContext, catalog: IcebergCatalogResource, rows: pa.Table
) -> pa.Table:
    """``rows`` less the customers who withdrew consent to profiling (seed §5.2), as of this
    run: read from the catalog, not an input, so a withdrawal counts whatever job runs."""
    withdrawn = withdrawn_subjects(
        read_consents(catalog.get_catalog()), PROFILING, dt.datetime.now(dt.UTC)
    )
    kept = without_subjects(rows, "user_id", withdrawn)
    context.add_output_metadata({"consent_withdrawn_rows": rows.num_rows - kept.num_rows})
    return kept


@dg.asset(
    key=CUSTOMER_FEATURES,
    ins={
        "customers": _CUSTOMERS_IN,
        "purchases": _PURCHASES_IN,
        "values": _input(LIFETIME_VALUE, features.VALUE_COLUMNS),
    },
    description="One row per customer signed up before the reference day: recency, frequency, "
    "monetary value, average order value, returns and return rate, open carts, tenure, age band "
    "and value segment, all as of the reference day (lakehouse/ml/features.py). Keyed by the "
    "pseudonymous user_id; no direct identifiers.",
    group_name=GROUP,
    owners=list(OWNERS),
    kinds=set(KINDS),
    tags=TAGS,
    metadata=metadata(CUSTOMER_FEATURES),
    deps=[CONSENTS],
)
def customer_features(
    context: dg.AssetExecutionContext,
    config: MlConfig,
    catalog: IcebergCatalogResource,
    customers: pd.DataFrame,
    purchases: pd.DataFrame,
    values: pd.DataFrame,
) -> pa.Table:
    reference = config.reference()
    frame = features.with_value_segment(
        features.customer_features(customers, purchases, reference), values
    )
    table = _consented(context, catalog, to_table(CUSTOMER_FEATURES, frame))
    context.add_output_metadata({"as_of": reference.isoformat(), "dagster/row_count": len(table)})
    return table


@dg.asset(
    key=CHURN_TRAINING_SET,
    ins={"customers": _CUSTOMERS_IN, "purchases": _PURCHASES_IN},
    description="Churn training snapshot: the customer features as of cutoff = reference day "
    "minus the horizon (customers who had paid before it), labelled churned when they paid "
    "nothing in [cutoff, reference). Features see only facts before the cutoff and the label "
    "only facts after it, so nothing leaks. Lifetime value is left out: it covers all time.",
    group_name=GROUP,
    owners=list(OWNERS),
    kinds=set(KINDS),
    tags=TAGS,
    metadata=metadata(CHURN_TRAINING_SET),
    deps=[CONSENTS],
)
def churn_training_set(
    context: dg.AssetExecutionContext,
    config: MlConfig,
    catalog: IcebergCatalogResource,
    customers: pd.DataFrame,
    purchases: pd.DataFrame,
) -> pa.Table:
    reference, horizon = config.reference(), config.churn_horizon_days
    frame = features.churn_training_set(customers, purchases, reference, horizon)
    # An empty set is legitimate (too short a history): its metadata says why; not a failure.
    meta: dict[str, object] = {
        "dagster/row_count": len(frame),
        "reference_date": reference.isoformat(),
        "churn_rate": float(frame["churned"].mean()) if len(frame) else 0.0,
    }
    if frame.empty:
        reason = features.churn_set_empty_reason(customers, purchases, reference, horizon)
        meta["empty_reason"] = reason
        context.log.warning(f"ml/churn_training_set is empty: {reason}")
    context.add_output_metadata(meta)
    return _consented(context, catalog, to_table(CHURN_TRAINING_SET, frame))


def _features_schema():  # a loader: pandera stays out of load-time imports
    from lakehouse.ml.schemas import CUSTOMER_FEATURES as SCHEMA

    return SCHEMA


def build_ml_assets() -> list[dg.AssetsDefinition]:
    return [customer_features, churn_training_set]


def build_ml_checks() -> list[dg.AssetChecksDefinition]:
    """A blocking contract on the features: models never train or score on broken rows."""
    return [
        build_pandera_check(
            CUSTOMER_FEATURES,
            _features_schema,
            description="pandera contract for ml/customer_features: unique user_id, non-negative "
            "counts and days, return rate in [0, 1], known age bands (lakehouse/ml/schemas.py)",
        )
    ]
