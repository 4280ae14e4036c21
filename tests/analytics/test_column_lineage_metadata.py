"""Every dbt model carries its column lineage (traced when the manifest is prepared): the
Dagster UI shows it, and the run sensors send it to the data catalog."""

from __future__ import annotations

import dagster as dg

from lakehouse.definitions import build_definitions
from lakehouse.governance.lineage.dagster_lineage import asset_facts_from


def test_every_dbt_model_column_has_its_lineage_on_the_asset(environment):
    defs = build_definitions(environment)
    graph = defs.resolve_asset_graph()
    models = [k for k in graph.get_all_asset_keys() if k.path[0] == "analytics"]
    assert len(models) >= 5
    for key in models:
        metadata = graph.get(key).metadata
        lineage = metadata["dagster/column_lineage"]
        columns = {c.name for c in metadata["dagster/column_schema"].columns}
        assert set(lineage.deps_by_column) == columns, key
        for deps in lineage.deps_by_column.values():
            assert all(d.asset_key.path[0] in ("staging", "analytics") for d in deps), key
    purchases = graph.get(dg.AssetKey(["analytics", "fct_purchases"])).metadata
    sources = purchases["dagster/column_lineage"].deps_by_column["purchase_id"]
    assert [(d.asset_key, d.column_name) for d in sources] == [
        (dg.AssetKey(["staging", "purchases"]), "purchase_id")
    ]


def test_the_lineage_export_reads_it_from_the_definitions(environment):
    defs = build_definitions(environment)
    facts = asset_facts_from(defs.get_repository_def())("analytics/fct_purchases")
    assert facts is not None and facts.column_lineage
    assert {s.table for sources in facts.column_lineage.values() for s in sources} >= {
        "staging.purchases"
    }
