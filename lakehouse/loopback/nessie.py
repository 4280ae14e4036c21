"""The Iceberg REST catalog on loopback: Project Nessie's server, accepting only bearer tokens
of the loopback realm (Quarkus OIDC: signature by the realm's keys, issuer, audience
``lakekeeper``, expiry), its version store in PostgreSQL, its warehouse in S3.

Nessie stands in for Lakekeeper, which is not published where these machines can fetch it;
docs/platform-loopback.md lists what differs (Iceberg table branches above all).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse.loopback.artifacts import fetch, read_pins
from lakehouse.loopback.layout import HOST, Layout
from lakehouse.loopback.postgres import jdbc_url
from lakehouse.loopback.processes import Launch
from lakehouse.loopback.storage import WAREHOUSE_BUCKET

WAREHOUSE = (
    "lakehouse"  # the warehouse name clients ask for, as LAKEHOUSE_WAREHOUSE on the platform
)
AUDIENCE = "lakekeeper"  # the realm's catalog scope adds it (deploy/keycloak/lakehouse-realm.json)
HEAP = ["-Xms64m", "-Xmx384m"]


def _properties(layout: Layout) -> dict[str, str]:
    s3 = "nessie.catalog.service.s3.default-options"
    return {
        "quarkus.http.host": HOST,
        "quarkus.http.port": str(layout.ports["catalog"]),
        "quarkus.management.host": HOST,
        "quarkus.management.port": str(layout.ports["catalog_management"]),
        "quarkus.otel.sdk.disabled": "true",
        # Version store: PostgreSQL (password from the environment, below).
        "nessie.version.store.type": "JDBC2",
        "nessie.version.store.persist.jdbc.datasource": "postgresql",
        "quarkus.datasource.postgresql.active": "true",
        "quarkus.datasource.postgresql.jdbc.url": jdbc_url("loopback_catalog"),
        "quarkus.datasource.postgresql.username": "loopback_catalog",
        "quarkus.datasource.postgresql.password": "${LOOPBACK_CATALOG_DB_PASSWORD}",
        # Authentication: bearer tokens of the loopback realm only, for the catalog's audience.
        "nessie.server.authentication.enabled": "true",
        "quarkus.oidc.auth-server-url": layout.issuer,
        "quarkus.oidc.client-id": "lakehouse-catalog",
        "quarkus.oidc.application-type": "service",
        "quarkus.oidc.token.audience": AUDIENCE,
        "quarkus.oidc.token.issuer": layout.issuer,
        # Keycloak may still be starting: keep trying its discovery document instead of failing.
        "quarkus.oidc.connection-delay": "5M",
        # Warehouse and S3 (keys from the environment, below).
        "nessie.catalog.default-warehouse": WAREHOUSE,
        f"nessie.catalog.warehouses.{WAREHOUSE}.location": f"s3://{WAREHOUSE_BUCKET}/",
        f"{s3}.endpoint": layout.url("s3") + "/",
        f"{s3}.path-style-access": "true",
        f"{s3}.region": "us-east-1",
        f"{s3}.request-signing-enabled": "false",
        f"{s3}.access-key": "urn:nessie-secret:quarkus:loopback.s3",
        "loopback.s3.name": "${LOOPBACK_S3_ACCESS_KEY_ID}",
        "loopback.s3.secret": "${LOOPBACK_S3_SECRET_ACCESS_KEY}",
        # Nessie tells pyiceberg to use its fsspec FileIO (s3fs, not in the lock): the pyarrow one.
        f"{s3}.table-config-overrides.py-io-impl": "pyiceberg.io.pyarrow.PyArrowFileIO",
    }


def ready_check(layout: Layout) -> Callable[[], bool]:
    management = layout.ports["catalog_management"]

    def ready() -> bool:
        with urllib.request.urlopen(f"http://{HOST}:{management}/q/health/ready", timeout=2):
            return True

    return ready


def launch(layout: Layout, secrets: dict[str, str], java_home: Path) -> Launch:
    jar = fetch(read_pins()["nessie"], layout)
    workdir = layout.service_dir("nessie")
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={value}" for key, value in sorted(_properties(layout).items())]
    # Quarkus reads ./config/application.properties; secrets stay in the environment.
    (workdir / "config" / "application.properties").write_text("\n".join(lines) + "\n")
    return Launch(
        name="nessie",
        argv=[str(java_home / "bin" / "java"), *HEAP, "-jar", str(jar)],
        ports=["catalog", "catalog_management"],
        ready=ready_check(layout),
        env={
            "LOOPBACK_CATALOG_DB_PASSWORD": secrets["postgres_catalog"],
            "LOOPBACK_S3_ACCESS_KEY_ID": secrets["s3_access_key_id"],
            "LOOPBACK_S3_SECRET_ACCESS_KEY": secrets["s3_secret_access_key"],
        },
        cwd=workdir,
        timeout_seconds=300,
    )
