"""Trino with OAuth2 serves and is reached over HTTPS on 8443; plain HTTP stays inside Trino."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import PurePosixPath

import pytest
import yaml
from deploy_checks import DEPLOY, REPO_ROOT, schema_problems
from k8s_job import build_run_job, load_values
from k8s_network import Pod, allows
from trino_tls import (
    HTTP_PORT,
    HTTPS_PORT,
    NAMESPACE,
    SERVICE_HOST,
    address_problems,
    certificate_problems,
    keystore_secret,
    token_auth_on,
    url_problems,
    values_problems,
)

from lakehouse.engine_conf import settings_from_config

TRINO_VALUES = DEPLOY / "helm" / "trino-values.yaml"
DBT_PROFILE = REPO_ROOT / "dbt" / "profiles.yml"
CA_CONFIGMAP = "data-platform-ca"

# Pod labels of the Trino chart 1.37 (release "trino") and of Trino's clients.
_TRINO = {"app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": "trino"}
COORDINATOR = Pod(
    NAMESPACE,
    {**_TRINO, "app.kubernetes.io/component": "coordinator"},
    {"http": HTTP_PORT, "https": HTTPS_PORT},
)
WORKER = Pod(NAMESPACE, {**_TRINO, "app.kubernetes.io/component": "worker"}, {"http": HTTP_PORT})
CODE_SERVER = Pod("data-platform-core", {"app.kubernetes.io/name": "dagster-user-deployments"})
DATA_CATALOG = Pod("data-platform-governance", {"app.kubernetes.io/component": "data-catalog"})
INGRESS = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = Pod("data-platform-observability", {"app.kubernetes.io/name": "prometheus"})
SPARK_CONNECT = Pod(NAMESPACE, {"app.kubernetes.io/name": "spark-connect"})
SPARK_EXECUTOR = Pod(NAMESPACE, {"spark-role": "executor"})

# Renders the dbt profile's `trino` target the way dbt does, once per environment given on
# stdin; in a child process, so dbt's global flags stay out of this test session.
_RENDER_PROFILE = """
import json, os, sys
from argparse import Namespace
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

set_from_args(Namespace(), None)
raw = read_profile(sys.argv[1])
out = []
for env in json.load(sys.stdin):
    set_invocation_context(env)
    c = Profile.from_raw_profiles(raw, "lakehouse", ProfileRenderer({}), target_override="trino").credentials
    out.append({"scheme": c.http_scheme.value, "host": c.host, "port": c.port, "cert": c.cert})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def values():
    return yaml.safe_load(TRINO_VALUES.read_text())


def _settings_config(docs) -> dict[str, str]:
    (configmap,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "lakehouse-settings"
    ]
    return configmap["data"]


def _ca_bundle_paths(pod_spec: dict, container: dict) -> set[str]:
    """Files of the platform CA ConfigMap as the container sees them."""
    volumes = {
        v["name"]: v["configMap"]
        for v in pod_spec.get("volumes") or []
        if (v.get("configMap") or {}).get("name") == CA_CONFIGMAP
    }
    return {
        str(PurePosixPath(mount["mountPath"]) / item["path"])
        for mount in container.get("volumeMounts") or []
        if mount["name"] in volumes
        for item in volumes[mount["name"]].get("items") or []
    }


def _trino_addresses_in_files() -> dict[str, list[str]]:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()] + [DBT_PROFILE]
    found = {
        str(p.relative_to(REPO_ROOT)): address_problems(p.read_text(errors="ignore")) for p in files
    }
    return {path: problems for path, problems in found.items() if problems}


# ---- the server ----


def test_trino_serves_https_on_8443_while_oauth2_is_on(values):
    assert token_auth_on(values)
    assert values_problems(values) == []


