"""Trino's file-based system access control, from the access table and the PII declarations.

Trino reads the rules top to bottom and applies the first that matches (a rule matches a
group when any of the user's groups does), so each principal's rules come in the table's order,
and within a principal the narrow rules (a PII table, its metadata tables) precede the
namespace-wide one. No rule, no access.
"""

from __future__ import annotations

import re
from typing import Any

from access_pii import PersonalData
from access_table import AccessTable, Principal

PRIVILEGES = {
    "read": ["SELECT"],
    "write": ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP"],
}
# NULL coerces to every column type (strings, numbers, structs), so one mask fits all PII
# columns and reveals nothing, not even which rows share a value.
MASK = "NULL"


def literal(name: str) -> str:
    """A regular expression matching exactly ``name`` (names here never hold a metacharacter
    but a dot; re.escape would also escape hyphens, legal but unreadable in Java's syntax)."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", name)


def _who(principal: Principal) -> dict[str, str]:
    if principal.trino_user:
        return {"user": literal(principal.trino_user)}
    return {"group": literal(principal.name)}


def _pii_tables(personal: PersonalData, namespace: str) -> list[tuple[str, tuple[str, ...]]]:
    return sorted((t, cols) for (ns, t), cols in personal.pii_columns.items() if ns == namespace)


def _table_rules(table: AccessTable, personal: PersonalData) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    suffix = literal(personal.quarantine_suffix)
    for principal in table.principals:
        who = _who(principal)
        for namespace, level in principal.access.items():
            where = {"catalog": literal(table.trino_catalog), "schema": literal(namespace)}
            privileges = PRIVILEGES[level]
            if not principal.pii:
                for name, columns in _pii_tables(personal, namespace):
                    tables = f"{literal(name)}({suffix})?"
                    # $files and $partitions carry column bounds: no mask can apply to them.
                    rules.append({**who, **where, "table": f"{tables}\\$.*", "privileges": []})
                    rules.append(
                        {
                            **who,
                            **where,
                            "table": tables,
                            "privileges": privileges,
                            "columns": [{"name": c, "mask": MASK} for c in sorted(columns)],
                        }
                    )
            rules.append({**who, **where, "privileges": privileges})
    return rules


def trino_rules(table: AccessTable, personal: PersonalData) -> dict[str, Any]:
    """The rules.json of the coordinator (deploy/kustomize/base/engines/trino-access-rules.json)."""
    catalog = literal(table.trino_catalog)
    catalogs = [
        {**_who(p), "catalog": catalog, "allow": "all" if p.writes() else "read-only"}
        for p in table.principals
        if p.access
    ]
    # Everyone may read the system catalog (queries, nodes); nothing else exists for them.
    catalogs.append({"catalog": "system", "allow": "read-only"})
    schemas = [
        {**_who(p), "catalog": catalog, "schema": literal(ns), "owner": True}
        for p in table.principals
        for ns in p.writes()
    ]
    admins = [
        {**_who(p), "allow": ["execute", "view", "kill"]} for p in table.principals if p.admin
    ]
    return {
        "catalogs": catalogs,
        "schemas": schemas,
        "tables": _table_rules(table, personal),
        # Everyone runs queries and sees or kills their own; admins see and kill all.
        "queries": [*admins, {"allow": ["execute"]}],
        # No impersonation rules: every client runs as the user its token names.
        "impersonation": [],
    }
