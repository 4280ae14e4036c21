"""OpenLineage events for a finished Dagster run: one job run per asset it planned (COMPLETE
when materialised, FAIL when its step failed) and one per check evaluation.

What the event log does not hold (owners, tags, upstream tables, column lineage, location)
comes from ``describe``, built from the code location's asset definitions
(``asset_facts_from``) so the events say what the UI shows.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import attr
import dagster as dg
from openlineage.client.event_v2 import RunEvent as LineageEvent
from openlineage.client.event_v2 import RunState
from openlineage.client.generated.data_quality_assertions_dataset import Assertion
from pyiceberg.catalog import Catalog

from lakehouse.governance.dagster_runs import FinishedRun, RunEvent
from lakehouse.governance.lineage.columns import ColumnLineage, ColumnSource, column_lineage_facet
from lakehouse.governance.lineage.describe import describe_materialization
from lakehouse.governance.lineage.events import ASSET, UPKEEP, check_events, materialization_events
from lakehouse.governance.lineage.facets import TableDescription

ASSERTIONS_METADATA = "lakehouse/quality_assertions"  # a check's rules (assertions.py), as JSON


@dataclass(frozen=True)
class AssetFacts:
    table: str  # namespace.table
    description: str | None = None
    owners: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    inputs: Sequence[str] = ()  # upstream tables
    column_lineage: ColumnLineage | None = None
    job_type: str = ASSET


Describe = Callable[[str], AssetFacts | None]
Locate = Callable[[str], str]


def _lineage(value: object) -> ColumnLineage | None:
    if not isinstance(value, dg.TableColumnLineage):
        return None
    return {
        column: [ColumnSource(".".join(d.asset_key.path[-2:]), d.column_name) for d in deps]
        for column, deps in value.deps_by_column.items()
    }


def asset_facts_from(repository: dg.RepositoryDefinition, upkeep_groups=("upkeep",)) -> Describe:
    """``describe`` from the code location's definitions (owners, tags, deps, metadata)."""
    graph = repository.asset_graph

    @functools.cache
    def describe(key: str) -> AssetFacts | None:
        asset_key = dg.AssetKey.from_user_string(key)
        if not graph.has(asset_key):
            return None
        node = graph.get(asset_key)
        metadata = node.metadata or {}
        table = metadata.get("dagster/table_name")
        # <catalog>.<namespace>.<table> in the UI; the events name namespace.table.
        name = str(getattr(table, "value", table) or "") or ".".join(asset_key.path)
        return AssetFacts(
            table=".".join(name.split(".")[-2:]),
            description=node.description,
            owners=tuple(node.owners),
            tags={k: v for k, v in node.tags.items() if not k.startswith("dagster/")},
            inputs=tuple(".".join(k.path[-2:]) for k in sorted(node.parent_keys)),
            column_lineage=_lineage(metadata.get("dagster/column_lineage")),
            job_type=UPKEEP if node.group_name in upkeep_groups else ASSET,
        )

    return describe


def catalog_locator(catalog: Catalog, fallback_root: str) -> Locate:
    """A table's location from the catalog; a table not created yet gets its likely place."""

    @functools.cache
    def locate(table: str) -> str:
        try:
            return catalog.load_table(tuple(table.split("."))).location()
        except Exception:  # missing table or catalog hiccup: lineage still names the dataset
            return f"{fallback_root.rstrip('/')}/{table.replace('.', '/')}"

    return locate


def assertions_metadata(assertions: Sequence[Assertion]) -> dict[str, dg.MetadataValue]:
    """A check's assertions as its metadata, which the run sensor turns into the OpenLineage
    ``dataQualityAssertions`` facet."""
    items = [
        {k: v for k, v in attr.asdict(a, recurse=True).items() if v is not None and v != {}}
        for a in assertions
    ]
    return {ASSERTIONS_METADATA: dg.MetadataValue.json(items)}


def _assertions(event: RunEvent) -> list[Assertion]:
    raw = event.metadata.get(ASSERTIONS_METADATA)
    raw = getattr(raw, "value", raw)
    if isinstance(raw, str):
        raw = json.loads(raw)
    return [Assertion(**item) for item in raw or []]


def _facts(describe: Describe, key: str) -> AssetFacts:
    return describe(key) or AssetFacts(table=".".join(key.split("/")[-2:]))


def run_lineage_events(
    run: FinishedRun, namespace: str, describe: Describe, locate: Locate
) -> list[LineageEvent]:
    """Every OpenLineage event the run stands for, in time order."""
    starts = {e.step_key: e.at for e in run.events if e.kind == "STEP_START"}
    failures = {e.step_key: e for e in run.events if e.kind == "STEP_FAILURE"}
    done = {e.asset_key: e for e in run.events if e.kind == "ASSET_MATERIALIZATION"}
    planned = [e for e in run.events if e.kind == "ASSET_MATERIALIZATION_PLANNED"]
    planned += [e for e in done.values() if e.asset_key not in {p.asset_key for p in planned}]
    out: list[LineageEvent] = []
    for plan in planned:
        key = plan.asset_key or ""
        materialized = done.get(key)
        failure = failures.get(materialized.step_key if materialized else plan.step_key)
        if materialized is None and failure is None:
            continue  # skipped or not reached: nothing ran for it
        facts = _facts(describe, key)
        step = (materialized or failure or plan).step_key
        started = starts.get(step) or plan.at
        ended = (materialized or failure or plan).at
        output = describe_materialization(
            facts.table,
            locate(facts.table),
            materialized.metadata if materialized else {},
            description=facts.description,
            owners=facts.owners,
            tags=facts.tags,
        )
        lineage = facts.column_lineage
        out += materialization_events(
            namespace, run.run_id, run.job_name, key, started, ended,
            succeeded=materialized is not None,
            output=output,
            inputs=[TableDescription(t, locate(t)) for t in facts.inputs],
            column_lineage=column_lineage_facet(lineage, locate) if lineage else None,
            error=failure.error if failure and materialized is None else None,
            job_type=facts.job_type,
        )  # fmt: skip
    for check in (e for e in run.events if e.kind == "ASSET_CHECK_EVALUATION"):
        key = check.asset_key or ""
        facts = _facts(describe, key)
        table = TableDescription(facts.table, locate(facts.table), owners=facts.owners)
        out += check_events(
            namespace, run.run_id, run.job_name, key, check.check_name or "check", check.at,
            passed=bool(check.passed), table=table, assertions=_assertions(check),
        )  # fmt: skip
    return sorted(out, key=lambda e: (e.eventTime, e.eventType != RunState.START))
