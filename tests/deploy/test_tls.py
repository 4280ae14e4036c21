"""No credential travels in clear text: every http:// URL in deploy/ and in the settings'
defaults goes to a service that receives none, and every credential-bearing service has a
cert-manager certificate for the name its clients use."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from deploy_checks import DEPLOY, REPO_ROOT
from flows import inventory

from lakehouse.settings import Settings

URL = re.compile(r"""http://[^\s"'`<>)\]},;]+""")
# Services that receive secrets, tokens or signed requests: clients must reach them over TLS.
CREDENTIAL_SERVICES = {
    "keycloak",
    "lakekeeper",
    "minio",
    "postgresql",
    "trino-coordinator",
    "spark-connect",
    "airbyte-server",
    "audit-receiver",  # Trino's bearer token and query texts
}
SECRET_PARAMS = re.compile(r"(?i)(token|secret|password|passwd|key|credential|signature)")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _hosts() -> dict[str, str]:
    return {
        host: name
        for name, spec in inventory()["components"].items()
        for host in spec.get("hosts") or []
    }


def credential_problem(url: str) -> str | None:
    parts = urlsplit(url.rstrip("."))
    if parts.username or parts.password:
        return "user information in the URL"
    if any(SECRET_PARAMS.search(k) for k in parse_qs(parts.query)):
        return "a secret in the query string"
    if parts.hostname in LOOPBACK:
        return None  # never leaves the machine
    service = _hosts().get(parts.hostname or "") or (parts.hostname or "").split(".")[0]
    if service in CREDENTIAL_SERVICES:
        return f"{service} receives credentials"
    return None


def http_urls() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        for url in URL.findall(path.read_text(errors="ignore")):
            found.setdefault(str(path.relative_to(REPO_ROOT)), []).append(url)
    for name, field in Settings.model_fields.items():
        if isinstance(field.default, str) and field.default.startswith("http://"):
            found.setdefault(f"lakehouse/settings.py:{name}", []).append(field.default)
    return found


def test_no_http_url_carries_a_credential():
    problems = {
        (where, url, problem)
        for where, urls in http_urls().items()
        for url in urls
        if (problem := credential_problem(url))
    }
    assert sorted(problems) == []


def test_the_remaining_http_urls_are_the_documented_ones():
    services = {urlsplit(u).hostname for urls in http_urls().values() for u in urls}
    assert "prometheus-pushgateway.data-platform-observability.svc.cluster.local" in services
    assert "dagster-dagster-webserver.data-platform-core.svc.cluster.local" in services


def test_credential_services_have_certificates(rendered):
    names = {
        dns
        for doc in rendered["prod"]
        if doc["kind"] == "Certificate"
        for dns in doc["spec"]["dnsNames"]
    }
    for host, service in _hosts().items():
        if service in CREDENTIAL_SERVICES - {"postgresql"}:
            assert host in names, host


def test_a_credential_over_http_is_caught():
    assert credential_problem("http://keycloak.data-platform-core.svc.cluster.local:8080/realms/x")
    assert credential_problem("http://minio.data-platform-storage.svc.cluster.local:9000")
    assert credential_problem("http://user:pw@pushgateway.example:9091")  # pragma: allowlist secret
    assert credential_problem("http://grafana.example/api?token=abc")
    assert credential_problem("http://localhost:9000") is None
    assert (
        credential_problem(
            "http://prometheus-pushgateway.data-platform-observability.svc.cluster.local:9091"
        )
        is None
    )


def test_the_airbyte_server_serves_its_clients_through_the_tls_sidecar(rendered):
    """Issue 16's leftover: the airbyte-server-tls certificate had no sidecar or Service."""
    import yaml

    values = yaml.safe_load((DEPLOY / "helm" / "airbyte-values.yaml").read_text())
    (sidecar,) = values["server"]["extraContainers"]
    port = {p["name"]: p["containerPort"] for p in sidecar["ports"]}["https"]
    assert "--target=127.0.0.1:8001" in sidecar["args"]  # the chart's server port, over loopback
    (mount,) = sidecar["volumeMounts"]
    (volume,) = [v for v in values["server"]["extraVolumes"] if v["name"] == mount["name"]]
    for docs in rendered.values():
        (service,) = [
            d
            for d in docs
            if d["kind"] == "Service" and d["metadata"]["name"] == "airbyte-server-tls"
        ]
        assert service["spec"]["selector"] == {
            "app.kubernetes.io/name": "server",
            "app.kubernetes.io/instance": "airbyte",
        }
        (service_port,) = service["spec"]["ports"]
        assert (service_port["port"], service_port["targetPort"]) == (port, "https")
        (certificate,) = [
            d
            for d in docs
            if d["kind"] == "Certificate"
            and d["spec"]["secretName"] == volume["secret"]["secretName"]
        ]
        host = "airbyte-server-tls.data-platform-integration.svc.cluster.local"
        assert host in certificate["spec"]["dnsNames"]
        config = next(d for d in docs if d["metadata"]["name"] == "lakehouse-settings")["data"]
        assert config["LAKEHOUSE_AIRBYTE_API_URL"] == f"https://{host}:{port}"


def test_every_mc_client_trusts_the_platform_ca(rendered):
    """MinIO serves a certificate of the platform CA: mc reads trusted CAs from
    $MC_CONFIG_DIR/certs/CAs, or refuses the connection (pg-dump, the drill, minio-setup)."""
    templates = {
        "Job": lambda d: d["spec"]["template"]["spec"],
        "CronJob": lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        "Deployment": lambda d: d["spec"]["template"]["spec"],
    }
    checked = 0
    for doc in rendered["prod"]:
        if doc["kind"] in templates:
            spec = templates[doc["kind"]](doc)
            volumes = {v["name"]: v for v in spec.get("volumes", [])}
            for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
                if not container.get("image", "").startswith("quay.io/minio/mc:"):
                    continue
                env = {e["name"]: e.get("value") for e in container.get("env", [])}
                mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
                trusted = f"{env['MC_CONFIG_DIR']}/certs/CAs"
                assert trusted in mounts, (doc["metadata"]["name"], container["name"])
                volume = volumes[mounts[trusted]]
                assert volume["configMap"]["name"] == "data-platform-ca", container["name"]
                checked += 1
    assert checked >= 3
