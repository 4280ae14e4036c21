"""The platform's asset jobs: daily ingest, daily transforms of the current month, the ml refresh."""

from __future__ import annotations

import dagster as dg

RAW_INGEST_JOB = "raw_ingest_job"
DAILY_TRANSFORMS_JOB = "daily_transforms_job"
ML_JOB = "ml_job"

raw_ingest_job = dg.define_asset_job(
    RAW_INGEST_JOB,
    selection=dg.AssetSelection.key_prefixes("raw"),
    description="Extract every Airbyte stream into the raw tables.",
)
# Models that aggregate the whole history (dbt tag `whole_history`, customer_lifetime_value):
# kept out of the transforms job, so one month's run reads only that month's files; the ml job
# rebuilds them before the features that consume them.
WHOLE_HISTORY = dg.AssetSelection.tag("whole_history", "")

# One month (MONTHLY of lakehouse/partitions.py, inferred from the assets; run daily for the
# current one): the partitioned assets replace that month; the unpartitioned ones (users,
# products, dimensions) are rebuilt whole in the same run.
daily_transforms_job = dg.define_asset_job(
    DAILY_TRANSFORMS_JOB,
    selection=dg.AssetSelection.key_prefixes("staging", "analytics") - WHOLE_HISTORY,
    description="Staging (Spark) and analytics (dbt) for one month's partition, or a range of "
    "months; scheduled daily for the current month.",
)
ml_job = dg.define_asset_job(
    ML_JOB,
    selection=dg.AssetSelection.key_prefixes("ml", ["governance", "consents"]) | WHOLE_HISTORY,
    description="Rebuild the whole-history analytics models (customer_lifetime_value) and "
    "read new consent decisions, then the ml features and training set from the analytics "
    "tables, less the subjects who withdrew consent to profiling.",
)

JOBS: list[dg.UnresolvedAssetJobDefinition] = [raw_ingest_job, daily_transforms_job, ml_job]
