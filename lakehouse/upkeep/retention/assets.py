"""Data retention as an asset: rows past their table's retention deleted."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import dagster as dg

from lakehouse.upkeep.asset import each_table, upkeep_asset
from lakehouse.upkeep.resource import UpkeepResource
from lakehouse.upkeep.retention.apply import apply_retention


@upkeep_asset("retention", "Deletes rows past their table's retention (raw 90 days, others 365).")
def retention(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    catalog, timeout = upkeep.catalog(), upkeep.settings.commit_timeout_seconds

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        rules = upkeep.rules(identifier)
        result = apply_retention(catalog, identifier, rules, timeout_seconds=timeout)
        return {"rows_deleted": result.rows_deleted, "skipped": int(result.skipped is not None)}

    return dg.MaterializeResult(metadata=dict(each_table(context, upkeep, work)))
