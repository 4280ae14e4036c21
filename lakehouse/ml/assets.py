"""The ml assets: customer features for scoring and a churn training set, both in Iceberg.

Thin wrappers over ``lakehouse/ml/features.py``. The analytics tables arrive through the
Iceberg IO manager as record batches, one data file at a time, projected to the columns used,
and go through the features in pandas chunks: memory stays bounded at ten million purchases.
``fct_purchases`` is partitioned and these assets are not, so Dagster maps the input to all its
partitions and the IO manager reads the whole table (no ``partition_expr`` to filter on).
"""

# No `from __future__ import annotations`: Dagster reads the parameter annotations itself.
import datetime as dt
from collections.abc import Iterable, Iterator

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
# Rows per pandas chunk: a purchase is ≈ 50 bytes there (six numbers), a customer ≈ 200 (the
# age band and, once scored, a dozen columns); either way ≈ 100 MB a chunk.
PURCHASE_CHUNK_ROWS = 2_000_000
CUSTOMER_CHUNK_ROWS = 500_000


def _frames(reader: pa.RecordBatchReader, rows: int) -> Iterator[pd.DataFrame]:
    """``reader``'s rows as pandas frames of about ``rows`` rows (one, empty, if it has none)."""
    pending: list[pa.RecordBatch] = []
    pending_rows, yielded = 0, False
    for batch in reader:
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= rows:
            yield pa.Table.from_batches(pending, reader.schema).to_pandas()
            pending, pending_rows, yielded = [], 0, True
    if pending or not yielded:
        yield pa.Table.from_batches(pending, reader.schema).to_pandas()


def _totals(totals: features.PurchaseTotals, purchases: pa.RecordBatchReader) -> None:
    for chunk in _frames(purchases, PURCHASE_CHUNK_ROWS):
        totals.add(chunk)


def _withdrawn(catalog: IcebergCatalogResource) -> frozenset[str]:
    """Customers who withdrew consent to profiling (seed §5.2), as of this run: read from the
    catalog, not an input, so a withdrawal counts whatever job runs."""
    return withdrawn_subjects(
        read_consents(catalog.get_catalog()), PROFILING, dt.datetime.now(dt.UTC)
    )


def _collect(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    parts: Iterable[pd.DataFrame],
    withdrawn: frozenset[str],
) -> pa.Table:
    """The chunks as one Arrow table (≈ 90 bytes a row, against ≈ 200 as pandas), less the
    customers who withdrew consent, with the row counts in the output's metadata."""
    tables, dropped = [], 0
    for frame in parts:
        chunk = to_table(key, frame)
        kept = without_subjects(chunk, "user_id", withdrawn)
        dropped += chunk.num_rows - kept.num_rows
        tables.append(kept)
    table = pa.concat_tables(tables)
    context.add_output_metadata(
        {"consent_withdrawn_rows": dropped, "dagster/row_count": table.num_rows}
    )
    return table


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
    customers: pa.RecordBatchReader,
    purchases: pa.RecordBatchReader,
    values: pa.Table,
) -> pa.Table:
    reference = config.reference()
    totals = features.PurchaseTotals(reference)
    _totals(totals, purchases)
    # Segments as categories: a few distinct labels, not one string object per customer.
    segments = features.value_segments(values.to_pandas(strings_to_categorical=True))
    rows = (
        features.with_segment(features.customer_rows(chunk, totals), segments)
        for chunk in _frames(customers, CUSTOMER_CHUNK_ROWS)
    )
    table = _collect(context, CUSTOMER_FEATURES, rows, _withdrawn(catalog))
    context.add_output_metadata({"as_of": reference.isoformat()})
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
    customers: pa.RecordBatchReader,
    purchases: pa.RecordBatchReader,
) -> pa.Table:
    reference, horizon = config.reference(), config.churn_horizon_days
    totals = features.churn_totals(reference, horizon)
    _totals(totals, purchases)
    counts = {"customers": 0, "signed_up": 0, "rows": 0}

    def rows() -> Iterator[pd.DataFrame]:
        for chunk in _frames(customers, CUSTOMER_CHUNK_ROWS):
            counts["customers"] += len(chunk)
            counts["signed_up"] += features.signed_up_before(chunk, totals.as_of)
            frame = features.churn_rows(chunk, totals)
            counts["rows"] += len(frame)
            yield frame

    table = _collect(context, CHURN_TRAINING_SET, rows(), _withdrawn(catalog))
    # An empty set is legitimate (too short a history): its metadata says why; not a failure.
    meta: dict[str, object] = {"reference_date": reference.isoformat()}
    if table.num_rows:
        meta["churn_rate"] = float(pc.mean(table["churned"].cast(pa.int64())).as_py())
    else:
        reason = (
            f"all {counts['rows']} customers of the set withdrew consent to profiling"
            if counts["rows"]
            else totals.empty_reason(counts["customers"], counts["signed_up"])
        )
        meta["churn_rate"] = 0.0
        meta["empty_reason"] = reason
        context.log.warning(f"ml/churn_training_set is empty: {reason}")
    context.add_output_metadata(meta)
    return table


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
