"""Each overlay's LAKEHOUSE_* ConfigMap is a valid platform configuration for the code."""

from __future__ import annotations

import json

import pytest
from deploy_checks import DEPLOY, Doc

from lakehouse.engine_conf import SECRET_SETTINGS, settings_from_config
from lakehouse.governance.archive import SCRATCH_NAMESPACE
from lakehouse.settings import NAMESPACES, SettingsError
from lakehouse.upkeep.rules import GOVERNANCE_NAMESPACE

SPARK_CONNECT_PORT_NAME = "grpc"
CATALOG = DEPLOY / "kustomize" / "base" / "catalog"
CATALOG_ACCESS = CATALOG / "access" / "catalog-access.json"
WAREHOUSE = CATALOG / "warehouse.json"


def _settings_configmap(docs: list[Doc]) -> dict[str, str]:
    (configmap,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "lakehouse-settings"
    ]
    return configmap["data"]


def _service_urls(docs: list[Doc], name: str) -> set[str]:
    """The in-cluster addresses of Service ``name``: host:port for each of its ports."""
    (service,) = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == name]
    host = f"{name}.{service['metadata']['namespace']}.svc.cluster.local"
    return {f"{host}:{port['port']}" for port in service["spec"]["ports"]}


def test_each_overlay_loads_as_platform_settings(env_docs):
    """load_settings rejects unknown LAKEHOUSE_* names and wrong values, naming the variable."""
    env, docs = env_docs
    config = _settings_configmap(docs)
    assert not set(config) & set(SECRET_SETTINGS), "secret settings belong in lakehouse-secrets"
    settings = settings_from_config(config)
    assert settings.runtime == "platform"
    assert settings.upkeep_compaction_engine == "trino"
    assert settings.upkeep_trino_client_id and settings.upkeep_trino_token_uri
    assert f"/realms/data-platform-{env}/" in settings.upkeep_trino_token_uri
    assert settings.backup_location and settings.backup_location.startswith("s3://backups/")


def test_spark_connect_urls_point_at_the_deployed_service(env_docs):
    _, docs = env_docs
    settings = settings_from_config(_settings_configmap(docs))
    services = _service_urls(docs, "spark-connect")
    for remote in (settings.spark_remote, settings.upkeep_spark_remote):
        # sc://host:port/;use_ssl=true: the TLS port of the Service, TLS on
        address, _, params = remote.removeprefix("sc://").partition("/;")
        assert address in services and "use_ssl=true" in params.split(";")


def test_a_typo_in_an_overlay_setting_fails(rendered):
    config = dict(_settings_configmap(rendered["prod"]))
    config["LAKEHOUSE_SPARK_REMOTTE"] = config.pop("LAKEHOUSE_SPARK_REMOTE")
    with pytest.raises(SettingsError, match="LAKEHOUSE_SPARK_REMOTTE"):
        settings_from_config(config)
    config = dict(_settings_configmap(rendered["prod"]), LAKEHOUSE_SPARK_REMOTE="spark:15002")
    with pytest.raises(SettingsError, match="LAKEHOUSE_SPARK_REMOTE"):
        settings_from_config(config)


def test_every_namespace_the_code_creates_exists_first_at_its_named_location(env_docs):
    """The catalog-access CronJob creates these at <warehouse>/<namespace>/ before Dagster
    runs (README, Installation): one the code created first would get a random location,
    which no MinIO policy names."""
    _, docs = env_docs
    settings = settings_from_config(_settings_configmap(docs))
    access = json.loads(CATALOG_ACCESS.read_text())
    warehouse = json.loads(WAREHOUSE.read_text())
    assert access["warehouse"] == settings.warehouse == warehouse["warehouse-name"]
    root = f"s3://{warehouse['storage-profile']['bucket']}/{warehouse['storage-profile']['key-prefix']}"
    restores = (settings.upkeep_restore_namespace, SCRATCH_NAMESPACE)
    for namespace in (*NAMESPACES, GOVERNANCE_NAMESPACE, *restores):
        assert access["namespaces"][namespace]["location"] == f"{root}/{namespace}/", namespace


def test_trino_users_are_the_principals_the_realms_service_accounts_present(env_docs):
    """Trino's principal is the token's preferred_username: the service account's username."""
    _, docs = env_docs
    settings = settings_from_config(_settings_configmap(docs))
    realm = json.loads((DEPLOY / "keycloak" / "lakehouse-realm.json").read_text())
    accounts = {u["username"]: u["serviceAccountClientId"] for u in realm["users"]}
    assert accounts[settings.trino_user] == "lakehouse-dbt"
    assert accounts[settings.upkeep_trino_user] == settings.upkeep_trino_client_id
