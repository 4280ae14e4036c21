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
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Privileges this job owns on namespaces; ownership and grant-management stay as they are.
MANAGED = frozenset({"describe", "select", "create", "modify"})
Assignment = tuple[str, str, str]  # (privilege, "user" or "role", id)
AUDIT_ACTOR = "service:catalog-access"  # the CronJob, as the audit trail names it


class SyncError(RuntimeError):
    """A call failed or the catalog holds something the job must not overwrite."""


@dataclass
class Http:
    """JSON over HTTPS with a bearer token; one line per failure naming the call."""

    ssl_context: ssl.SSLContext | None = None
    token: str | None = None

    def call(self, method: str, url: str, body: Any = None, form: dict | None = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, context=self.ssl_context, timeout=30) as reply:
                text = reply.read().decode()
        except urllib.error.HTTPError as error:
            if error.code == 404 and method == "GET":
                return None
            detail = error.read().decode(errors="replace")[:300]
            raise SyncError(f"{method} {url}: HTTP {error.code} {detail}") from None
        except urllib.error.URLError as error:
            raise SyncError(f"{method} {url}: {error.reason}") from None
        return json.loads(text) if text.strip() else None


@dataclass
class Keycloak:
    http: Http
    url: str
    realm: str

    def token(self, client_id: str, secret: str, scope: str) -> str:
        path = f"{self.url}/realms/{self.realm}/protocol/openid-connect/token"
        form = {"grant_type": "client_credentials", "client_id": client_id}
        reply = self.http.call("POST", path, form=form | {"client_secret": secret, "scope": scope})
        return reply["access_token"]

    def _admin(self, path: str) -> Any:
        return self.http.call("GET", f"{self.url}/admin/realms/{self.realm}{path}")

    def group_members(self, name: str) -> set[str]:
        query = urllib.parse.urlencode({"search": name, "exact": "true"})
        groups = [g for g in self._admin(f"/groups?{query}") or [] if g["name"] == name]
        if not groups:
            raise SyncError(f"Keycloak realm {self.realm} has no group {name}")
        members: set[str] = set()
        first, page = 0, 100
        while True:
            batch = self._admin(f"/groups/{groups[0]['id']}/members?first={first}&max={page}")
            members |= {user["id"] for user in batch or []}
            if len(batch or []) < page:
                return members
            first += page

    def service_account(self, client_id: str) -> str:
        query = urllib.parse.urlencode({"clientId": client_id})
        clients = self._admin(f"/clients?{query}") or []
        if not clients:
            raise SyncError(f"Keycloak realm {self.realm} has no client {client_id}")
        return self._admin(f"/clients/{clients[0]['id']}/service-account-user")["id"]


@dataclass
class Lakekeeper:
    http: Http
    url: str
    log: list[str] = field(default_factory=list)
    # Each permission change applied: kind, object name and id, assignments granted and revoked.
    changes: list[dict] = field(default_factory=list)

    def _m(self, method: str, path: str, body: Any = None) -> Any:
        return self.http.call(method, f"{self.url}/management/v1{path}", body)

    def ensure_bootstrapped(self) -> None:
        if not self._m("GET", "/info")["bootstrapped"]:
            self._m("POST", "/bootstrap", {"accept-terms-of-use": True, "is-operator": True})
            self.log.append("bootstrapped the catalog as its operator")

    def ensure_warehouse(self, name: str, create_body: dict) -> str:
        listed = self._m("GET", "/warehouse")["warehouses"]
        found = [w["id"] for w in listed if w["name"] == name]
        if found:
            return found[0]
        self.log.append(f"created warehouse {name}")
        return self._m("POST", "/warehouse", create_body)["warehouse-id"]

    def namespaces_url(self, warehouse: str) -> str:
        """The Iceberg REST namespaces endpoint of the warehouse (its prefix from /config)."""
        query = urllib.parse.urlencode({"warehouse": warehouse})
        config = self.http.call("GET", f"{self.url}/catalog/v1/config?{query}")
        return f"{self.url}/catalog/v1/{config['overrides']['prefix']}/namespaces"

    def ensure_namespace(self, base: str, name: str, location: str) -> str:
        loaded = self.http.call("GET", f"{base}/{urllib.parse.quote(name)}")
        if loaded is None:
            body = {"namespace": [name], "properties": {"location": location}}
            loaded = self.http.call("POST", base, body)
            self.log.append(f"created namespace {name} at {location}")
        properties = loaded["properties"]
        if properties.get("location", "").rstrip("/") != location.rstrip("/"):
            raise SyncError(
                f"namespace {name} lives at {properties.get('location')}, not {location}: the "
                "MinIO policies name the latter; move its tables (deploy/README.md, Access)"
            )
        if "namespace_id" not in properties:  # created by this run: load it for its id
            properties = self.http.call("GET", f"{base}/{urllib.parse.quote(name)}")["properties"]
        return properties["namespace_id"]

    def ensure_role(self, name: str) -> str:
        query = urllib.parse.urlencode({"name": name})
        found = [r["id"] for r in self._m("GET", f"/role?{query}")["roles"] if r["name"] == name]
        if found:
            return found[0]
        self.log.append(f"created role {name}")
        body = {"name": name, "description": f"Keycloak group {name} (deploy/access/access.yaml)"}
        return self._m("POST", "/role", body)["id"]

    def assignments(self, kind: str, ident: str) -> list[dict]:
        return self._m("GET", f"/permissions/{kind}/{ident}/assignments")["assignments"]

    def update(
        self, kind: str, ident: str, writes: list[dict], deletes: list[dict], name: str = ""
    ) -> None:
        if writes or deletes:
            body = {"writes": writes, "deletes": deletes}
            self._m("POST", f"/permissions/{kind}/{ident}/assignments", body)
            self.log.append(f"{kind} {ident}: +{len(writes)} -{len(deletes)} assignments")
            self.changes.append(
                {
                    "kind": kind,
                    "name": name or ident,
                    "id": ident,
                    "granted": writes,
                    "revoked": deletes,
                }
            )


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
