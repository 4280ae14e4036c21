"""Trino's file-based system access control, evaluated as the coordinator does.

From the rules' documentation (security/file-system-access-control): each section is read top
to bottom and the first rule that matches applies; ``user``, ``group``, ``catalog``, ``schema``
and ``table`` are regular expressions matched against the whole name (Java's ``matches``), a
group rule matching when any of the user's groups does; no matching rule means no access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Identity:
    user: str
    groups: frozenset[str] = frozenset()


def _matches(rule: dict[str, Any], who: Identity, **names: str) -> bool:
    if not re.fullmatch(rule.get("user", ".*"), who.user):
        return False
    group = rule.get("group")
    if group is not None and not any(re.fullmatch(group, g) for g in who.groups):
        return False
    return all(re.fullmatch(rule.get(key, ".*"), value) for key, value in names.items())


def _first(rules: list[dict[str, Any]], who: Identity, **names: str) -> dict[str, Any] | None:
    return next((r for r in rules if _matches(r, who, **names)), None)


def catalog_access(rules: dict[str, Any], who: Identity, catalog: str) -> str:
    rule = _first(rules.get("catalogs", []), who, catalog=catalog)
    return "none" if rule is None else rule["allow"]


def table_privileges(
    rules: dict[str, Any], who: Identity, catalog: str, schema: str, table: str
) -> set[str]:
    """What the user may do on the table, the catalog rule's limit applied."""
    allow = catalog_access(rules, who, catalog)
    if allow == "none":
        return set()
    rule = _first(rules.get("tables", []), who, catalog=catalog, schema=schema, table=table)
    privileges = set() if rule is None else set(rule["privileges"])
    return privileges & {"SELECT"} if allow == "read-only" else privileges


def column_masks(
    rules: dict[str, Any], who: Identity, catalog: str, schema: str, table: str
) -> dict[str, str]:
    rule = _first(rules.get("tables", []), who, catalog=catalog, schema=schema, table=table)
    if rule is None:
        return {}
    return {c["name"]: c["mask"] for c in rule.get("columns", []) if "mask" in c}


def schema_owner(rules: dict[str, Any], who: Identity, catalog: str, schema: str) -> bool:
    rule = _first(rules.get("schemas", []), who, catalog=catalog, schema=schema)
    return bool(rule and rule["owner"])


def query_access(rules: dict[str, Any], who: Identity) -> set[str]:
    rule = _first(rules.get("queries", []), who)
    return set() if rule is None else set(rule["allow"])
