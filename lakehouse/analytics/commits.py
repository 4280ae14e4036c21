"""How a dbt model's output becomes an Iceberg commit: the ``WriteRequest`` for a model.

Pure and Dagster-free, so the dbt-duckdb plugin (inside the dbt process) and the tests share it.
The Dagster asset passes its run id and partition key to the dbt process through the
environment variables below; they land in the snapshot summary like the IO manager's do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from lakehouse.iceberg.writes import WriteRequest

RUN_ID_ENV = "DAGSTER_DBT_RUN_ID"
PARTITION_KEY_ENV = "DAGSTER_DBT_PARTITION_KEY"


class ModelConfig(Protocol):
    """dbt's model config object as the plugin receives it: only ``get`` is relied upon."""

    def get(self, key: str, default: Any = None) -> Any: ...


def parse_instant(value: str) -> dt.datetime:
    """An ISO-8601 instant from the dbt vars; a naive one is UTC, as the writer assumes."""
    instant = dt.datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def model_write_request(
    identifier: tuple[str, str], config: ModelConfig, environ: Mapping[str, str]
) -> WriteRequest:
    """Overwrite the model's table, or only its window when the model sets ``partition_window``.

    ``partition_column`` makes the table day-partitioned on that column; with a window, the
    commit replaces exactly the rows in ``[start, end)`` (and refuses rows outside it).
    """
    window_bounds = config.get("partition_window")
    window = None
    if window_bounds:
        start, end = (parse_instant(bound) for bound in window_bounds)
        window = (start, end)
    properties = {"dbt.model": identifier[-1], "dagster.asset-key": "/".join(identifier)}
    if run_id := environ.get(RUN_ID_ENV):
        properties["dagster.run-id"] = run_id
    partition_key = environ.get(PARTITION_KEY_ENV)
    if partition_key and window is not None:
        properties["dagster.partition-key"] = partition_key
    return WriteRequest(
        identifier=identifier,
        mode="overwrite",
        partition_column=config.get("partition_column"),
        window=window,
        partition_label=partition_key,
        snapshot_properties=properties,
    )
