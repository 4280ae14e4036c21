"""The governance side of the platform (seed §5.1, §8): the audit trail's own database with
least-privilege logins, Trino's query events posted to the audit receiver, lineage to DataHub."""

from __future__ import annotations

import argparse
import os
import uuid
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_checks import DEPLOY, Doc, load_documents
from sqlalchemy.engine import make_url

from lakehouse.cli.audit import add_audit_commands
from lakehouse.engine_conf import settings_from_config

GOVERNANCE = DEPLOY / "kustomize" / "base" / "governance"
SECRETS = DEPLOY / "kustomize" / "base" / "secrets" / "external-secrets.yaml"
CERTIFICATES = DEPLOY / "kustomize" / "base" / "tls" / "certificates.yaml"
TRINO_VALUES = DEPLOY / "helm" / "trino-values.yaml"
# The seed's annex names the data catalog's address: DataHub, port 8080.
DATAHUB = ("datahub.data-platform-governance.svc.cluster.local", 8080)


def _one(docs: list[Doc], kind: str, name: str) -> Doc:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _settings_config(docs: list[Doc]) -> dict[str, str]:
    return _one(docs, "ConfigMap", "lakehouse-settings")["data"]


def _external_secrets() -> dict[str, dict[str, tuple[str, str]]]:
    """Secret name -> key -> (Vault path, property)."""
    return {
        doc["metadata"]["name"]: {
            item["secretKey"]: (item["remoteRef"]["key"], item["remoteRef"]["property"])
            for item in doc["spec"]["data"]
        }
        for doc in load_documents(SECRETS)
    }


def _cli(command: list[str]) -> argparse.Namespace:
    """The container's command as ``lakehouse`` parses it (a typo fails here, not in the pod)."""
    assert command[:2] == ["lakehouse", "audit"], command
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(command[1:])


def _setup_job() -> Doc:
    return _one(load_documents(GOVERNANCE / "audit-db-setup-job.yaml"), "Job", "audit-db-setup")


def _setup_logins() -> dict[str, str]:
    (container,) = _setup_job()["spec"]["template"]["spec"]["containers"]
    return dict(spec.split("=", 1) for spec in _cli(container["command"]).login)


def test_the_code_location_writes_the_audit_trail_to_its_own_database_as_the_writer(env_docs):
    _, docs = env_docs
    settings = settings_from_config(_settings_config(docs))
    url = make_url(settings.audit_store_url)
    logins = _setup_logins()
    assert url.drivername == "postgresql+psycopg2" and url.password is None
    assert url.database == "audit"  # not Dagster's nor the catalog's database
    assert url.host == "postgresql.data-platform-storage.svc.cluster.local"
    assert url.query.get("sslmode") == "require"
    assert url.username == logins["writer"]
    assert settings.audit_retention_user == logins["retention"]
    (container,) = _setup_job()["spec"]["template"]["spec"]["containers"]
    job_url = make_url(
        next(e["value"] for e in container["env"] if e["name"] == "LAKEHOUSE_AUDIT_URL")
    )
    assert (job_url.host, job_url.port, job_url.database) == (url.host, url.port, url.database)


def test_each_login_gets_the_password_its_user_reads():
    """One Vault value per login: the setup Job sets it, the login's user reads the same one;
    the purge login's Secret is its own (only the retention run mounts it)."""
    secrets = _external_secrets()
    setup = secrets["audit-db-setup"]
    assert (
        secrets["lakehouse-secrets"]["LAKEHOUSE_AUDIT_PASSWORD"] == setup["AUDIT_WRITER_PASSWORD"]
    )
    receiver = secrets["lakehouse-audit-receiver"]
    assert receiver["LAKEHOUSE_AUDIT_PASSWORD"] == setup["AUDIT_WRITER_PASSWORD"]
    retention = secrets["lakehouse-audit-retention"]
    assert retention == {"LAKEHOUSE_AUDIT_RETENTION_PASSWORD": setup["AUDIT_RETENTION_PASSWORD"]}
    assert "LAKEHOUSE_AUDIT_RETENTION_PASSWORD" not in secrets["lakehouse-secrets"]
    assert set(receiver) == {
        "LAKEHOUSE_AUDIT_PASSWORD",
        "LAKEHOUSE_AUDIT_TRINO_EVENTS_TOKEN",
        "LAKEHOUSE_CATALOG_CLIENT_SECRET",
    }
    assert {"PGUSER", "PGPASSWORD"} <= set(setup)
    # The catalog-access CronJob records permission changes as the writer.
    assert secrets["catalog-access"]["LAKEHOUSE_AUDIT_PASSWORD"] == setup["AUDIT_WRITER_PASSWORD"]
    cronjob = load_documents(DEPLOY / "kustomize/base/catalog/access/catalog-access-cronjob.yaml")
    (sync,) = _one(cronjob, "CronJob", "catalog-access")["spec"]["jobTemplate"]["spec"]["template"][
        "spec"
    ]["containers"]
    url = next(e["value"] for e in sync["env"] if e["name"] == "LAKEHOUSE_AUDIT_URL")
    assert make_url(url).username == _setup_logins()["writer"]
    (container,) = _setup_job()["spec"]["template"]["spec"]["containers"]
    assert [s["secretRef"]["name"] for s in container["envFrom"]] == ["audit-db-setup"]


