"""The loopback warehouse, emptied between whole-graph runs (tests/platform, bench/platform.py).

The graph is incremental: a run on a warehouse holding an earlier run's tables rightly adds to
them, so a comparison of runtimes or a timed run starts from empty tables.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog

GRAPH_NAMESPACES = ("raw", "staging", "analytics", "ml")


def empty_graph_tables(catalog: Catalog) -> None:
    """Drop every view and purge every table of the graph's namespaces (they stay)."""
    for namespace in GRAPH_NAMESPACES:
        if (namespace,) not in catalog.list_namespaces():
            continue
        for view in catalog.list_views(namespace):
            catalog.drop_view(view)
        for table in catalog.list_tables(namespace):
            catalog.purge_table(table)