def test_the_keystore_is_a_mounted_secret_the_certificate_fills(values, env_docs):
    env, docs = env_docs
    secret = keystore_secret(values)
    assert secret == "trino-tls"  # pragma: allowlist secret
    keystore = values["server"]["config"]["https"]["keystore"]["path"]
    assert certificate_problems(docs, secret, keystore) == [], env
    (certificate,) = [
        d for d in docs if d["kind"] == "Certificate" and d["metadata"]["name"] == "trino-tls"
    ]
    assert schema_problems(certificate) == []
    assert certificate["spec"]["issuerRef"] == {
        "group": "cert-manager.io",
        "kind": "ClusterIssuer",
        "name": "data-platform-ca",
    }


# ---- every client address ----


def test_no_trino_address_in_deploy_or_the_dbt_profile_is_plain_http_or_8080():
    assert _trino_addresses_in_files() == {}


def test_the_code_reaches_trino_over_https_and_trusts_the_platform_ca(env_docs):
    env, docs = env_docs
    settings = settings_from_config(_settings_config(docs))
    assert url_problems(settings.upkeep_trino_url, "LAKEHOUSE_UPKEEP_TRINO_URL") == []
    assert (settings.trino_host, settings.trino_port) == (SERVICE_HOST, HTTPS_PORT), env
    assert settings.upkeep_trino_verify is True
    job = build_run_job()
    pod = job["spec"]["template"]["spec"]
    assert str(settings.upkeep_trino_ca_bundle) in _ca_bundle_paths(pod, pod["containers"][0])


def test_the_code_server_mounts_the_platform_ca_as_runs_do():
    (deployment,) = load_values()["dagster-user-deployments"]["deployments"]
    run_pod = build_run_job()["spec"]["template"]["spec"]
    paths = _ca_bundle_paths(deployment, deployment)
    assert paths and paths == _ca_bundle_paths(run_pod, run_pod["containers"][0])


