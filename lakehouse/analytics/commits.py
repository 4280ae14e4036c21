"""How a dbt model's output becomes an Iceberg commit: the ``WriteRequest`` for a model.

Pure and Dagster-free, so the dbt-duckdb plugin (inside the dbt process) and the tests share it.
The Dagster asset passes its run id and partition key to the dbt process through the
environment variables below; they land in the snapshot summary like the IO manager's do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from lakehouse.iceberg.write_request import WriteRequest

RUN_ID_ENV = "DAGSTER_DBT_RUN_ID"
PARTITION_KEY_ENV = "DAGSTER_DBT_PARTITION_KEY"
# The run's partition window [start, end) as ISO-8601 instants. Environment, not dbt vars:
# dbt re-parses the whole project whenever --vars change (dbt/macros/partition_window.sql).
WINDOW_START_ENV = "DAGSTER_DBT_WINDOW_START"
WINDOW_END_ENV = "DAGSTER_DBT_WINDOW_END"


class ModelConfig(Protocol):
    """dbt's model config object as the plugin receives it: only ``get`` is relied upon."""

    def get(self, key: str, default: Any = None) -> Any: ...


def parse_instant(value: str) -> dt.datetime:
    """An ISO-8601 instant from the dbt vars; a naive one is UTC, as the writer assumes."""
    instant = dt.datetime.fromisoformat(str(value))
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def window_environment(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """The environment that hands the window ``[start, end)`` to the dbt process (UTC)."""
    return {
        WINDOW_START_ENV: start.astimezone(dt.UTC).isoformat(),
        WINDOW_END_ENV: end.astimezone(dt.UTC).isoformat(),
    }


def run_window(
    config: ModelConfig, environ: Mapping[str, str]
) -> tuple[dt.datetime, dt.datetime] | None:
    """The window a model replaces: none unless it sets ``partition_window``; then the run's
    window from the environment (none: a full rebuild), or explicit bounds given in the config."""
    setting = config.get("partition_window")
    if not setting:
        return None
    if setting is True:
        start, end = environ.get(WINDOW_START_ENV), environ.get(WINDOW_END_ENV)
        if not (start and end):
            return None
        return parse_instant(start), parse_instant(end)
    first, last = (parse_instant(bound) for bound in setting)
    return first, last


def model_write_request(
    identifier: tuple[str, str], config: ModelConfig, environ: Mapping[str, str]
) -> WriteRequest:
    """Overwrite the model's table, or only the run's window when it sets ``partition_window``.

    ``partition_column`` makes the table day-partitioned on that column; with a window, the
    commit replaces exactly the rows in ``[start, end)`` (and refuses rows outside it).
    """
    window = run_window(config, environ)
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
