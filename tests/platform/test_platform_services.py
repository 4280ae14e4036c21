"""The loopback platform as an operator uses it: status, a second ``up``, the shell
environment of ``platform env``, and Dagster's instance on its PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import psycopg2
import yaml

from lakehouse.loopback.dagster_instance import PASSWORD_ENV, STORAGES, instance_config
from lakehouse.loopback.platform import status, up
from lakehouse.settings import REPO_ROOT, load_settings

HELM_VALUES = REPO_ROOT / "deploy" / "helm" / "dagster-values.yaml"


def test_every_service_reports_ready_and_a_second_up_restarts_nothing(platform):
    before = {service.name: service.pid for service in status(platform)}
    lines: list[str] = []

    up(platform, say=lines.append)

    assert {service.name: service.pid for service in status(platform)} == before
    assert not [line for line in lines if "started" in line]


def test_platform_env_prints_no_secret_and_gives_working_settings(platform, platform_secrets):
    printed = subprocess.run(
        [sys.executable, "-m", "lakehouse.loopback", "env"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not [value for value in platform_secrets.values() if value in printed]

    shell = f'eval "$({sys.executable} -m lakehouse.loopback env)" && env -0'
    environ = subprocess.run(["bash", "-c", shell], capture_output=True, check=True).stdout
    variables = dict(item.split("=", 1) for item in environ.decode().split("\0") if "=" in item)
    settings = load_settings({k: v for k, v in variables.items() if k.startswith("LAKEHOUSE_")})

    assert settings.runtime == "platform"
    assert (
        settings.catalog_client_secret.get_secret_value()
        == platform_secrets["client_lakehouse_pipelines"]
    )
    assert variables["PGPASSFILE"] == str(platform.pgpass_file)
    assert variables[PASSWORD_ENV] == platform_secrets["postgres_dagster"]


def test_the_dagster_instance_matches_the_helm_values(platform):
    """The chart renders run, event-log and schedule storage from ``postgresql``; the loopback
    instance has the same three storages with the same keys, only the values differ."""
    values = yaml.safe_load(HELM_VALUES.read_text())
    helm = values["postgresql"]
    config = instance_config(platform)

    assert helm["enabled"] is False and values["global"]["postgresqlSecretName"]
    for storage, (module, cls) in STORAGES.items():
        assert config[storage]["module"] == module and config[storage]["class"] == cls
        database = config[storage]["config"]["postgres_db"]
        # The chart's keys: postgresqlHost, Username, Database, service.port, Params, Scheme, the secret.
        assert set(database) == {
            "hostname",
            "username",
            "db_name",
            "port",
            "params",
            "password",
            "scheme",
        }
        assert database["scheme"] == helm["postgresqlScheme"]
        assert database["password"] == {"env": PASSWORD_ENV}
        assert database["port"] == helm["service"]["port"]
        assert set(database["params"]) == set(helm["postgresqlParams"])


def test_the_dagster_instance_stores_runs_in_the_loopback_postgresql(
    platform, platform_secrets, tmp_path, monkeypatch
):
    monkeypatch.setenv(PASSWORD_ENV, platform_secrets["postgres_dagster"])

    @dg.asset
    def probe() -> int:
        return 1

    with dg.instance_for_test(
        temp_dir=str(tmp_path), overrides=instance_config(platform)
    ) as instance:
        result = dg.materialize([probe], instance=instance)
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"

    with (
        psycopg2.connect(
            host="127.0.0.1",
            port=5432,
            user="loopback_dagster",
            dbname="loopback_dagster",
            password=os.environ[PASSWORD_ENV],
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("select status from runs where run_id = %s", (result.run_id,))
        assert cursor.fetchone() == ("SUCCESS",)
