"""Keycloak from Maven Central on the platform's PostgreSQL, the realm imported from
deploy/keycloak/lakehouse-realm.json with its client secrets injected from the environment."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse.loopback.artifacts import read_pins, unpacked
from lakehouse.loopback.layout import HOST, REALM, Layout, LoopbackError
from lakehouse.loopback.postgres import jdbc_url
from lakehouse.loopback.processes import Launch
from lakehouse.settings import REPO_ROOT

REALM_FILE = REPO_ROOT / "deploy" / "keycloak" / "lakehouse-realm.json"
HEAP = "-Xms64m -Xmx512m"
# realm-file placeholder -> secret name in the loopback secrets file
CLIENT_SECRETS = {
    "CLIENT_SECRET_LAKEHOUSE_PIPELINES": "client_lakehouse_pipelines",  # pragma: allowlist secret
    "CLIENT_SECRET_LAKEHOUSE_DBT": "client_lakehouse_dbt",  # pragma: allowlist secret
    "CLIENT_SECRET_LAKEHOUSE_UPKEEP": "client_lakehouse_upkeep",  # pragma: allowlist secret
    "CLIENT_SECRET_TRINO": "client_trino",  # pragma: allowlist secret
    "CLIENT_SECRET_OAUTH2_PROXY": "client_oauth2_proxy",  # pragma: allowlist secret
    "CLIENT_SECRET_MINIO": "client_minio",  # pragma: allowlist secret
    "CLIENT_SECRET_LAKEKEEPER_ACCESS": "client_lakekeeper_access",  # pragma: allowlist secret
}


def installed(layout: Layout, java_home: Path) -> Path:
    """This platform's Keycloak: unpacked from the cached zip and built for PostgreSQL, once.

    A copy per platform directory, not the cache's: Keycloak writes its build and data under
    its home, and the realm import reads ``data/import`` there.
    """
    home = layout.service_dir("keycloak") / "dist"
    if not (home / ".built").exists():
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(unpacked(read_pins()["keycloak"], layout), home, symlinks=True)
        build = subprocess.run(
            [str(home / "bin" / "kc.sh"), "build", "--db=postgres", "--health-enabled=true"],
            env={"JAVA_HOME": str(java_home), "PATH": f"{java_home}/bin:/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        if build.returncode != 0:
            layout.log_file("keycloak").write_text(build.stdout + build.stderr)
            raise LoopbackError(f"keycloak build failed; see {layout.log_file('keycloak')}")
        (home / ".built").touch()
    import_dir = home / "data" / "import"
    import_dir.mkdir(parents=True, exist_ok=True)
    # Keycloak imports <realm>-realm.json from there (the name must match the realm's).
    shutil.copyfile(REALM_FILE, import_dir / f"{REALM}-realm.json")
    return home


def realm_stamp(secrets: dict[str, str]) -> str:
    """What Keycloak's database was made from: the realm file and this platform's client
    secrets. Keycloak imports a realm only when it is missing, so a database imported by another
    checkout's platform (other secrets) or from an older realm file must be made again."""
    digest = hashlib.sha256(REALM_FILE.read_bytes())
    for variable, name in sorted(CLIENT_SECRETS.items()):
        digest.update(f"\0{variable}={secrets[name]}".encode())
    return f"lakehouse loopback realm {digest.hexdigest()}"


def ready_check(layout: Layout) -> Callable[[], bool]:
    management = layout.ports["keycloak_management"]

    def ready() -> bool:
        with urllib.request.urlopen(f"http://{HOST}:{management}/health/ready", timeout=2):
            pass
        # Ready means the import is done too: the realm's discovery document answers.
        with urllib.request.urlopen(f"{layout.issuer}/.well-known/openid-configuration", timeout=2):
            return True

    return ready


def launch(layout: Layout, secrets: dict[str, str], java_home: Path) -> Launch:
    home = installed(layout, java_home)
    management = layout.ports["keycloak_management"]

    env = {
        "JAVA_HOME": str(java_home),
        "JAVA_OPTS_KC_HEAP": HEAP,
        "KC_DB_URL": jdbc_url("loopback_keycloak"),
        "KC_DB_USERNAME": "loopback_keycloak",
        "KC_DB_PASSWORD": secrets["postgres_keycloak"],
        "KC_HTTP_ENABLED": "true",
        "KC_HTTP_HOST": HOST,
        "KC_HTTP_PORT": str(layout.ports["keycloak"]),
        "KC_HTTP_MANAGEMENT_PORT": str(management),
        "KC_HOSTNAME": layout.url("keycloak"),
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": secrets["keycloak_admin"],
        "REALM_NAME": REALM,
        # Where the login clients' browsers come back to (the platform: its ingress hosts).
        "TRINO_EXTERNAL_URL": layout.url("trino", "https"),
        "DAGSTER_EXTERNAL_URL": "http://127.0.0.1:3000",
        "DAGSTER_READ_ONLY_EXTERNAL_URL": "http://127.0.0.1:3001",
        "MINIO_CONSOLE_URL": layout.url("s3"),
        **{variable: secrets[name] for variable, name in CLIENT_SECRETS.items()},
    }
    return Launch(
        name="keycloak",
        argv=[str(home / "bin" / "kc.sh"), "start", "--optimized", "--import-realm"],
        ports=["keycloak", "keycloak_management"],
        ready=ready_check(layout),
        env=env,
        timeout_seconds=420,
    )
