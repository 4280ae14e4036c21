"""The shared embedded pipeline's shape: asset keys, tables, and what a run leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pyarrow as pa
from pyiceberg.catalog import Catalog

DIMENSIONS = [
    dg.AssetKey(["analytics", "dim_customers"]),
    dg.AssetKey(["analytics", "dim_products"]),
]
FACT = dg.AssetKey(["analytics", "fct_purchases"])
DAILY_REVENUE = dg.AssetKey(["analytics", "daily_revenue"])  # daily, like the fact
LIFETIME_VALUE = dg.AssetKey(["analytics", "customer_lifetime_value"])  # whole history
METRICS = [DAILY_REVENUE, LIFETIME_VALUE]
ANALYTICS_TABLES = ["dim_customers", "dim_products", "fct_purchases", *[k.path[1] for k in METRICS]]


def read_tables(catalog: Catalog) -> dict[str, pa.Table]:
    return {
        name: catalog.load_table(("analytics", name)).scan().to_arrow() for name in ANALYTICS_TABLES
    }


@dataclass
class Pipeline:
    """What the shared run left: results per step, the analytics tables after the first stage
    (v1) and the daily models after the D2 rebuild on the second staging snapshot (v2)."""

    catalog: Catalog
    results: dict[str, dg.ExecuteInProcessResult] = field(default_factory=dict)
    v1: dict[str, pa.Table] = field(default_factory=dict)
    v2: dict[str, pa.Table] = field(default_factory=dict)
    fct_files_before_d2_run: dict[Any, set[str]] = field(default_factory=dict)
    fct_files_after_d2_run: dict[Any, set[str]] = field(default_factory=dict)


def fct_files_by_day(catalog: Catalog) -> dict[Any, set[str]]:
    """fct_purchases data files per partition value (days since epoch)."""
    table = catalog.load_table(("analytics", "fct_purchases"))
    files: dict[Any, set[str]] = {}
    for task in table.scan().plan_files():
        files.setdefault(task.file.partition[0], set()).add(task.file.file_path)
    return files
