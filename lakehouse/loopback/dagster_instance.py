"""The Dagster instance of the loopback platform: run, event-log and schedule storage in
PostgreSQL through dagster-postgres, as deploy/helm/dagster-values.yaml gives the platform's
(the chart renders the same three storages from its ``postgresql`` values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lakehouse.loopback.layout import HOST, POSTGRES_PORT, Layout

ROLE = "loopback_dagster"
PASSWORD_ENV = "DAGSTER_PG_PASSWORD"  # pragma: allowlist secret (a variable name)
STORAGES = {
    "run_storage": ("dagster_postgres.run_storage", "PostgresRunStorage"),
    "event_log_storage": ("dagster_postgres.event_log", "PostgresEventLogStorage"),
    "schedule_storage": ("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
}


def postgres_db(layout: Layout) -> dict[str, Any]:
    """The ``postgres_db`` block: the chart's keys; the password from the environment."""
    del layout  # one shared PostgreSQL server, whatever the platform directory
    return {
        "hostname": HOST,
        "port": POSTGRES_PORT,
        "username": ROLE,
        "password": {"env": PASSWORD_ENV},
        "db_name": ROLE,
        # The platform's server requires TLS (postgresqlParams.sslmode); the loopback's has none.
        "params": {"sslmode": "disable"},
        # The chart's postgresqlScheme: SQLAlchemy 2.1 maps postgresql:// to psycopg 3.
        "scheme": "postgresql+psycopg2",
    }


def instance_config(layout: Layout) -> dict[str, Any]:
    """dagster.yaml for ``DAGSTER_HOME=<platform dir>/dagster``."""
    database = postgres_db(layout)
    return {
        name: {"module": module, "class": cls, "config": {"postgres_db": database}}
        for name, (module, cls) in STORAGES.items()
    } | {"telemetry": {"enabled": False}}


def write_instance(layout: Layout) -> Path:
    home = layout.service_dir("dagster")
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(layout), sort_keys=False))
    return home
