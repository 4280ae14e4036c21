"""The loopback platform's pieces that need no running platform: pins and downloads, ports,
secrets, the realm file, the shell environment, and starting/stopping a real process."""

from __future__ import annotations

import hashlib
import json
import socket
import stat
import threading
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from lakehouse.loopback import secrets as secret_store
from lakehouse.loopback.artifacts import PINS, Artifact, fetch, read_pins
from lakehouse.loopback.environment import SECRET_SETTINGS, export_lines, public_settings
from lakehouse.loopback.keycloak import CLIENT_SECRETS, REALM_FILE
from lakehouse.loopback.layout import Layout, LoopbackError, load_layout
from lakehouse.loopback.platform import RETIRED, down
from lakehouse.loopback.processes import (
    Launch,
    check_ports,
    port_free,
    running_pid,
    start,
    stop,
    wait_ready,
)
from lakehouse.loopback.rest_catalog import LOCK, parse_dependency_list, server_properties
from lakehouse.loopback.storage import launch as storage_launch
from lakehouse.settings import REPO_ROOT, load_settings


def _layout(tmp_path, **ports: int) -> Layout:
    return load_layout(
        {
            "LOOPBACK_DIR": str(tmp_path / "platform"),
            "LOOPBACK_CACHE_DIR": str(tmp_path / "cache"),
            "LOOPBACK_MAVEN_REPOSITORY": (tmp_path / "repository").as_uri(),
            **{f"LOOPBACK_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        }
    )


def _published(tmp_path, payload: bytes, pin: str) -> Artifact:
    artifact = Artifact("demo", "org.example", "demo", "1.0", "jar", None, pin)
    path = tmp_path / "repository" / "org" / "example" / "demo" / "1.0" / "demo-1.0.jar"
    path.parent.mkdir(parents=True)
    path.write_bytes(payload)
    return artifact


def test_every_pin_names_a_maven_coordinate_and_a_sha256():
    pins = read_pins()
    assert set(pins) == set(tomllib.loads(PINS.read_text()))
    for artifact in pins.values():
        assert len(artifact.sha256) == 64 and int(artifact.sha256, 16) >= 0
        assert artifact.url("https://repo").endswith(artifact.file_name)


def test_the_spark_jars_are_the_spark_image_jars():
    pinned = {a.file_name: a.sha256 for a in read_pins().values() if a.type == "jar"}
    image = (REPO_ROOT / "deploy" / "docker" / "spark-jars.sha256").read_text().split("\n")
    for line in filter(None, image):
        digest, name = line.split()
        assert pinned[name] == digest


def test_a_download_whose_digest_differs_is_refused_in_one_line_and_not_kept(tmp_path):
    layout = _layout(tmp_path)
    artifact = _published(tmp_path, b"tampered", "0" * 64)

    with pytest.raises(LoopbackError) as error:
        fetch(artifact, layout)

    assert "differs from the pin" in str(error.value) and "\n" not in str(error.value)
    assert not list((layout.cache / "artifacts").iterdir())


def test_a_verified_download_is_cached_and_checked_again_before_use(tmp_path):
    layout = _layout(tmp_path)
    artifact = _published(tmp_path, b"the real jar", hashlib.sha256(b"the real jar").hexdigest())

    cached = fetch(artifact, layout)
    assert cached.read_bytes() == b"the real jar"
    cached.write_bytes(b"corrupted later")
    with pytest.raises(LoopbackError, match="file not used"):
        fetch(artifact, layout)


def test_a_port_setting_that_is_not_a_port_names_its_variable(tmp_path):
    with pytest.raises(LoopbackError, match="LOOPBACK_TRINO_PORT='https'"):
        load_layout({"LOOPBACK_TRINO_PORT": "https"})


def test_secrets_are_generated_once_into_an_owner_only_file(tmp_path):
    path = tmp_path / "secrets.json"
    first, created = secret_store.ensure(path)
    again, created_again = secret_store.ensure(path)

    assert created and not created_again and first == again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        secret_store.load(path)


def test_the_realm_file_holds_no_secret_and_the_seed_groups():
    text = REALM_FILE.read_text()
    realm = json.loads(text)
    for client in realm["clients"]:
        assert client["secret"].startswith("${CLIENT_SECRET_")
        assert client["secret"][2:-1] in CLIENT_SECRETS
    groups = {group["name"] for group in realm["groups"]}
    bindings = (REPO_ROOT / "deploy/kustomize/base/rbac/platform-roles.yaml").read_text()
    subjects = {
        subject["name"].removeprefix("oidc:")
        for document in yaml.safe_load_all(bindings)
        for subject in document.get("subjects", [])
    }
    assert groups == subjects  # the Keycloak groups RBAC binds are the realm's


def test_platform_env_settings_load_and_name_every_secret_by_variable_only(tmp_path):
    layout = _layout(tmp_path)
    values = {name: f"value-of-{name}" for name in SECRET_SETTINGS.values()}
    secret_store.write_private(layout.secrets_file, json.dumps(values | {"postgres_dagster": "pw"}))
    for catalog in ("rest", "sql"):
        public = public_settings(layout, catalog)
        settings = load_settings(public | {k: "x" for k in SECRET_SETTINGS})
        assert settings.runtime == "platform" and settings.catalog_type == catalog
        printed = "\n".join(export_lines(layout, catalog))
        assert not [value for value in values.values() if value in printed]


def test_a_service_starts_as_its_own_process_and_down_stops_it(tmp_path, unused_port):
    layout = _layout(tmp_path, s3=unused_port)
    layout.root.mkdir(parents=True)
    launch = storage_launch(layout)

    pid = start(layout, launch)
    try:
        wait_ready(layout, launch, pid)
        assert running_pid(layout, "s3") == pid
    finally:
        lines: list[str] = []
        down(layout, say=lines.append)
    assert lines == ["stopped: s3"]
    assert running_pid(layout, "s3") is None
    assert not stop(layout, "s3")  # nothing running: fine


def test_down_with_nothing_started_says_so(tmp_path):
    lines: list[str] = []
    down(_layout(tmp_path), say=lines.append)
    assert lines == ["loopback platform: nothing running"]


def test_a_port_in_use_stops_the_start_with_the_variable_to_change(tmp_path, unused_port):
    layout = _layout(tmp_path, s3=unused_port)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", unused_port))
        squatter.listen()
        with pytest.raises(LoopbackError, match=f"port {unused_port} .* set LOOPBACK_S3_PORT"):
            check_ports(layout, storage_launch(layout))


def test_a_port_a_client_connection_holds_for_a_while_is_waited_for(tmp_path, unused_port):
    """A fixed port taken as a connection's local port (ephemeral range) frees itself: the start
    waits for it instead of failing; a port still held when the wait ends fails as before."""
    layout = _layout(tmp_path, s3=unused_port)
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.socket()
    client.bind(("127.0.0.1", unused_port))
    client.connect(server.getsockname())
    accepted, _ = server.accept()

    def release() -> None:  # the server end closes first, so no TIME_WAIT stays on our port
        accepted.close()
        time.sleep(0.2)
        client.close()

    releaser = threading.Timer(1.5, release)
    releaser.start()
    try:
        check_ports(layout, storage_launch(layout), wait_s=30)
    finally:
        releaser.join()
        server.close()
    assert port_free(unused_port)
    with socket.socket() as holder, socket.create_server(("127.0.0.1", 0)) as other:
        holder.bind(("127.0.0.1", unused_port))
        holder.connect(other.getsockname())
        with pytest.raises(LoopbackError, match=f"port {unused_port} .* set LOOPBACK_S3_PORT"):
            check_ports(layout, storage_launch(layout), wait_s=1.5)


def test_maven_dependency_lists_of_either_plugin_version_parse_to_coordinates():
    listing = """
The following files have been resolved:
   org.apache.iceberg:iceberg-core:jar:1.11.0:compile:/r/iceberg-core-1.11.0.jar -- module iceberg.core (auto)
   org.apache.iceberg:iceberg-core:jar:tests:1.11.0:compile:/r/iceberg-core-1.11.0-tests.jar
   org.slf4j:slf4j-api:jar:2.0.17:runtime:/r/slf4j-api-2.0.17.jar -- module org.slf4j
"""
    assert parse_dependency_list(listing) == {
        "org.apache.iceberg:iceberg-core:1.11.0:jar": Path("/r/iceberg-core-1.11.0.jar"),
        "org.apache.iceberg:iceberg-core:1.11.0:jar:tests": Path(
            "/r/iceberg-core-1.11.0-tests.jar"
        ),
        "org.slf4j:slf4j-api:2.0.17:jar": Path("/r/slf4j-api-2.0.17.jar"),
    }


def test_the_rest_catalog_lock_pins_every_jar_its_server_imports():
    locked = read_pins(LOCK)
    names = {artifact.file_name for artifact in locked.values()}
    # The REST server itself, its web server, the token check, the database driver, the S3 SDK.
    for expected in (
        "iceberg-core-1.11.0-tests.jar",
        "jetty-ee10-servlet-12.1.14.jar",
        "nimbus-jose-jwt-10.10.jar",
        "postgresql-42.7.13.jar",
        "iceberg-aws-bundle-1.11.0.jar",
    ):
        assert expected in names
    # A jar both files pin has one digest: the cache holds one file under that name.
    pinned = {artifact.file_name: artifact.sha256 for artifact in read_pins().values()}
    for artifact in locked.values():
        assert pinned.get(artifact.file_name, artifact.sha256) == artifact.sha256
        assert artifact.pins == LOCK


def test_the_rest_catalog_listens_on_loopback_and_its_configuration_holds_no_secret(tmp_path):
    layout = _layout(tmp_path)
    properties = server_properties(layout)

    assert properties["server.host"] == "127.0.0.1"
    assert properties["auth.issuer"] == layout.issuer
    assert properties["auth.audience"] == public_settings(layout)["LAKEHOUSE_CATALOG_SCOPE"]
    assert not [key for key in properties if "password" in key or "secret" in key]
    assert properties["catalog.uri"].endswith("/loopback_catalog")


def test_down_also_stops_a_retired_service_of_an_earlier_platform(tmp_path, unused_port):
    layout = _layout(tmp_path, s3=unused_port)
    layout.root.mkdir(parents=True)
    launch = storage_launch(layout)
    retired = Launch(RETIRED[0], launch.argv, launch.ports, launch.ready)

    start(layout, retired)
    lines: list[str] = []
    down(layout, say=lines.append)

    assert lines == [f"stopped: {RETIRED[0]}"]
    assert running_pid(layout, RETIRED[0]) is None
