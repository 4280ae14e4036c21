"""The staging layer's blocking data contracts: one pandera check per table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from lakehouse.staging.tables import STAGING_TABLES
from lakehouse.wap.gate import build_pandera_check


def _schema(table: str) -> Callable[[], Any]:
    """A loader, so pandera is imported when the check runs, not at code-location load."""

    def load() -> Any:
        from lakehouse.staging.schemas import SCHEMAS

        return SCHEMAS[table]

    return load


def build_staging_checks() -> list[dg.AssetChecksDefinition]:
    """One blocking check per staging table: a failed contract stops everything downstream.

    A daily table's check audits the run's days (keys unique within them), not the table.
    """
    return [
        build_pandera_check(
            table.asset_key,
            _schema(table.contract.table),
            description=f"pandera contract for {table.asset_key.to_user_string()}: exact "
            "columns and types, keys unique, values in range (lakehouse/staging/schemas.py)",
            # Partitioned like its asset: a daily run validates that day's files only.
            partitions_def=table.partitions_def,
        )
        for table in STAGING_TABLES
    ]
