"""A Lakekeeper 0.10.2 and Keycloak stand-in for the catalog-access sync, in one HTTP server.

Only the calls the sync makes, with Lakekeeper's semantics for them (bootstrap once, one
warehouse per name, namespaces with their properties and ids, roles, assignments per object),
and every request body and reply validated against Lakekeeper's published management API
schemas (tests/deploy/fixtures/lakekeeper-management-schemas.json).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jsonschema import Draft202012Validator

SCHEMAS = json.loads(
    (Path(__file__).parent / "fixtures" / "lakekeeper-management-schemas.json").read_text()
)


def check(name: str, document: Any) -> None:
    """Raise jsonschema.ValidationError unless ``document`` is a valid Lakekeeper ``name``."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": SCHEMAS["components"]}
    Draft202012Validator(schema).validate(document)


@dataclass
class State:
    realm: str = "data-platform-test"
    groups: dict[str, list[str]] = field(default_factory=dict)  # group -> member ids
    clients: dict[str, str] = field(default_factory=dict)  # clientId -> service-account user id
    bootstrapped: bool = False
    warehouses: dict[str, str] = field(default_factory=dict)  # name -> id
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> properties
    roles: dict[str, str] = field(default_factory=dict)  # name -> id
    assignments: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    writes: int = 0
    errors: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    state: State

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, body: Any = None, schema: str | None = None) -> None:
        if schema:
            check(schema, body)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if self.headers.get("Content-Type") == "application/x-www-form-urlencoded":
            return {k: v[0] for k, v in parse_qs(raw).items()}
        return json.loads(raw) if raw else None

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = self._body() if method == "POST" else None
        try:
            self._dispatch(method, parts.path, query, body)
        except Exception as error:  # the test reads state.errors
            self.state.errors.append(f"{method} {self.path}: {error}")
            self._reply(500, {"error": str(error)})

    def _dispatch(self, method: str, path: str, query: dict, body: Any) -> None:
        s = self.state
        admin = f"/admin/realms/{s.realm}"
        if path == f"/realms/{s.realm}/protocol/openid-connect/token":
            assert body["grant_type"] == "client_credentials" and body["client_secret"]
            reply = {"access_token": "stub", "token_type": "Bearer"}  # pragma: allowlist secret
            return self._reply(200, reply)
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._reply(401, {"error": "no token"})
        if path == f"{admin}/groups":
            found = [
                {"id": f"g-{n}", "name": n, "subGroups": []}
                for n in s.groups
                if n == query["search"]
            ]
            return self._reply(200, found)
        if m := re.fullmatch(f"{admin}/groups/g-([^/]+)/members", path):
            first, size = int(query["first"]), int(query["max"])
            members = s.groups[m.group(1)][first : first + size]
            return self._reply(200, [{"id": i, "username": f"u-{i}"} for i in members])
        if path == f"{admin}/clients":
            cid = query["clientId"]
            return self._reply(
                200, [{"id": f"c-{cid}", "clientId": cid}] if cid in s.clients else []
            )
        if m := re.fullmatch(f"{admin}/clients/c-([^/]+)/service-account-user", path):
            return self._reply(200, {"id": s.clients[m.group(1)]})
        return self._lakekeeper(method, path, query, body)

    def _lakekeeper(self, method: str, path: str, query: dict, body: Any) -> None:
        s = self.state
        if method == "POST":
            s.writes += 1
        if path == "/management/v1/info":
            info = {
                "version": "0.10.2",
                "bootstrapped": s.bootstrapped,
                "server-id": str(uuid.uuid4()),
                "authz-backend": "openfga",
                "aws-system-identities-enabled": False,
                "azure-system-identities-enabled": False,
                "gcp-system-identities-enabled": False,
                "queues": [],
            }
            return self._reply(200, info, "ServerInfo")
        if path == "/management/v1/bootstrap":
            check("BootstrapRequest", body)
            assert not s.bootstrapped, "bootstrapped twice"
            s.bootstrapped = True
            return self._reply(204)
        if path == "/management/v1/warehouse" and method == "GET":
            listed = [self._warehouse(name, wid) for name, wid in s.warehouses.items()]
            return self._reply(200, {"warehouses": listed}, "ListWarehousesResponse")
        if path == "/management/v1/warehouse":
            check("CreateWarehouseRequest", body)
            s.warehouses[body["warehouse-name"]] = wid = str(uuid.uuid4())
            return self._reply(201, {"warehouse-id": wid}, "CreateWarehouseResponse")
        if path == "/catalog/v1/config":
            wid = s.warehouses[query["warehouse"]]
            return self._reply(200, {"overrides": {"prefix": wid}, "defaults": {}})
        if m := re.fullmatch(r"/catalog/v1/([^/]+)/namespaces(?:/([^/]+))?", path):
            return self._namespace(method, m.group(2), body)
        if path == "/management/v1/role" and method == "GET":
            roles = [self._role(n, i) for n, i in s.roles.items() if query["name"] in n]
            return self._reply(200, {"roles": roles}, "ListRolesResponse")
        if path == "/management/v1/role":
            check("CreateRoleRequest", body)
            s.roles[body["name"]] = rid = str(uuid.uuid4())
            return self._reply(201, self._role(body["name"], rid), "Role")
        if m := re.fullmatch(r"/management/v1/permissions/(\w+)/([^/]+)/assignments", path):
            return self._assignments(method, m.group(1), m.group(2), body)
        return self._reply(404, {"error": f"no route {path}"})

    def _namespace(self, method: str, name: str | None, body: Any) -> None:
        s = self.state
        if method == "GET":
            if name not in s.namespaces:
                return self._reply(
                    404, {"error": {"code": 404, "type": "NoSuchNamespaceException"}}
                )
            return self._reply(200, {"namespace": [name], "properties": s.namespaces[name]})
        (name,) = body["namespace"]
        assert name not in s.namespaces, "namespace created twice"
        s.namespaces[name] = {**body["properties"], "namespace_id": str(uuid.uuid4())}
        return self._reply(200, {"namespace": [name], "properties": s.namespaces[name]})

    def _assignments(self, method: str, kind: str, ident: str, body: Any) -> None:
        kinds = {"role": "Role", "namespace": "Namespace", "warehouse": "Warehouse"}
        current = self.state.assignments.setdefault((kind, ident), [])
        if method == "GET":
            reply = {"assignments": current}
            return self._reply(200, reply, f"Get{kinds[kind]}AssignmentsResponse")
        check(f"Update{kinds[kind]}AssignmentsRequest", body)
        for gone in body.get("deletes", []):
            current.remove(gone)
        current.extend(a for a in body.get("writes", []) if a not in current)
        return self._reply(204)

    @staticmethod
    def _role(name: str, rid: str) -> dict:
        return _entity(name, rid, **{"created-at": "2026-01-01T00:00:00Z"})

    @staticmethod
    def _warehouse(name: str, wid: str) -> dict:
        profile = {"type": "s3", "bucket": "b", "region": "us-east-1", "sts-enabled": False}
        return _entity(
            name,
            wid,
            **{
                "storage-profile": profile,
                "delete-profile": {"type": "hard"},
                "status": "active",
                "protected": False,
            },
        )


def _entity(name: str, ident: str, **fields: Any) -> dict:
    """A Lakekeeper object of the default project."""
    return {"id": ident, "name": name, "project-id": "0" * 32, **fields}


class CatalogStub:
    """Serve ``state`` on 127.0.0.1 until ``close``; ``url`` is its base address."""

    def __init__(self, state: State) -> None:
        handler = type("Handler", (_Handler,), {"state": state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
