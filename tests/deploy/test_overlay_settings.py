"""Each overlay's LAKEHOUSE_* ConfigMap is a valid platform configuration for the code."""

from __future__ import annotations

import pytest
from deploy_checks import Doc

from lakehouse.engine_conf import SECRET_SETTINGS, settings_from_config
from lakehouse.settings import SettingsError

SPARK_CONNECT_PORT_NAME = "grpc"


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
