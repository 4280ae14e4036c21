"""Column lineage of the dbt models, from their compiled SQL (sqlglot) and the manifest.

The manifest's documented columns of sources and models give sqlglot the schemas it needs to
expand ``select *``; each model column is traced back through its CTEs to the columns of the
sources and models it reads. Compiled SQL comes from the manifest of ``dbt compile`` (or
``build``), or from the files under ``target/.../compiled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from lakehouse.governance.lineage.columns import ColumnLineage, ColumnSource

_DIALECTS = {"duckdb": "duckdb", "trino": "trino"}


class DbtLineageError(ValueError):
    """A model's SQL is missing or cannot be traced; the message names the model."""


def _relations(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = list(manifest.get("sources", {}).values()) + [
        n for n in manifest.get("nodes", {}).values() if n.get("resource_type") == "model"
    ]
    return {n["unique_id"]: n for n in nodes}


def _table_name(node: Mapping[str, Any]) -> str:
    return f"{node['schema']}.{node.get('alias') or node.get('identifier') or node['name']}"


def _schema(relations: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """sqlglot's nested schema {catalog: {schema: {table: {column: type}}}} from the manifest."""
    schema: dict[str, Any] = {}
    for node in relations.values():
        table = exp.to_table(node["relation_name"])
        columns = {name: c.get("data_type") or "varchar" for name, c in node["columns"].items()}
        schema.setdefault(table.catalog, {}).setdefault(table.db, {})[table.name] = columns
    return schema


def compiled_sql(manifest: Mapping[str, Any], node: Mapping[str, Any], project_dir: Path) -> str:
    if node.get("compiled_code"):
        return node["compiled_code"]
    path = node.get("compiled_path")
    if path and (project_dir / path).is_file():
        return (project_dir / path).read_text()
    raise DbtLineageError(
        f"dbt model {node['name']} has no compiled SQL: run `dbt compile` (or build) first"
    )


def _is_identity(node: Node) -> bool:
    for step in node.walk():
        expression = step.expression
        if isinstance(expression, exp.Alias):
            expression = expression.this
        if not isinstance(expression, exp.Column | exp.Table):
            return False
    return True


def _sources(node: Node, tables: Mapping[tuple[str, str, str], str]) -> list[ColumnSource]:
    identity = _is_identity(node)
    found = []
    for step in node.walk():
        if step.downstream or not isinstance(step.expression, exp.Table):
            continue
        table = step.expression
        name = tables.get((table.catalog, table.db, table.name))
        if name is not None:
            column = exp.to_column(step.name).name
            found.append(ColumnSource(name, column, identity))
    return sorted(set(found))


def dbt_column_lineage(
    manifest: Mapping[str, Any], project_dir: Path | None = None
) -> dict[str, ColumnLineage]:
    """``analytics.<model>`` -> each documented column -> the input columns it comes from."""
    dialect = _DIALECTS.get(manifest.get("metadata", {}).get("adapter_type", ""))
    relations = _relations(manifest)
    schema = _schema(relations)
    tables = {
        (t.catalog, t.db, t.name): _table_name(node)
        for node in relations.values()
        for t in [exp.to_table(node["relation_name"])]
    }
    result: dict[str, ColumnLineage] = {}
    for node in relations.values():
        if node["resource_type"] != "model":
            continue
        sql = compiled_sql(manifest, node, project_dir or Path("."))
        try:
            expression = qualify(
                sqlglot.parse_one(sql, dialect=dialect), schema=schema, dialect=dialect
            )
            scope = build_scope(expression)
            result[_table_name(node)] = {
                column: _sources(
                    lineage(column, expression, schema=schema, dialect=dialect, scope=scope),
                    tables,
                )
                for column in node["columns"]
            }
        except (sqlglot.errors.SqlglotError, ValueError) as error:
            raise DbtLineageError(
                f"cannot trace the columns of dbt model {node['name']}: {error}"
            ) from None
    return result
