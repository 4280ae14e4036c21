"""The Iceberg REST catalog on loopback: the Iceberg project's own REST server (its JdbcCatalog
on PostgreSQL, S3FileIO on the loopback S3) behind a check that accepts only bearer tokens of the
loopback realm for the catalog's audience (deploy/loopback/rest-catalog/RestCatalogServer.java).

It stands in for Lakekeeper, which is not published where these machines can fetch it, and keeps
Iceberg's semantics whole: table branches and tags, the snapshot history, snapshot expiry through
the commit API. docs/platform-loopback.md lists what differs from Lakekeeper.

Its class path is ``classpath.lock`` beside the server's source: every jar pinned by SHA-256,
downloaded once into the cache and verified before each start. The server is compiled once per
source, lock and JDK into the cache, so a warm start compiles nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from lakehouse.loopback.artifacts import Artifact, fetch, read_pins, sha256_of
from lakehouse.loopback.layout import HOST, Layout, LoopbackError, java_major
from lakehouse.loopback.postgres import jdbc_url
from lakehouse.loopback.processes import Launch
from lakehouse.loopback.storage import WAREHOUSE_BUCKET, WAREHOUSE_PREFIX
from lakehouse.settings import REPO_ROOT

PROJECT = REPO_ROOT / "deploy" / "loopback" / "rest-catalog"
SOURCE = PROJECT / "RestCatalogServer.java"
LOCK = PROJECT / "classpath.lock"
MAIN_CLASS = "RestCatalogServer"
WAREHOUSE = "lakehouse"  # the warehouse clients ask for, as LAKEHOUSE_WAREHOUSE on the platform
CATALOG = "lakehouse"  # the JdbcCatalog's name: the key of its rows in loopback_catalog
AUDIENCE = "lakekeeper"  # the realm's catalog scope adds it (deploy/keycloak/lakehouse-realm.json)
JVM = [
    "-Xms32m",
    "-Xmx384m",
    "-XX:+UseSerialGC",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    # The servlet logs every 4xx (a missing view, an existing namespace) with a stack trace;
    # the clients get each error's message, and the server logs its 5xx itself.
    "-Dorg.slf4j.simpleLogger.log.org.apache.iceberg.rest.RESTCatalogServlet=off",
]


def classpath(layout: Layout) -> list[Path]:
    """Every locked jar, downloaded when missing and verified against the lock."""
    return [fetch(artifact, layout) for artifact in read_pins(LOCK).values()]


def compiled(layout: Layout, java_home: Path, jars: list[Path]) -> Path:
    """The server's classes, compiled once per source, lock and JDK major version."""
    key = hashlib.sha256(
        SOURCE.read_bytes() + LOCK.read_bytes() + str(java_major(java_home)).encode()
    ).hexdigest()[:16]
    target = layout.cache / "rest-catalog" / key
    if not (target / ".complete").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        javac = subprocess.run(
            [
                str(java_home / "bin" / "javac"),
                "-d",
                str(staging),
                "-cp",
                ":".join(map(str, jars)),
                str(SOURCE),
            ],
            capture_output=True,
            text=True,
        )
        if javac.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            layout.log_file("rest-catalog").write_text(javac.stdout + javac.stderr)
            raise LoopbackError(
                f"compiling {SOURCE.name} failed; see {layout.log_file('rest-catalog')}"
            )
        (staging / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)
    return target


def server_properties(layout: Layout) -> dict[str, str]:
    """The server's configuration: no secret (PostgreSQL: PGPASSFILE; S3: AWS_* variables)."""
    return {
        "server.host": HOST,
        "server.port": str(layout.ports["catalog"]),
        "auth.issuer": layout.issuer,
        "auth.jwks-uri": f"{layout.issuer}/protocol/openid-connect/certs",
        "auth.audience": AUDIENCE,
        "catalog.name": CATALOG,
        "catalog.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        "catalog.uri": jdbc_url("loopback_catalog"),
        "catalog.jdbc.user": "loopback_catalog",
        # V1: the catalog's tables hold views too.
        "catalog.jdbc.schema-version": "V1",
        "catalog.warehouse": f"s3://{WAREHOUSE_BUCKET}/{WAREHOUSE_PREFIX}",
        "catalog.io-impl": "org.apache.iceberg.aws.s3.S3FileIO",
        "catalog.s3.endpoint": layout.url("s3"),
        "catalog.s3.path-style-access": "true",
        "catalog.client.region": "us-east-1",
    }


