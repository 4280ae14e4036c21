"""What every upkeep asset shares: its key and group, and the visit of every table.

Each room (``compaction/``, ``snapshots/``, ...) wraps its planners and executors in thin assets
built with ``upkeep_asset``. Each asset visits every table, records numbers as metadata, and
fails the run (after visiting all tables) when any table failed, naming them, so one bad table
never hides the others.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

from collections import Counter
from collections.abc import Callable
from typing import Any

import dagster as dg

from lakehouse.upkeep.resource import UpkeepResource

GROUP = "upkeep"


def upkeep_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["upkeep", name])


def each_table(
    context: dg.AssetExecutionContext,
    upkeep: UpkeepResource,
    work: Callable[[tuple[str, ...]], dict[str, int]],
) -> Counter[str]:
    """Run ``work`` per table, summing its counts; raise once at the end if any table failed."""
    totals: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for identifier in upkeep.tables():
        try:
            totals.update(work(identifier))
            totals["tables"] += 1
        except Exception as error:  # collected and reported below, after every table ran
            context.log.exception("%s failed on %s", context.asset_key.to_user_string(), identifier)
            failures[".".join(identifier)] = f"{type(error).__name__}: {error}"
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} table(s) failed: {', '.join(sorted(failures))}",
            metadata={"failures": dg.MetadataValue.json(failures), **dict(totals)},
        )
    return totals


def upkeep_asset(name: str, description: str, **kwargs: Any) -> Callable[..., dg.AssetsDefinition]:
    return dg.asset(
        key=upkeep_key(name),
        group_name=GROUP,
        kinds={"iceberg"},
        description=description,
        **kwargs,
    )