@pytest.fixture(scope="module")
def dbt_trino_targets(rendered):
    """The dbt `trino` target rendered with no environment, then with each overlay's."""
    envs = [{}] + [_settings_config(docs) for docs in rendered.values()]
    done = subprocess.run(
        [sys.executable, "-c", _RENDER_PROFILE, str(DBT_PROFILE.parent)],
        input=json.dumps(envs),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return envs, json.loads(done.stdout.splitlines()[-1])


def test_the_dbt_trino_target_uses_https_8443_and_the_platform_ca(dbt_trino_targets):
    envs, targets = dbt_trino_targets
    default, *platform = targets
    assert default == {"scheme": "https", "host": SERVICE_HOST, "port": HTTPS_PORT, "cert": True}
    for env, target in zip(envs[1:], platform, strict=True):
        assert target == {
            "scheme": "https",
            "host": SERVICE_HOST,
            "port": HTTPS_PORT,
            "cert": env["LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE"],
        }


# ---- the network ----


def _run_pod() -> Pod:
    job = build_run_job()
    return Pod(job["metadata"]["namespace"], job["spec"]["template"]["metadata"]["labels"])


def test_trino_clients_reach_the_coordinator_on_https(env_docs):
    env, docs = env_docs
    for client in (_run_pod(), CODE_SERVER, DATA_CATALOG, INGRESS):
        assert allows(docs, client, COORDINATOR, HTTPS_PORT), (env, client)


def test_plain_http_reaches_trino_from_trino_only(env_docs):
    env, docs = env_docs
    outsiders = (_run_pod(), CODE_SERVER, DATA_CATALOG, INGRESS, PROMETHEUS, SPARK_CONNECT)
    for client in (*outsiders, SPARK_EXECUTOR):
        for node in (COORDINATOR, WORKER):
            assert not allows(docs, client, node, HTTP_PORT), (env, client, node)
    assert allows(docs, WORKER, COORDINATOR, HTTP_PORT)
    assert allows(docs, COORDINATOR, WORKER, HTTP_PORT)
    assert not any(allows(docs, c, WORKER, HTTPS_PORT) for c in outsiders)


# ---- mutation tests: the checks reject a Trino back on plain HTTP ----


def _edit(values, change):
    broken = copy.deepcopy(values)
    change(broken)
    return values_problems(broken)


def test_https_off_or_an_unmounted_keystore_is_caught(values):
    assert _edit(values, lambda v: v["server"]["config"]["https"].update(enabled=False))
    assert _edit(values, lambda v: v["server"]["config"]["https"].update(port=HTTP_PORT))
    assert _edit(values, lambda v: v["coordinator"].pop("secretMounts"))
    assert _edit(values, lambda v: v["coordinator"]["secretMounts"][0].update(path="/etc/x"))
    assert _edit(values, lambda v: v["coordinator"].pop("additionalExposedPorts"))


def test_insecure_config_lines_and_a_literal_shared_secret_are_caught(values):
    def insecure(v):
        v["server"]["coordinatorExtraConfig"] += "\nhttp-server.process-forwarded=true"

    assert _edit(values, insecure)
    literal = "internal-communication.shared-secret=plain-text"  # pragma: allowlist secret
    assert _edit(values, lambda v: v.update(additionalConfigProperties=[literal]))
    assert _edit(values, lambda v: v["env"][0].update(value="x", valueFrom=None))


def test_oauth2_alone_on_plain_http_is_caught(values):
    plain = copy.deepcopy(values)
    del plain["server"]["config"]["https"]
    assert token_auth_on(plain) and values_problems(plain)
    plain["server"]["config"]["authenticationType"] = "PASSWORD"
    assert not token_auth_on(plain)


def test_plain_http_and_8080_addresses_are_caught():
    bad = [
        f"LAKEHOUSE_UPKEEP_TRINO_URL=http://{SERVICE_HOST}:{HTTPS_PORT}",
        f"LAKEHOUSE_UPKEEP_TRINO_URL=https://{SERVICE_HOST}:{HTTP_PORT}",
        f"url: https://{SERVICE_HOST}",
        f"host: {SERVICE_HOST}:{HTTP_PORT}",
        "discovery: http://trino:8080",
    ]
    assert all(address_problems(line) for line in bad)
    good = [
        f"https://{SERVICE_HOST}:{HTTPS_PORT}",
        "repoURL: https://trinodb.github.io/charts",
        "app.kubernetes.io/name: trino",
        "$values/deploy/helm/trino-values.yaml",
    ]
    assert not any(address_problems(line) for line in good)
    assert url_problems(f"http://{SERVICE_HOST}:{HTTPS_PORT}", "url")
    assert url_problems(f"https://{SERVICE_HOST}", "url")


def test_a_certificate_missing_the_combined_pem_or_the_service_name_is_caught(rendered):
    docs = copy.deepcopy(rendered["prod"])
    (certificate,) = [
        d for d in docs if d["kind"] == "Certificate" and d["metadata"]["name"] == "trino-tls"
    ]
    certificate["spec"]["dnsNames"] = ["trino"]
    certificate["spec"].pop("additionalOutputFormats")
    assert len(certificate_problems(docs, "trino-tls", "/etc/trino/tls/tls-combined.pem")) == 2
    assert certificate_problems(docs, "another-secret", "/etc/trino/tls/tls-combined.pem")
    certificate["spec"]["issuerRef"].pop("name")
    assert schema_problems(certificate)


def test_a_network_policy_without_https_or_with_http_is_caught(rendered):
    docs = copy.deepcopy(rendered["prod"])
    (clients,) = [d for d in docs if d["metadata"]["name"] == "allow-trino-clients"]
    clients["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": HTTP_PORT}]
    assert not allows(docs, _run_pod(), COORDINATOR, HTTPS_PORT)
    assert allows(docs, INGRESS, COORDINATOR, HTTP_PORT)  # what the plain-HTTP test rejects
    clients["spec"]["ingress"][0]["ports"] = [{"protocol": "TCP", "port": "https"}]
    assert allows(docs, _run_pod(), COORDINATOR, HTTPS_PORT)  # a named port resolves too
