"""The end of ``lakehouse demo``: each table's rows, what the demo published and held back, or
why it stopped and where the engines' log is.

Published and quarantined rows come from the raw materialisations' metadata when they carry
them (``rows_published``, ``rows_quarantined``); otherwise from Iceberg itself, the same for
every engine: the rows added by the demo's commits that ``main`` holds (pyiceberg, Spark and
the dbt plugin all stamp ``dagster.run-id`` on their snapshots), and the rows of the table's
quarantine that the demo's runs put there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import In
from pyiceberg.table import Table
from pyiceberg.table.snapshots import ancestors_of

from lakehouse.cli.console import DemoConsole, log_tail
from lakehouse.cli.inventory import list_tables
from lakehouse.iceberg.commits import summary_properties
from lakehouse.wap.quarantine import RUN_ID, is_quarantine, quarantine_identifier

PUBLISHED, QUARANTINED = "rows_published", "rows_quarantined"
RUN_ID_PROPERTY = "dagster.run-id"


def published_rows(table: Table, run_ids: set[str]) -> int:
    """Rows added to ``main`` by snapshots of the given runs."""
    current = table.current_snapshot()
    if current is None:
        return 0
    total = 0
    for snapshot in ancestors_of(current, table.metadata):
        summary = summary_properties(snapshot)
        if summary.get(RUN_ID_PROPERTY) in run_ids:
            total += int(summary.get("added-records", 0))
    return total


def quarantined_rows(catalog: Catalog, identifier: tuple[str, ...], run_ids: set[str]) -> int:
    """Rows the given runs put in the table's quarantine."""
    try:
        quarantine = catalog.load_table(quarantine_identifier(identifier))
    except NoSuchTableError:
        return 0
    scan = quarantine.scan(row_filter=In(RUN_ID, run_ids), selected_fields=(RUN_ID,))
    return scan.to_arrow().num_rows


def metadata_counts(results: Iterable[dg.ExecuteInProcessResult]) -> dict[str, dict[str, int]]:
    """``rows_published``/``rows_quarantined`` per table, summed over runs (each partition's
    event of a ranged run repeats its step's metadata: counted once per run)."""
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        seen: set[dg.AssetKey] = set()
        for event in result.get_asset_materialization_events():
            if event.asset_key is None or event.asset_key in seen:
                continue
            seen.add(event.asset_key)
            metadata = event.step_materialization_data.materialization.metadata
            name = ".".join(event.asset_key.path)
            for key in (PUBLISHED, QUARANTINED):
                value = metadata.get(key)
                if value is not None and isinstance(value.value, int):
                    table = counts.setdefault(name, {})
                    table[key] = table.get(key, 0) + value.value
    return counts


def report_rows(
    catalog: Catalog, results: Sequence[dg.ExecuteInProcessResult]
) -> list[dict[str, Any]]:
    """One row per table (quarantines excluded): rows now, published and quarantined by the demo."""
    run_ids = {result.run_id for result in results}
    from_metadata = metadata_counts(results)
    rows = []
    for row in list_tables(catalog):
        identifier = (row["namespace"], row["table"])
        if is_quarantine(identifier):
            continue
        name = ".".join(identifier)
        given = from_metadata.get(name, {})
        published = given.get(PUBLISHED)
        if published is None:
            published = published_rows(catalog.load_table(identifier), run_ids)
        quarantined = given.get(QUARANTINED)
        if quarantined is None:
            quarantined = quarantined_rows(catalog, identifier, run_ids)
        rows.append(
            {"table": name, "rows": row["rows"], PUBLISHED: published, QUARANTINED: quarantined}
        )
    return rows


def print_report(
    console: DemoConsole, catalog: Catalog, results: Sequence[dg.ExecuteInProcessResult]
) -> None:
    rows = report_rows(catalog, results)
    width = max([len("table"), *(len(row["table"]) for row in rows)]) + 2
    console.line()
    console.line(f"{'table':<{width}}{'rows':>10}{'published':>12}{'quarantined':>13}")
    for row in rows:
        console.line(
            f"{row['table']:<{width}}{row['rows']:>10,}{row[PUBLISHED]:>12,}{row[QUARANTINED]:>13,}"
        )
    for result in results:
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                console.line(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")


def _root_cause(error: Any) -> str:
    """The innermost cause's first telling line: Spark's wraps the JVM's in a Py4J message."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    lines = [line.strip(" :") for line in str(error.message).splitlines() if line.strip(" :")]
    telling = [line for line in lines if not line.startswith("An error occurred while calling")]
    return (telling or lines or [error.cls_name or "error"])[0][:300]


def failure_lines(result: dg.ExecuteInProcessResult, log_path: Path | None) -> list[str]:
    """Which step failed and why, the checks that failed, and the end of the engines' log."""
    lines = [
        f"  {event.step_key.replace('__', '/')} failed: {_root_cause(event.step_failure_data.error)}"
        for event in result.all_events
        if event.is_step_failure and event.step_key and event.step_failure_data.error
    ]
    lines += [
        f"  check failed: {check.asset_key.to_user_string()} {check.check_name}: "
        f"{check.description or ''}".rstrip(": ")
        for check in result.get_asset_check_evaluations()
        if not check.passed
    ]
    if log_path is None:
        return [*lines, "  (the engines' output is above)"]
    tail = log_tail(log_path)
    return [*lines, f"  last {len(tail)} lines of {log_path}:", *(f"    {line}" for line in tail)]
