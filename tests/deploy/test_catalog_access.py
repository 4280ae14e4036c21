"""The REST catalog's authorisation: Lakekeeper on OpenFGA, its grants kept equal to the access
table by the catalog-access CronJob (deploy/kustomize/base/catalog/access/), run here against a
Lakekeeper/Keycloak stand-in that checks every call against Lakekeeper's API schemas."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys

import pytest
import yaml
from access_catalog import catalog_access
from access_table import load
from catalog_stub import SCHEMAS, CatalogStub, State, check
from deploy_checks import DEPLOY

ACCESS_DIR = DEPLOY / "kustomize" / "base" / "catalog" / "access"
sys.path.insert(0, str(ACCESS_DIR))
import sync_catalog_access as sync  # noqa: E402

ACCESS = json.loads((ACCESS_DIR / "catalog-access.json").read_text())
REALM_FILE = DEPLOY / "keycloak" / "lakehouse-realm.json"
WAREHOUSE_FILE = DEPLOY / "kustomize" / "base" / "catalog" / "warehouse.json"
KEYS = {
    "LAKEKEEPER_S3_ACCESS_KEY_ID": "id",
    "LAKEKEEPER_S3_SECRET_ACCESS_KEY": "s",
}  # pragma: allowlist secret


def _warehouse_body() -> dict:
    return json.loads(string.Template(WAREHOUSE_FILE.read_text()).substitute(KEYS))


def _state() -> State:
    groups = {name: [f"user-{name}-{i}" for i in range(3)] for name in ACCESS["roles"]}
    groups["data-analyst"] = [f"analyst-{i}" for i in range(130)]  # more than one page
    clients = {name: f"sa-{name}" for name in ACCESS["service_accounts"]}
    return State(groups=groups, clients=clients)


@pytest.fixture
def stub():
    state = _state()
    server = CatalogStub(state)
    yield server, state
    server.close()


def _sync(server: CatalogStub, state: State) -> sync.Lakekeeper:
    http = sync.Http()
    keycloak = sync.Keycloak(http, server.url, state.realm)
    http.token = keycloak.token("lakekeeper-access", "secret", "lakekeeper")
    lakekeeper = sync.Lakekeeper(http, server.url)
    sync.sync(ACCESS, _warehouse_body(), lakekeeper, keycloak)
    assert state.errors == []
    return lakekeeper


def _run(server: CatalogStub, state: State) -> list[str]:
    return _sync(server, state).log


def _granted(state: State, kind: str, ident: str) -> set[tuple]:
    return {sync._key(a) for a in state.assignments.get((kind, ident), [])}


def test_the_committed_desired_state_is_the_tables(personal_data):
    assert catalog_access(load(), personal_data) == ACCESS


def test_warehouse_json_is_a_valid_create_request():
    """0.10.2 knows no remote-signing switch (it ignored the key) and spells the flavor
    s3-compat in its API (minio is an undocumented alias)."""
    body = _warehouse_body()
    check("CreateWarehouseRequest", body)
    declared = SCHEMAS["components"]["schemas"]["S3Profile"]["properties"]
    assert set(body["storage-profile"]) - {"type"} <= set(declared)


def test_a_first_run_builds_the_tables_permissions_and_a_second_changes_nothing(stub):
    server, state = stub
    _run(server, state)
    assert state.bootstrapped and list(state.warehouses) == [ACCESS["warehouse"]]
    for name, spec in ACCESS["namespaces"].items():
        assert state.namespaces[name]["location"] == spec["location"]
    for role, spec in ACCESS["roles"].items():
        members = {("assignee", "user", f"oidc~{m}") for m in state.groups[spec["keycloak_group"]]}
        assert _granted(state, "role", state.roles[role]) == members
        for ns, privileges in spec["namespaces"].items():
            ns_id = state.namespaces[ns]["namespace_id"]
            assert {(p, "role", state.roles[role]) for p in privileges} <= _granted(
                state, "namespace", ns_id
            )
    analyst = state.roles["data-analyst"]
    raw = state.namespaces["raw"]["namespace_id"]
    assert not any(ident == analyst for _, _, ident in _granted(state, "namespace", raw))
    writes = state.writes
    assert _run(server, state) == []
    assert state.writes == writes


def test_drift_is_revoked_and_membership_follows_keycloak(stub):
    server, state = stub
    _run(server, state)
    raw = state.namespaces["raw"]["namespace_id"]
    stranger = {"type": "select", "user": "oidc~mallory"}
    owner = {"type": "ownership", "user": "oidc~operator"}
    state.assignments[("namespace", raw)] += [stranger, owner]
    state.groups["data-engineer"].pop()
    state.groups["data-engineer"].append("newcomer")
    _run(server, state)
    assert stranger not in state.assignments[("namespace", raw)]
    assert owner in state.assignments[("namespace", raw)]  # not the job's to manage
    engineers = _granted(state, "role", state.roles["data-engineer"])
    assert ("assignee", "user", "oidc~newcomer") in engineers and len(engineers) == 3


def _run_recorded(server: CatalogStub, state: State, env: dict[str, str]) -> int:
    return sync.record_changes(_sync(server, state).changes, env)


def test_every_permission_change_applied_is_an_audit_row(stub, tmp_path):
    """Seed §5.1, permission changes: a grant revoked and a member who left or joined a group
    are each recorded with what was granted and revoked, by the job, in the chained trail."""
    from lakehouse.governance.audit.sqlite_store import SqliteAuditStore

    server, state = stub
    env = {"LAKEHOUSE_AUDIT_URL": f"sqlite:///{tmp_path / 'audit.db'}"}
    _run_recorded(server, state, env)  # the first run: everything is a change
    store = SqliteAuditStore(tmp_path / "audit.db")
    first = len(store.list())
    raw = state.namespaces["raw"]["namespace_id"]
    state.assignments[("namespace", raw)].append({"type": "select", "user": "oidc~mallory"})
    leaver = state.groups["data-engineer"].pop()
    state.groups["data-engineer"].append("newcomer")
    _run_recorded(server, state, env)
    rows = [row.record for row in store.list()][first:]
    assert {(r.action, r.object, r.actor) for r in rows} == {
        ("permission.change", "lakekeeper:namespace/raw", sync.AUDIT_ACTOR),
        ("permission.change", "lakekeeper:role/data-engineer", sync.AUDIT_ACTOR),
    }
    by_object = {r.object: r.details for r in rows}
    assert by_object["lakekeeper:namespace/raw"]["revoked"] == [
        {"type": "select", "user": "oidc~mallory"}
    ]
    membership = by_object["lakekeeper:role/data-engineer"]
    assert membership["granted"] == [{"type": "assignee", "user": "oidc~newcomer"}]
    assert membership["revoked"] == [{"type": "assignee", "user": f"oidc~{leaver}"}]
    _run_recorded(server, state, env)  # nothing changed: nothing recorded
    assert len(store.list()) == first + 2
    assert store.verify().ok
    assert sync.record_changes([{"kind": "x"}], {}) == 0  # no audit store configured


def test_a_namespace_at_another_location_stops_the_run(stub):
    server, state = stub
    state.bootstrapped = True
    state.warehouses[ACCESS["warehouse"]] = "w1"
    state.namespaces["raw"] = {
        "location": "s3://iceberg-warehouse/lakehouse/0199f/",
        "namespace_id": "n1",
    }
    with pytest.raises(sync.SyncError, match="namespace raw lives at"):
        _run(server, state)


def test_a_missing_keycloak_group_is_named(stub):
    server, state = stub
    del state.groups["data-scientist"]
    with pytest.raises(sync.SyncError, match="no group data-scientist"):
        _run(server, state)


def test_the_catalog_runs_with_openfga(rendered):
    for env, docs in rendered.items():
        config = next(d for d in docs if d["metadata"]["name"].startswith("lakekeeper-config"))
        assert config["data"]["LAKEKEEPER__AUTHZ_BACKEND"] == "openfga", env
        endpoint = config["data"]["LAKEKEEPER__OPENFGA__ENDPOINT"]
        (deployment,) = [
            d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "lakekeeper"
        ]
        spec = deployment["spec"]["template"]["spec"]
        (openfga,) = [c for c in spec["initContainers"] if c["name"] == "openfga"]
        assert openfga.get("restartPolicy") == "Always"  # a sidecar, started before migrate
        grpc = next(e["value"] for e in openfga["env"] if e["name"] == "OPENFGA_GRPC_ADDR")
        assert endpoint == f"http://{grpc}" and grpc.startswith("127.0.0.1:"), env
        names = [c["name"] for c in spec["initContainers"]]
        assert names.index("openfga") < names.index("migrate")
        (job,) = [
            d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == "catalog-access"
        ]
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        mounted = next(d for d in docs if d["metadata"]["name"].startswith("catalog-access-files"))
        assert json.loads(mounted["data"]["catalog-access.json"]) == ACCESS
        for script in ACCESS_DIR.glob("*.py"):  # the script and the modules it imports
            assert mounted["data"].get(script.name) == script.read_text(), (env, script.name)


def test_the_jobs_command_runs_from_the_mounted_files_alone(rendered, tmp_path):
    """``python /etc/catalog-access/sync_catalog_access.py`` with only the ConfigMap's files: its
    imports resolve and it reaches its first check (warehouse.json's variables, unset here)."""
    docs = rendered[next(iter(rendered))]
    mounted = next(d for d in docs if d["metadata"]["name"].startswith("catalog-access-files"))
    for name, text in mounted["data"].items():
        (tmp_path / name).write_text(text)
    files = {name: str(tmp_path / name) for name in ("catalog-access.json", "warehouse.json")}
    env = {"PATH": os.environ["PATH"], "CATALOG_ACCESS_FILE": files["catalog-access.json"]}
    run = subprocess.run(
        [sys.executable, str(tmp_path / "sync_catalog_access.py")],
        env=env | {"WAREHOUSE_FILE": files["warehouse.json"]},
        cwd=tmp_path.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "catalog-access: warehouse.json needs 'LAKEKEEPER_S3_" in run.stderr, run.stderr


# ---- mutation tests ----


def test_a_body_outside_lakekeepers_api_is_refused():
    from jsonschema import ValidationError

    with pytest.raises(ValidationError):
        check("UpdateNamespaceAssignmentsRequest", {"writes": [{"type": "read", "role": "r"}]})
    with pytest.raises(ValidationError):
        check("CreateWarehouseRequest", {"warehouse-name": "w"})


def test_diff_only_touches_the_managed_privileges():
    current = [
        {"type": "select", "role": "a"},
        {"type": "ownership", "user": "o"},
        {"type": "modify", "user": "gone"},
    ]
    writes, deletes = sync.diff(
        current, {("select", "role", "a"), ("describe", "role", "b")}, sync.MANAGED
    )
    assert writes == [{"type": "describe", "role": "b"}]
    assert deletes == [{"type": "modify", "user": "gone"}]


# Keycloak's admin endpoints the sync calls -> the realm-management role that allows each
# (Keycloak's admin permissions: listing groups needs query-groups, members view-users, a
# client's service-account user view-clients).
ADMIN_CALLS = {"/groups": "query-groups", "/members": "view-users", "/clients": "view-clients"}


def test_the_sync_client_exists_in_the_realm_and_may_only_read_it():
    cronjob = yaml.safe_load_all((ACCESS_DIR / "catalog-access-cronjob.yaml").read_text())
    (job,) = [d for d in cronjob if d["kind"] == "CronJob"]
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    scope = env.get("SCOPE", "lakekeeper")  # sync_catalog_access.main's default
    realm = json.loads(REALM_FILE.read_text())
    (client,) = [c for c in realm["clients"] if c["clientId"] == env["CLIENT_ID"]]
    assert client["serviceAccountsEnabled"] and not client["publicClient"]
    assert not (client["standardFlowEnabled"] or client["directAccessGrantsEnabled"])
    assert scope in client["defaultClientScopes"]
    assert {"trino", "groups", "roles"}.isdisjoint(client["defaultClientScopes"])
    (account,) = [
        u for u in realm["users"] if u.get("serviceAccountClientId") == client["clientId"]
    ]
    assert account["realmRoles"] == []  # not lakehouse-service: it reads no data
    assert set(account["clientRoles"]) == {"realm-management"}
    granted = set(account["clientRoles"]["realm-management"])
    assert granted == set(ADMIN_CALLS.values())
    assert all(role.startswith(("view-", "query-")) for role in granted)
    source = "".join(script.read_text() for script in ACCESS_DIR.glob("*.py"))
    for call in ADMIN_CALLS:
        assert call in source, call  # the table covers the calls the sync makes
