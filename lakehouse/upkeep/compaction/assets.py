"""Compaction as an asset: every table's small files bin-packed, by pyiceberg or the engine."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import dagster as dg

from lakehouse.upkeep.asset import each_table, upkeep_asset
from lakehouse.upkeep.compaction.bin_packing import compact_table
from lakehouse.upkeep.compaction.engines import compact_with_engine
from lakehouse.upkeep.resource import UpkeepResource


@upkeep_asset(
    "compaction", "Bin-packs partitions' small data files into files near the target size."
)
def compaction(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    settings, catalog = upkeep.settings, upkeep.catalog()

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        rules = upkeep.rules(identifier)
        if settings.upkeep_compaction_engine != "pyiceberg":
            statements = compact_with_engine(catalog, identifier, rules, settings)
            return {"statements": len(statements), "tables_compacted": int(bool(statements))}
        result = compact_table(
            catalog, identifier, rules, timeout_seconds=settings.commit_timeout_seconds
        )
        return {
            "tables_compacted": int(result.files_added > 0),
            "files_removed": result.files_removed,
            "files_added": result.files_added,
            "bytes_rewritten": result.bytes_rewritten,
        }

    return dg.MaterializeResult(metadata=dict(each_table(context, upkeep, work)))