@pytest.mark.postgres
def test_the_setup_job_command_creates_the_schema_and_its_logins(pg_catalog_uri, monkeypatch):
    """The Job's own command, run against a fresh database: schema, roles and the three logins,
    each in its one group role (the writer INSERT-only, the admin read-only, the purge login)."""
    import psycopg2

    from lakehouse.cli.main import main
    from lakehouse.settings import get_settings

    database = pg_catalog_uri.rsplit("/", 1)[1]
    (container,) = _setup_job()["spec"]["template"]["spec"]["containers"]
    args = _cli(container["command"])
    prefix = f"audit_{uuid.uuid4().hex[:8]}"
    logins = {kind: f"{prefix}_{name}" for kind, name in _setup_logins().items()}
    for kind in logins:
        monkeypatch.setenv(f"AUDIT_{kind.upper()}_PASSWORD", f"pw-{kind}")
    monkeypatch.setenv("LAKEHOUSE_AUDIT_URL", f"postgresql+psycopg2://x@127.0.0.1:5432/{database}")
    monkeypatch.setenv("PGUSER", "postgres")
    command = ["audit", "init-db", "--role-prefix", prefix]
    command += [f"--login={kind}={login}" for kind, login in logins.items()]
    assert len(args.login) == 3
    admin = psycopg2.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}")
    admin.autocommit = True
    get_settings.cache_clear()  # the CLI reads the process settings: these, not an earlier test's
    try:
        assert main(command) == 0
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT m.rolname, g.rolname FROM pg_roles m JOIN pg_auth_members a "
                "ON a.member = m.oid JOIN pg_roles g ON g.oid = a.roleid "
                "WHERE m.rolname = ANY(%s) AND m.rolcanlogin",
                (list(logins.values()),),
            )
            members = dict(cursor.fetchall())
    finally:
        get_settings.cache_clear()
        admin.close()
        _drop(database, [*logins.values(), *(f"{prefix}_{r}" for r in _GROUP_ROLES)])
    assert members == {login: f"{prefix}_{kind}" for kind, login in logins.items()}


_GROUP_ROLES = ("writer", "reader", "retention", "owner")  # the owner last: it owns the rest


def _drop(database: str, roles: list[str]) -> None:
    """The database first (its objects belong to the roles), then the roles."""
    import psycopg2

    admin = psycopg2.connect("host=127.0.0.1 port=5432 user=postgres dbname=test")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for role in roles:
                cursor.execute(f"DROP ROLE IF EXISTS {role}")
    finally:
        admin.close()


def test_a_login_without_its_password_stops_the_setup_with_its_variable(monkeypatch, capsys):
    from lakehouse.cli.main import main
    from lakehouse.settings import get_settings

    monkeypatch.delenv("AUDIT_WRITER_PASSWORD", raising=False)
    monkeypatch.setenv("LAKEHOUSE_AUDIT_URL", "postgresql+psycopg2://x@127.0.0.1:1/audit")
    get_settings.cache_clear()
    try:
        assert main(["audit", "init-db", "--login", "writer=lakehouse_audit_app"]) == 2
        assert "AUDIT_WRITER_PASSWORD" in capsys.readouterr().err
        assert main(["audit", "init-db", "--login", "owner=x"]) == 2
        assert "writer=NAME" in capsys.readouterr().err
        monkeypatch.setenv("AUDIT_WRITER_PASSWORD", "pw")
        monkeypatch.setenv("LAKEHOUSE_AUDIT_URL", "sqlite:///audit.db")
        get_settings.cache_clear()
        assert main(["audit", "init-db", "--login", "writer=lakehouse_audit_app"]) == 2
        assert "needs a PostgreSQL audit store" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def _trino_listener() -> dict[str, str]:
    values = yaml.safe_load(TRINO_VALUES.read_text())
    return dict(line.split("=", 1) for line in values["eventListenerProperties"])


