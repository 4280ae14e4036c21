"""Spark and Trino open the catalog the code opens: one source of truth, LAKEHOUSE_* settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from deploy_checks import ENVIRONMENTS, OVERLAYS, REPO_ROOT

from lakehouse.engine_conf import (
    SECRET_SETTINGS,
    jdbc_url,
    main,
    settings_from_config,
    spark_catalog_conf,
    trino_catalog_properties,
)
from lakehouse.settings import load_settings

sys.path.insert(0, str(REPO_ROOT / "deploy" / "kustomize"))
import sync_engine_conf

REST = {
    "LAKEHOUSE_CATALOG_NAME": "lakehouse",
    "LAKEHOUSE_CATALOG_TYPE": "rest",
    "LAKEHOUSE_CATALOG_URI": "http://catalog:8181/catalog",
    "LAKEHOUSE_WAREHOUSE": "lakehouse",
    "LAKEHOUSE_CATALOG_OAUTH2_SERVER_URI": "http://keycloak:8080/realms/x/protocol/openid-connect/token",
    "LAKEHOUSE_CATALOG_CLIENT_ID": "pipelines",
    "LAKEHOUSE_CATALOG_CLIENT_SECRET": "s3cr3t-client",  # pragma: allowlist secret
    "LAKEHOUSE_S3_ENDPOINT": "http://minio:9000",
    "LAKEHOUSE_S3_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
    "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "s3cr3t-key",  # pragma: allowlist secret
}
SQL = {
    "LAKEHOUSE_CATALOG_TYPE": "sql",
    "LAKEHOUSE_CATALOG_URI": "postgresql+psycopg2://iceberg@pg.example:5432/iceberg_catalog?sslmode=require",
    "LAKEHOUSE_WAREHOUSE": "s3://iceberg-warehouse/lakehouse",
    "LAKEHOUSE_S3_ENDPOINT": "http://minio:9000",
    "LAKEHOUSE_S3_PATH_STYLE": "false",
}
URL_WITH_PASSWORD = "postgresql+psycopg2://iceberg:hunter2@pg:5432/db"  # pragma: allowlist secret
SECRETS = ("s3cr3t-client", "AKIAEXAMPLEKEY", "s3cr3t-key")


def _parse(text: str, separator: str) -> dict[str, str]:
    pairs = (
        line.split(separator, 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def test_rest_catalog_conf_for_spark():
    conf = spark_catalog_conf(load_settings(REST))
    p = "spark.sql.catalog.lakehouse"
    assert conf[p] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf[f"{p}.type"] == "rest" and conf[f"{p}.uri"] == REST["LAKEHOUSE_CATALOG_URI"]
    assert conf[f"{p}.warehouse"] == "lakehouse"
    assert conf[f"{p}.credential"] == "env:ICEBERG_REST_CREDENTIAL"
    assert conf[f"{p}.oauth2-server-uri"] == REST["LAKEHOUSE_CATALOG_OAUTH2_SERVER_URI"]
    assert conf[f"{p}.io-impl"] == "org.apache.iceberg.aws.s3.S3FileIO"
    assert conf[f"{p}.s3.endpoint"] == "http://minio:9000"
    assert conf[f"{p}.s3.path-style-access"] == "true"


def test_jdbc_catalog_conf_for_spark_uses_a_jdbc_url_and_no_password():
    conf = spark_catalog_conf(load_settings({**SQL, "LAKEHOUSE_CATALOG_NAME": "lh"}))
    assert conf["spark.sql.catalog.lh.type"] == "jdbc"
    assert (
        conf["spark.sql.catalog.lh.uri"]
        == "jdbc:postgresql://pg.example:5432/iceberg_catalog?sslmode=require"
    )
    assert conf["spark.sql.catalog.lh.jdbc.user"] == "iceberg"
    assert conf["spark.sql.catalog.lh.s3.path-style-access"] == "false"
    assert not any("password" in key for key in conf)


def test_trino_properties_for_both_catalogs():
    rest = trino_catalog_properties(load_settings(REST))
    assert rest["iceberg.catalog.type"] == "rest"
    assert rest["iceberg.rest-catalog.security"] == "OAUTH2"
    assert rest["iceberg.rest-catalog.oauth2.credential"] == (
        "${ENV:LAKEHOUSE_CATALOG_CLIENT_ID}:${ENV:LAKEHOUSE_CATALOG_CLIENT_SECRET}"
    )
    assert rest["s3.path-style-access"] == "true"
    assert rest["s3.aws-secret-key"] == "${ENV:LAKEHOUSE_S3_SECRET_ACCESS_KEY}"
    sql = trino_catalog_properties(load_settings(SQL))
    assert sql["iceberg.catalog.type"] == "jdbc"
    assert sql["iceberg.jdbc-catalog.catalog-name"] == "lakehouse"  # the code's catalog name
    assert sql["iceberg.jdbc-catalog.connection-url"].startswith(
        "jdbc:postgresql://pg.example:5432/"
    )


@pytest.mark.parametrize("env", [REST, SQL])
def test_no_secret_value_is_ever_written(env):
    settings = load_settings(env)
    rendered = str(spark_catalog_conf(settings)) + str(trino_catalog_properties(settings))
    assert not any(secret in rendered for secret in SECRETS)


def test_a_password_in_the_catalog_url_is_refused():
    with pytest.raises(ValueError, match="PGPASSFILE"):
        jdbc_url(URL_WITH_PASSWORD)
    with pytest.raises(ValueError, match="PostgreSQL"):
        jdbc_url("sqlite:///catalog.db")


def test_the_cli_prints_the_committed_files(capsys):
    overlay = OVERLAYS / "prod"
    assert main(["spark", "--env-file", str(overlay / "lakehouse.env")]) == 0
    assert capsys.readouterr().out == (overlay / "spark-defaults.conf").read_text()
    assert main(["trino", "--env-file", str(overlay / "lakehouse.env")]) == 0
    assert capsys.readouterr().out == (overlay / "trino-iceberg.properties").read_text()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_generated_engine_files_are_current(env):
    """Run deploy/kustomize/sync_engine_conf.py after editing an overlay's lakehouse.env."""
    for path, text in sync_engine_conf.render(OVERLAYS / env).items():
        assert Path(path).read_text() == text, f"{path.name} is stale"


