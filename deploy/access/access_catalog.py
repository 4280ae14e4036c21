"""The REST catalog's (Lakekeeper, OpenFGA) desired state, from the access table.

One Lakekeeper role per Keycloak group, whose assignees the sync Job keeps equal to the group's
members; service accounts get their grants as users. Direct reads (pyiceberg, Spark with one's
own token) need the catalog grant and the object policy together: a principal without the pii
role gets `select` only where MinIO also lets it read the objects (namespaces without personal
data), and `describe` where it reads through Trino only, which masks.
"""

from __future__ import annotations

from typing import Any

from access_pii import PersonalData
from access_table import AccessTable, Principal

# Lakekeeper namespace privileges per level; modify implies select and describe.
WRITE = ["create", "modify"]
SELECT = ["select"]
DESCRIBE = ["describe"]


def direct_read(principal: Principal, namespace: str, personal: PersonalData) -> bool:
    """Whether the principal may read the namespace's objects itself (no masking possible)."""
    return principal.pii or namespace not in personal.namespaces()


def namespace_grants(principal: Principal, personal: PersonalData) -> dict[str, list[str]]:
    grants = {}
    for namespace, level in principal.access.items():
        if level == "write":
            grants[namespace] = WRITE
        elif direct_read(principal, namespace, personal):
            grants[namespace] = SELECT
        else:
            grants[namespace] = DESCRIBE
    return dict(sorted(grants.items()))


def catalog_access(table: AccessTable, personal: PersonalData) -> dict[str, Any]:
    """deploy/kustomize/base/catalog/access/catalog-access.json, read by sync_catalog_access.py."""
    every = set(table.namespaces)
    return {
        "warehouse": table.warehouse.name,
        "namespaces": {ns: {"location": table.warehouse.location(ns)} for ns in table.namespaces},
        "roles": {
            group.name: {
                "keycloak_group": group.name,
                "namespaces": namespace_grants(group, personal),
            }
            for group in table.groups
        },
        "service_accounts": {
            service.name: {
                "keycloak_client": service.name,
                # Writers of every namespace may create namespaces (the code creates its own
                # when missing; the sync creates them first, at their named locations).
                "warehouse": ["create"] if set(service.writes()) == every else [],
                "namespaces": namespace_grants(service, personal),
            }
            for service in table.services
        },
    }
