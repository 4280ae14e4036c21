"""Where the lakehouse keeps personal data, as its own declarations say (read-only imports).

Two sources, both the lakehouse's: the column schemas of its assets (columns tagged
``pii: "true"``: direct identifiers, masked for groups without the pii role) and the upkeep's
erasure rules (tables holding a data subject's id, pseudonymous keys included, as GDPR counts
them). A table's quarantine copy (``<table>__quarantine``) holds the same rows, so it follows it.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


@dataclass(frozen=True)
class PersonalData:
    # (namespace, table) -> the columns tagged PII, for every asset table that has any.
    pii_columns: dict[tuple[str, str], tuple[str, ...]]
    # (namespace, table) of every table holding personal data (tagged columns or a subject id).
    tables: frozenset[tuple[str, str]]
    # A table's quarantine copy is named <table><suffix> (lakehouse.wap.quarantine).
    quarantine_suffix: str

    def namespaces(self) -> frozenset[str]:
        return frozenset(ns for ns, _ in self.tables)


def _asset_pii_columns() -> dict[tuple[str, str], tuple[str, ...]]:
    """Columns tagged pii in each asset's ``dagster/column_schema``; the asset key is the table."""
    import dagster as dg

    found: dict[tuple[str, str], tuple[str, ...]] = {}
    # An empty environment builds the embedded runtime: the same asset keys and column schemas
    # as the platform's (the layers share one declaration per table), with no server to reach.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        from lakehouse.definitions import build_definitions

        specs = build_definitions({}).resolve_all_asset_specs()
    for spec in specs:
        schema = spec.metadata.get("dagster/column_schema")
        if schema is None or len(spec.key.path) != 2:
            continue
        columns = tuple(c.name for c in schema.columns if c.tags.get("pii") == "true")
        if columns:
            found[(spec.key.path[0], spec.key.path[1])] = columns
    return found


def _erasure_tables() -> set[tuple[str, str]]:
    from lakehouse.upkeep.rules import pii_tables

    return {tuple(name.split(".", 1)) for name in pii_tables()}  # type: ignore[misc]


def declared() -> PersonalData:
    """The lakehouse's declarations, quarantine copies included."""
    from lakehouse.wap.quarantine import SUFFIX

    columns = _asset_pii_columns()
    tables = set(columns) | _erasure_tables()
    tables |= {(ns, f"{t}{SUFFIX}") for ns, t in set(tables) if not t.endswith(SUFFIX)}
    return PersonalData(pii_columns=columns, tables=frozenset(tables), quarantine_suffix=SUFFIX)
