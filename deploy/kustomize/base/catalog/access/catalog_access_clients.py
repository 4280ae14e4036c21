"""The HTTP clients of sync_catalog_access.py: JSON over HTTPS, Keycloak's token and admin
reads, Lakekeeper's management and catalog calls. Standard library only; shipped beside the
script in the ConfigMap catalog-access-files, whose directory Python puts on the import path.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


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