def ready_check(layout: Layout) -> Callable[[], bool]:
    """Ready when the catalog answers, and refuses a request without a token (401)."""

    def ready() -> bool:
        try:
            urllib.request.urlopen(f"{layout.url('catalog')}/v1/config", timeout=2).close()
        except urllib.error.HTTPError as error:
            return error.code == 401
        raise LoopbackError(f"the REST catalog on {layout.url('catalog')} answers without a token")

    return ready


def launch(layout: Layout, secrets: dict[str, str], java_home: Path) -> Launch:
    jars = classpath(layout)
    classes = compiled(layout, java_home, jars)
    workdir = layout.service_dir("rest-catalog")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "server.properties"
    properties = server_properties(layout)
    config.write_text("".join(f"{key}={properties[key]}\n" for key in sorted(properties)))
    return Launch(
        name="rest-catalog",
        argv=[
            str(java_home / "bin" / "java"),
            *JVM,
            "-cp",
            ":".join(map(str, [classes, *jars])),
            MAIN_CLASS,
            str(config),
        ],
        ports=["catalog"],
        ready=ready_check(layout),
        env={
            "PGPASSFILE": str(layout.pgpass_file),
            "AWS_ACCESS_KEY_ID": secrets["s3_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": secrets["s3_secret_access_key"],
            "AWS_REGION": "us-east-1",
        },
        cwd=workdir,
        timeout_seconds=180,
    )


def write_lock(lock: Path = LOCK, pom: Path = PROJECT / "pom.xml") -> list[Artifact]:
    """Resolve ``pom`` with Maven (strict checksums, an empty local repository) and write every
    runtime jar with its SHA-256 to ``lock``. Run after changing a version in the pom."""
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "dependencies.txt"
        maven = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                "-C",  # a file whose checksum differs from the repository's fails the build
                "-f",
                str(pom),
                f"-Dmaven.repo.local={scratch}/repository",
                "dependency:list",
                "-DincludeScope=runtime",
                "-DoutputAbsoluteArtifactFilename=true",
                f"-DoutputFile={listing}",
            ],
            capture_output=True,
            text=True,
        )
        if maven.returncode != 0:
            raise LoopbackError(f"mvn dependency:list of {pom} failed:\n{maven.stdout[-3000:]}")
        resolved = parse_dependency_list(listing.read_text())
        lines = [
            "# The REST catalog's class path (pom.xml beside this file), resolved by Maven with",
            "# strict checksums; each jar is verified against its SHA-256 before use.",
            "# Generated by `python -m lakehouse.loopback lock-rest-catalog`; do not edit by hand.",
        ]
        for coordinate, path in sorted(resolved.items()):
            name = ":".join(coordinate.split(":")[1:2] + coordinate.split(":")[4:])
            lines += [
                "",
                f'["{name}"]',
                f'coordinate = "{coordinate}"',
                f'sha256 = "{sha256_of(path)}"  # pragma: allowlist secret',
            ]
        lock.write_text("\n".join(lines) + "\n")
    return list(read_pins(lock).values())


def parse_dependency_list(text: str) -> dict[str, Path]:
    """``dependency:list`` lines -> {``group:artifact:version:type[:classifier]``: file}."""
    resolved = {}
    for line in text.splitlines():
        entry = line.strip().split(" -- ", 1)[0]  # the plugin appends "-- module NAME"
        fields = entry.split(":")
        if len(fields) not in (6, 7) or not fields[-1].startswith("/"):
            continue
        group, artifact, kind, *classifier, version, _scope, path = fields
        coordinate = ":".join([group, artifact, version, kind, *classifier])
        resolved[coordinate] = Path(path)
    return resolved
