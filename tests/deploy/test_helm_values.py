"""The Helm values use the charts' real value names and reference secrets by name only."""

from __future__ import annotations

import yaml
from deploy_checks import DEPLOY, REPO_ROOT
from k8s_job import load_values

HELM = DEPLOY / "helm"
PG_SECRET = "dagster-postgresql"  # pragma: allowlist secret


def test_dagster_values_use_the_chart_names():
    values = load_values()
    assert values["postgresql"]["enabled"] is False
    assert values["global"]["postgresqlSecretName"] == PG_SECRET
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["runK8sConfig"]["jobSpecConfig"]["ttlSecondsAfterFinished"] > 0
    assert launcher["jobNamespace"] == "data-platform-core"
    assert "securityContext" not in launcher  # see the comment in the values file
    assert values["computeLogManager"]["type"] == "S3ComputeLogManager"
    s3 = values["computeLogManager"]["config"]["s3ComputeLogManager"]
    assert s3["endpointUrl"].startswith("https://minio.")  # TLS: MinIO serves HTTPS
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "lakehouse.definitions"]
    assert deployment["envConfigMaps"] == [{"name": "lakehouse-settings"}]
    assert {"name": "lakehouse-secrets"} in deployment["envSecrets"]
    assert values["rbacEnabled"] is False and values["serviceAccount"]["create"] is False


def test_the_webservers_are_only_reachable_through_oauth2_proxy():
    values = load_values()
    assert values["ingress"]["enabled"] is False
    proxy = yaml.safe_load((HELM / "oauth2-proxy-values.yaml").read_text())
    assert proxy["config"]["existingSecret"] == "oauth2-proxy"  # pragma: allowlist secret
    assert 'provider = "keycloak-oidc"' in proxy["config"]["configFile"]
    port = values["dagsterWebserver"]["service"]["port"]
    for variant, service in (
        ("oauth2-proxy-dagster-values.yaml", "dagster-dagster-webserver"),
        ("oauth2-proxy-dagster-read-only-values.yaml", "dagster-dagster-webserver-read-only"),
    ):
        upstream = yaml.safe_load((HELM / variant).read_text())["extraArgs"]["upstream"]
        assert upstream == f"http://{service}.data-platform-core.svc.cluster.local:{port}/"


def test_the_runtime_image_can_load_the_s3_compute_log_manager():
    """Runs load dagster.yaml, whose compute logs the chart renders as dagster-aws's
    S3ComputeLogManager: the code location must ship it, at the integrations' version, and each
    value must be one of its config fields (the chart passes them on in snake_case)."""
    import re

    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    manager = load_values()["computeLogManager"]
    assert manager["type"] == "S3ComputeLogManager"
    given = manager["config"]["s3ComputeLogManager"]
    fields = S3ComputeLogManager.config_type()
    unknown = [k for k in given if re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower() not in fields]
    assert unknown == []
    lock = (REPO_ROOT / "uv.lock").read_text()
    aws = re.search(r'name = "dagster-aws"\nversion = "([^"]+)"', lock)
    k8s = re.search(r'name = "dagster-k8s"\nversion = "([^"]+)"', lock)
    assert aws and k8s and aws.group(1) == k8s.group(1)


def test_airbyte_runs_on_the_platform_database_and_minio():
    """Chart V2: the bundled PostgreSQL and MinIO off, secrets by name and key only."""
    values = yaml.safe_load((HELM / "airbyte-values.yaml").read_text())
    assert values["postgresql"]["enabled"] is False and values["minio"]["enabled"] is False
    database = values["global"]["database"]
    assert database["type"] == "external"
    assert database["host"] == "postgresql.data-platform-storage.svc.cluster.local"
    assert (database["secretName"], database["userSecretKey"], database["passwordSecretKey"]) == (
        "airbyte-database",
        "DATABASE_USER",
        "DATABASE_PASSWORD",
    )
    assert "password" not in database and "user" not in database
    storage = values["global"]["storage"]
    assert storage["type"] == "minio"
    assert storage["secretName"] == "airbyte-storage"  # pragma: allowlist secret
    assert (
        storage["minio"]["endpoint"] == "https://minio.data-platform-storage.svc.cluster.local:9000"
    )
    assert "accessKeyId" not in storage["minio"] and "secretAccessKey" not in storage["minio"]
