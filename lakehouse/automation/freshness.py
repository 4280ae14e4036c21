"""How fresh each layer must be, in one place; definitions.py applies it to every asset.

A layer is the asset key's first component (its Iceberg namespace). Daily layers warn after a
day and fail after a day plus a grace period for the run itself; upkeep assets follow their
own schedules (lakehouse/upkeep/jobs.py). A new layer without a policy fails at load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
RUN_GRACE = 6 * HOUR  # a daily run that starts late or runs long is not yet stale


def _window(expected: dt.timedelta, grace: dt.timedelta) -> dg.FreshnessPolicy:
    """Warn once a refresh is overdue, fail once it is overdue by more than the grace."""
    return dg.FreshnessPolicy.time_window(fail_window=expected + grace, warn_window=expected)


DAILY = _window(DAY, RUN_GRACE)
LAYER_FRESHNESS: dict[str, dg.FreshnessPolicy] = {
    "raw": DAILY,  # the daily ingest schedule
    # The daily transforms schedule rebuilds the current month's partition every night; Dagster
    # judges a partitioned asset by its latest materialisation of any partition.
    "staging": DAILY,
    "analytics": DAILY,
    # Features feed weekly retraining and daily scoring: a missed day warns, a week fails.
    "ml": dg.FreshnessPolicy.time_window(fail_window=7 * DAY, warn_window=2 * DAY),
    "upkeep": DAILY,  # retention, compaction, expiry, restore check, erasure: nightly
    # The consents, read before each ml run: a withdrawal reaches the features as fast.
    "governance": dg.FreshnessPolicy.time_window(fail_window=7 * DAY, warn_window=2 * DAY),
}
# Upkeep assets on another cadence than nightly (lakehouse/upkeep/jobs.py's crons).
ASSET_FRESHNESS: dict[str, dg.FreshnessPolicy] = {
    "upkeep/table_health": _window(30 * dt.timedelta(minutes=1), 30 * dt.timedelta(minutes=1)),
    "upkeep/backup": _window(HOUR, HOUR),  # hourly backups; the RPO is one hour
    "upkeep/orphan_files": _window(7 * DAY, DAY),  # weekly
}


def layer_of(key: dg.AssetKey) -> str:
    return key.path[0]


def freshness_policy(key: dg.AssetKey) -> dg.FreshnessPolicy:
    """The asset's own policy if it has one, else its layer's."""
    if (policy := ASSET_FRESHNESS.get(key.to_user_string())) is not None:
        return policy
    try:
        return LAYER_FRESHNESS[layer_of(key)]
    except KeyError:
        raise ValueError(
            f"{key.to_user_string()}: no freshness policy for layer {layer_of(key)!r}; "
            "add it to lakehouse/automation/freshness.py"
        ) from None


def _with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(freshness_policy=freshness_policy(spec.key))


def apply_freshness(
    assets: Iterable[dg.AssetsDefinition | dg.AssetSpec],
) -> Sequence[dg.AssetsDefinition | dg.AssetSpec]:
    """Every asset (single, multi and dbt assets alike) with its layer's freshness policy."""
    return dg.map_asset_specs(_with_freshness, list(assets))