def _configmap(docs, name):
    return next(
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(name)
    )


def test_deployed_engines_get_the_code_settings_conf(env_docs):
    """Settings from the deployed ConfigMap -> the functions' output == what the engines load."""
    _, docs = env_docs
    config = _configmap(docs, "lakehouse-settings")["data"]
    assert not set(config) & set(SECRET_SETTINGS), "secret settings belong in the Secret"
    settings = settings_from_config(config)
    assert settings.runtime == "platform"
    expected_spark = spark_catalog_conf(settings)

    connect_conf = _configmap(docs, "spark-catalog-conf")
    assert _parse(connect_conf["data"]["spark-defaults.conf"], " ") == expected_spark
    connect = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "spark-connect"
    )
    volumes = {v["name"]: v for v in connect["spec"]["template"]["spec"]["volumes"]}
    assert volumes["catalog-conf"]["configMap"]["name"] == connect_conf["metadata"]["name"]

    app = next(d for d in docs if d["kind"] == "SparkApplication")
    spark_conf = app["spec"]["sparkConf"]
    assert {k: v for k, v in spark_conf.items() if k in expected_spark} == expected_spark

    trino = _configmap(docs, "trino-catalog-iceberg")["data"]["iceberg.properties"]
    assert _parse(trino, "=") == trino_catalog_properties(settings)


def test_engine_pods_define_the_variables_the_conf_names(env_docs):
    """env:ICEBERG_REST_CREDENTIAL and the S3 keys exist where Spark runs, from Secrets."""
    _, docs = env_docs
    connect = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "spark-connect"
    )
    app = next(d for d in docs if d["kind"] == "SparkApplication")
    for env_list in (
        connect["spec"]["template"]["spec"]["containers"][0]["env"],
        app["spec"]["driver"]["env"],
    ):
        names = {e["name"]: e for e in env_list}
        assert names["ICEBERG_REST_CREDENTIAL"]["value"] == (
            "$(LAKEHOUSE_CATALOG_CLIENT_ID):$(LAKEHOUSE_CATALOG_CLIENT_SECRET)"
        )
        for secret in (
            "LAKEHOUSE_CATALOG_CLIENT_SECRET",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ):
            assert "secretKeyRef" in names[secret]["valueFrom"]
