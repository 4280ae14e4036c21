"""Iceberg catalog configuration for Spark and Trino, derived from the code's own settings.

One source of truth: the ``LAKEHOUSE_*`` values that configure the Python code also configure
the engines, so Spark, Trino and pyiceberg always open the same catalog. Secrets are never
written out: each output names the environment variable (or file) the engine reads them from.

``python -m lakehouse.engine_conf spark|trino --env-file FILE`` prints the files kept under
``deploy/``; a test checks that the committed files equal this output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from lakehouse.settings import Settings, load_settings

# Environment variables the engine pods define from Kubernetes Secrets (never from ConfigMaps).
# ICEBERG_REST_CREDENTIAL is "<client id>:<client secret>", composed by the pod spec.
REST_CREDENTIAL_ENV = "ICEBERG_REST_CREDENTIAL"
S3_ACCESS_KEY_ENV = "LAKEHOUSE_S3_ACCESS_KEY_ID"
S3_SECRET_KEY_ENV = "LAKEHOUSE_S3_SECRET_ACCESS_KEY"  # pragma: allowlist secret
CLIENT_ID_ENV = "LAKEHOUSE_CATALOG_CLIENT_ID"
CLIENT_SECRET_ENV = "LAKEHOUSE_CATALOG_CLIENT_SECRET"  # pragma: allowlist secret

# Settings the platform keeps in Kubernetes Secrets. Generated engine files only name the
# variables, so a placeholder stands in for them when settings are built from a ConfigMap.
SECRET_SETTINGS = (
    "LAKEHOUSE_CATALOG_CLIENT_SECRET",
    "LAKEHOUSE_S3_ACCESS_KEY_ID",
    "LAKEHOUSE_S3_SECRET_ACCESS_KEY",
    "LAKEHOUSE_AIRBYTE_CLIENT_SECRET",
    "LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET",
)

ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


def jdbc_url(sqlalchemy_url: str) -> tuple[str, str | None]:
    """``postgresql+psycopg2://user@host:5432/db`` -> (``jdbc:postgresql://host:5432/db``, user).

    A password in the URL is refused: the engines read it from ``PGPASSFILE`` (libpq and the
    PostgreSQL JDBC driver both do), so it never lands in an engine's configuration.
    """
    parts = urlsplit(sqlalchemy_url)
    if not parts.scheme.startswith("postgresql"):
        raise ValueError(f"the JDBC catalog needs a PostgreSQL URL, got {parts.scheme}://...")
    if parts.password:
        raise ValueError("the catalog URL holds a password; keep it in PGPASSFILE instead")
    port = f":{parts.port}" if parts.port else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"jdbc:postgresql://{parts.hostname}{port}{parts.path}{query}", parts.username


def spark_catalog_conf(settings: Settings) -> dict[str, str]:
    """Spark conf registering the Iceberg catalog ``settings.catalog_name``."""
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    conf = {
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.warehouse": settings.warehouse_location,
    }
    if settings.catalog_type == "rest":
        conf |= {f"{prefix}.type": "rest", f"{prefix}.uri": settings.catalog_uri or ""}
        if settings.catalog_client_id:
            # Iceberg's REST catalog resolves "env:NAME" values itself (EnvironmentUtil).
            conf |= {
                f"{prefix}.credential": f"env:{REST_CREDENTIAL_ENV}",
                f"{prefix}.scope": settings.catalog_scope,
            }
            if settings.catalog_oauth2_server_uri:
                conf[f"{prefix}.oauth2-server-uri"] = settings.catalog_oauth2_server_uri
    else:
        url, user = jdbc_url(settings.sql_catalog_uri)
        conf |= {f"{prefix}.type": "jdbc", f"{prefix}.uri": url}
        if user:
            conf[f"{prefix}.jdbc.user"] = user
    if settings.s3_endpoint:
        # S3FileIO takes its keys from the AWS default chain (AWS_ACCESS_KEY_ID, ... in the pod).
        conf |= {
            f"{prefix}.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
            f"{prefix}.s3.endpoint": settings.s3_endpoint,
            f"{prefix}.s3.path-style-access": str(settings.s3_path_style).lower(),
            f"{prefix}.client.region": settings.s3_region,
        }
    return conf


MAX_PARTITIONS_PER_WRITER = 20_000


def trino_catalog_properties(settings: Settings) -> dict[str, str]:
    """Trino Iceberg connector properties for the same catalog; secrets as ``${ENV:...}``."""
    props = {
        "connector.name": "iceberg",
        # Trino's default, 100, fails a backfill of the daily tables as one insert (a first run
        # writes the whole history: ~9,800 days); each open writer of a small day is small.
        "iceberg.max-partitions-per-writer": str(MAX_PARTITIONS_PER_WRITER),
    }
    if settings.catalog_type == "rest":
        props |= {
            "iceberg.catalog.type": "rest",
            "iceberg.rest-catalog.uri": settings.catalog_uri or "",
            "iceberg.rest-catalog.warehouse": settings.warehouse_location,
        }
        if settings.catalog_client_id:
            props |= {
                "iceberg.rest-catalog.security": "OAUTH2",
                "iceberg.rest-catalog.oauth2.credential": (
                    f"${{ENV:{CLIENT_ID_ENV}}}:${{ENV:{CLIENT_SECRET_ENV}}}"
                ),
                "iceberg.rest-catalog.oauth2.scope": settings.catalog_scope,
            }
            if settings.catalog_oauth2_server_uri:
                props["iceberg.rest-catalog.oauth2.server-uri"] = settings.catalog_oauth2_server_uri
    else:
        url, user = jdbc_url(settings.sql_catalog_uri)
        props |= {
            "iceberg.catalog.type": "jdbc",
            "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
            "iceberg.jdbc-catalog.connection-url": url,
            # The JDBC catalog keys its rows by catalog name: it must be the code's name.
            "iceberg.jdbc-catalog.catalog-name": settings.catalog_name,
            "iceberg.jdbc-catalog.default-warehouse-dir": settings.warehouse_location,
        }
        if user:
            props["iceberg.jdbc-catalog.connection-user"] = user
    if settings.s3_endpoint:
        props |= {
            "fs.native-s3.enabled": "true",
            "s3.endpoint": settings.s3_endpoint,
            "s3.region": settings.s3_region,
            "s3.path-style-access": str(settings.s3_path_style).lower(),
            "s3.aws-access-key": f"${{ENV:{S3_ACCESS_KEY_ENV}}}",
            "s3.aws-secret-key": f"${{ENV:{S3_SECRET_KEY_ENV}}}",
        }
    return props


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (the format of a kustomize ``envs`` file); comments skipped."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def settings_from_config(config: dict[str, str]) -> Settings:
    """Settings from a deploy ConfigMap's values, with placeholders for the Secret's keys."""
    return load_settings({**dict.fromkeys(SECRET_SETTINGS, "<from-secret>"), **config})


def render_properties(values: dict[str, str], separator: str = "=") -> str:
    """Sorted ``key<sep>value`` lines, the form of spark-defaults.conf and Trino catalogs."""
    header = "# Generated by `python -m lakehouse.engine_conf`; do not edit by hand.\n"
    return header + "".join(f"{key}{separator}{values[key]}\n" for key in sorted(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["spark", "trino"])
    parser.add_argument("--env-file", type=Path, required=True, help="LAKEHOUSE_* values file")
    args = parser.parse_args(argv)
    settings = settings_from_config(read_env_file(args.env_file))
    if args.engine == "spark":
        sys.stdout.write(render_properties(spark_catalog_conf(settings), " "))
    else:
        sys.stdout.write(render_properties(trino_catalog_properties(settings)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
