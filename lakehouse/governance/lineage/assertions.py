"""Data-quality results as OpenLineage assertions (seed §3.1, point 4: quality in the catalog).

From a pandera contract and the failures ``lakehouse.quality`` reports (every rule is listed,
passed or not), and from dbt's tests in ``run_results.json``. The pandera schema is read, not
imported: pandera is slow to import and the caller already has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openlineage.client.generated.data_quality_assertions_dataset import Assertion

TABLE = "<row>"  # lakehouse.quality's column for a table-wide rule


def _label(check: Any) -> str:
    """How pandera names a check in its failure cases: ``greater_than(0)``, or the given name."""
    return getattr(check, "error", None) or check.name


def pandera_assertions(schema: Any, failures: Iterable[tuple[str, str]]) -> list[Assertion]:
    """One assertion per rule of ``schema`` (types, nulls, uniqueness, checks, table checks);
    ``failures`` are (column, check) pairs as ``lakehouse.quality.Failure`` has them."""
    failed = set(failures)
    found: list[Assertion] = []

    def add(column: str | None, label: str, kind: str) -> None:
        key = (column or TABLE, label)
        found.append(
            Assertion(
                assertion=kind,
                success=key not in failed,
                column=column,
                name=label,
                severity="error",
            )
        )

    for name, column in schema.columns.items():
        add(name, f"dtype('{column.dtype}')", "dtype")
        if not column.nullable:
            add(name, "not_nullable", "not_null")
        if column.unique:
            add(name, "field_uniqueness", "unique")
        for check in column.checks:
            add(name, _label(check), check.name)
    for check in schema.checks:
        add(None, _label(check), check.name)
    known = {(a.column or TABLE, a.name) for a in found}
    for column, label in sorted(
        pair for pair in failed if pair not in known
    ):  # e.g. a missing column
        found.append(
            Assertion(
                assertion=label,
                success=False,
                column=None if column == TABLE else column,
                name=label,
                severity="error",
            )
        )
    return found


def dbt_test_assertions(
    manifest: Mapping[str, Any], run_results: Mapping[str, Any]
) -> dict[str, list[Assertion]]:
    """``<schema>.<model>`` -> the dbt tests run on it (``run_results.json``), pass or not."""
    nodes = manifest.get("nodes", {})
    found: dict[str, list[Assertion]] = {}
    for result in run_results.get("results", []):
        test = nodes.get(result.get("unique_id", ""))
        if not test or test.get("resource_type") != "test":
            continue
        model = nodes.get(test.get("attached_node") or "")
        if model is None:
            continue
        kind = (test.get("test_metadata") or {}).get("name") or "custom_sql"
        table = f"{model['schema']}.{model.get('alias') or model['name']}"
        found.setdefault(table, []).append(
            Assertion(
                assertion=kind,
                success=result.get("status") == "pass",
                column=test.get("column_name") or None,
                name=test["name"],
                severity=(test.get("config") or {}).get("severity", "error").lower(),
                actual=str(result["failures"]) if result.get("failures") is not None else None,
                expected="0",
                content=test.get("compiled_code") or None,
                contentType="sql" if test.get("compiled_code") else None,
            )
        )
    return found
