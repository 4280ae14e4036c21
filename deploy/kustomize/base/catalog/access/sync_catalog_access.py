"""Make the REST catalog's permissions what deploy/access/access.yaml says (catalog-access.json).

Runs in the CronJob catalog-access (data-platform-governance), as the Keycloak client
`lakekeeper-access`, which bootstraps Lakekeeper as its operator the first time. Each run,
idempotently: creates the warehouse and the namespaces at their named locations, one role per
Keycloak group whose assignees are the group's members, and the namespace grants of every role
and service account; grants the table no longer lists are revoked. Lakekeeper's OpenFGA
backend ignores token groups (its roles are its own), hence this mirror of Keycloak's
memberships; a change there lands within one schedule. Every change applied is an audit row
(``permission.change``, seed §5.1) when ``LAKEHOUSE_AUDIT_URL`` is set: the job then needs the
lakehouse's audit library (the code location's image); otherwise the standard library only.
"""

from __future__ import annotations

import json
import os
import ssl
import string
import sys
from collections.abc import Mapping
from typing import Any

from catalog_access_clients import Http, Keycloak, Lakekeeper, SyncError

# Privileges this job owns on namespaces; ownership and grant-management stay as they are.
MANAGED = frozenset({"describe", "select", "create", "modify"})
Assignment = tuple[str, str, str]  # (privilege, "user" or "role", id)
AUDIT_ACTOR = "service:catalog-access"  # the CronJob, as the audit trail names it


def _key(assignment: dict) -> Assignment:
    kind = "user" if "user" in assignment else "role"
    return (assignment["type"], kind, assignment[kind])


def _body(key: Assignment) -> dict:
    privilege, kind, ident = key
    return {"type": privilege, kind: ident}


def diff(current: list[dict], desired: set[Assignment], managed: frozenset[str]):
    """(writes, deletes) turning the current assignments of the managed types into ``desired``."""
    have = {_key(a) for a in current if a["type"] in managed}
    writes = [_body(k) for k in sorted(desired - have)]
    deletes = [_body(k) for k in sorted(have - desired)]
    return writes, deletes


def desired_grants(
    access: dict, role_ids: dict[str, str], service_users: dict[str, str]
) -> dict[str, set[Assignment]]:
    """Namespace -> the managed assignments access.yaml implies."""
    grants: dict[str, set[Assignment]] = {ns: set() for ns in access["namespaces"]}
    for role, spec in access["roles"].items():
        for ns, privileges in spec["namespaces"].items():
            grants[ns] |= {(p, "role", role_ids[role]) for p in privileges}
    for service, spec in access["service_accounts"].items():
        for ns, privileges in spec["namespaces"].items():
            grants[ns] |= {(p, "user", service_users[service]) for p in privileges}
    return grants


def user_id(subject: str) -> str:
    """Lakekeeper's id of a Keycloak user (LAKEKEEPER__OPENID_SUBJECT_CLAIM=sub)."""
    return f"oidc~{subject}"


def sync(access: dict, warehouse_body: dict, lakekeeper: Lakekeeper, keycloak: Keycloak) -> None:
    lakekeeper.ensure_bootstrapped()
    warehouse = lakekeeper.ensure_warehouse(access["warehouse"], warehouse_body)
    base = lakekeeper.namespaces_url(access["warehouse"])
    namespaces = {
        ns: lakekeeper.ensure_namespace(base, ns, spec["location"])
        for ns, spec in access["namespaces"].items()
    }
    roles = {name: lakekeeper.ensure_role(name) for name in access["roles"]}
    for name, spec in access["roles"].items():
        members = {
            ("assignee", "user", user_id(m)) for m in keycloak.group_members(spec["keycloak_group"])
        }
        current = lakekeeper.assignments("role", roles[name])
        membership = diff(current, members, frozenset({"assignee"}))
        lakekeeper.update("role", roles[name], *membership, name=name)
    services = {
        name: user_id(keycloak.service_account(spec["keycloak_client"]))
        for name, spec in access["service_accounts"].items()
    }
    for ns, desired in desired_grants(access, roles, services).items():
        current = lakekeeper.assignments("namespace", namespaces[ns])
        lakekeeper.update("namespace", namespaces[ns], *diff(current, desired, MANAGED), name=ns)
    wanted = {
        (p, "user", services[name])
        for name, spec in access["service_accounts"].items()
        for p in spec["warehouse"]
    }
    current = lakekeeper.assignments("warehouse", warehouse)
    lakekeeper.update(
        "warehouse", warehouse, *diff(current, wanted, MANAGED), name=access["warehouse"]
    )