def test_trino_posts_every_finished_query_to_the_receiver_service(rendered):
    from lakehouse.governance.audit.trino_events import trino_events_app

    listener = _trino_listener()
    assert listener["event-listener.name"] == "http"
    assert listener["http-event-listener.log-completed"] == "true"
    ingest = urlsplit(listener["http-event-listener.connect-ingest-uri"])
    docs = rendered["prod"]
    service = _one(docs, "Service", "lakehouse-audit-receiver")
    assert ingest.scheme == "https"  # a bearer token and query texts: never in clear
    assert ingest.hostname == "lakehouse-audit-receiver.data-platform-core.svc.cluster.local"
    assert ingest.port in {p["port"] for p in service["spec"]["ports"]}
    app = trino_events_app(lambda: None, lambda: (), token="t")  # type: ignore[arg-type,return-value]
    assert ingest.path in {route.path for route in app.routes}


def test_trino_sends_the_token_the_receiver_expects_and_trusts_its_certificate():
    values = yaml.safe_load(TRINO_VALUES.read_text())
    listener = _trino_listener()
    header = listener["http-event-listener.connect-http-headers"]
    assert header == "Authorization: Bearer ${ENV:TRINO_AUDIT_EVENTS_TOKEN}"
    (env,) = [e for e in values["env"] if e["name"] == "TRINO_AUDIT_EVENTS_TOKEN"]
    ref = env["valueFrom"]["secretKeyRef"]
    secrets = _external_secrets()
    assert (
        secrets[ref["name"]][ref["key"]]
        == secrets["lakehouse-audit-receiver"]["LAKEHOUSE_AUDIT_TRINO_EVENTS_TOKEN"]
    )
    trust = listener["http-event-listener.http-client.trust-store-path"]
    mounts = {m["path"]: m["configMap"] for m in values["configMounts"] if "configMap" in m}
    assert mounts[os.path.dirname(trust)] == "data-platform-ca"


def test_the_receiver_serves_https_with_its_certificate_and_loads_its_settings(env_docs):
    _, docs = env_docs
    deployment = _one(docs, "Deployment", "lakehouse-audit-receiver")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = _cli(container["command"])
    assert args.action == "serve-trino-events"
    (port,) = container["ports"]
    assert args.port == port["containerPort"]
    service = _one(docs, "Service", "lakehouse-audit-receiver")
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {port["name"]}
    mounted = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    secret_volume = next(v for v in pod["volumes"] if "secret" in v)
    directory = mounted[secret_volume["name"]]
    assert os.path.dirname(args.ssl_certfile) == os.path.dirname(args.ssl_keyfile) == directory
    certificate = next(
        c
        for c in load_documents(CERTIFICATES)
        if c["spec"]["secretName"] == secret_volume["secret"]["secretName"]
    )
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert host in certificate["spec"]["dnsNames"]
    assert certificate["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    # What the pod's environment holds: the settings, its own Secret (placeholders), overrides.
    sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
    assert sources == ["lakehouse-settings", "lakehouse-audit-receiver"]
    environment = dict(_settings_config(docs))
    environment |= dict.fromkeys(_external_secrets()["lakehouse-audit-receiver"], "<secret>")
    environment |= {e["name"]: e["value"] for e in container.get("env", [])}
    from lakehouse.settings import load_settings

    settings = load_settings(environment)
    assert settings.audit_store_url.startswith("postgresql")
    assert settings.audit_trino_events_token is not None


def test_lineage_goes_to_the_seed_data_catalog(env_docs):
    _, docs = env_docs
    settings = settings_from_config(_settings_config(docs))
    assert settings.lineage_transport == "http"
    url = urlsplit(settings.openlineage_url or "")
    assert (url.hostname, url.port) == DATAHUB
    # DataHub GMS ingests OpenLineage run events here (its OpenLineage REST endpoint).
    assert settings.openlineage_endpoint == "openapi/openlineage/api/v1/lineage"
    assert settings.openlineage_api_key is None  # nothing secret over the in-cluster HTTP hop


def test_restored_archives_are_readable_by_pii_holders_only():
    """``lakehouse archive restore`` writes into ``scratch`` with every column in clear and no
    declaration to mask them by: only principals holding the pii role may reach it."""
    from lakehouse.governance.archive import SCRATCH_NAMESPACE

    access = yaml.safe_load((DEPLOY / "access" / "access.yaml").read_text())
    assert SCRATCH_NAMESPACE in access["namespaces"]
    principals = {**access["groups"], **access["services"]}
    reaching = {name: p for name, p in principals.items() if SCRATCH_NAMESPACE in p["access"]}
    assert reaching and all(p["pii"] for p in reaching.values()), sorted(reaching)
    writers = [name for name, p in reaching.items() if p["access"][SCRATCH_NAMESPACE] == "write"]
    assert writers == ["lakehouse-pipelines"]  # the client `lakehouse archive restore` uses