def audit_records(changes: list[dict], at: Any, actor: str) -> list[Any]:
    """One audit row per changed object (seed §5.1: permission changes), in the lakehouse's
    audit trail: the CronJob runs in the code location's image, so the library is there."""
    from lakehouse.governance.audit.chain import AuditRecord

    return [
        AuditRecord(
            action="permission.change",
            object=f"lakekeeper:{change['kind']}/{change['name']}",
            actor=actor,
            at=at,
            details={
                "id": change["id"],
                "granted": change["granted"],
                "revoked": change["revoked"],
                "source": "deploy/access/access.yaml and the Keycloak groups",
            },
        )
        for change in changes
    ]


def record_changes(changes: list[dict], env: Mapping[str, str]) -> int:
    """Append the applied changes to the audit store of ``LAKEHOUSE_AUDIT_URL``; 0 when unset."""
    if not changes or not env.get("LAKEHOUSE_AUDIT_URL"):
        return 0
    import datetime as dt

    from lakehouse.governance.audit.configured import open_audit_store

    store = open_audit_store(
        env["LAKEHOUSE_AUDIT_URL"], password=env.get("LAKEHOUSE_AUDIT_PASSWORD") or None
    )
    try:
        return store.append(audit_records(changes, dt.datetime.now(dt.UTC), AUDIT_ACTOR))
    finally:
        store.close()


def main() -> int:
    env = os.environ
    context = ssl.create_default_context(cafile=env.get("CA_BUNDLE") or None)
    with open(env.get("CATALOG_ACCESS_FILE", "/etc/catalog-access/catalog-access.json")) as f:
        access = json.load(f)
    with open(env.get("WAREHOUSE_FILE", "/etc/catalog-access/warehouse.json")) as f:
        try:
            warehouse_body = json.loads(string.Template(f.read()).substitute(env))
        except KeyError as missing:
            print(
                f"catalog-access: warehouse.json needs {missing} in the environment",
                file=sys.stderr,
            )
            return 1
    http = Http(ssl_context=context)
    # The realm's issuer as Lakekeeper validates it (lakekeeper-config, per overlay).
    keycloak_url, realm = env["LAKEKEEPER__OPENID_PROVIDER_URI"].rstrip("/").split("/realms/")
    keycloak = Keycloak(http, keycloak_url, realm)
    try:
        http.token = keycloak.token(
            env["CLIENT_ID"], env["CLIENT_SECRET"], env.get("SCOPE", "lakekeeper")
        )
        lakekeeper = Lakekeeper(http, env["LAKEKEEPER_URL"])
        sync(access, warehouse_body, lakekeeper, keycloak)
    except SyncError as error:
        print(f"catalog-access: {error}", file=sys.stderr)
        return 1
    for line in lakekeeper.log or ["nothing to change"]:
        print(f"catalog-access: {line}")
    try:
        recorded = record_changes(lakekeeper.changes, env)
    except Exception as error:  # applied but not audited: fail the run so the alert fires
        print(f"catalog-access: changes applied but not audited: {error}", file=sys.stderr)
        for change in lakekeeper.changes:
            print(f"catalog-access: unaudited change {json.dumps(change)}", file=sys.stderr)
        return 1
    if recorded:
        print(f"catalog-access: {recorded} permission change(s) recorded in the audit trail")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
