"""Credentials given through settings never show: not in logs, run or asset metadata, event
records, exceptions, files the instance writes, nor the code location's snapshot (what the UI
and GraphQL serve). Recognisable fake credentials are set in the process environment, as on the
platform; a run succeeds and another fails on a catalog whose URI carries a password."""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
import reliability_counts
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from lakehouse.settings import get_settings

SECRETS = {
    "LAKEHOUSE_S3_ACCESS_KEY_ID": "FAKEAKIDreliability0001",
    "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "fake-s3-secret-reliability-0002",  # pragma: allowlist secret
    "LAKEHOUSE_CATALOG_CLIENT_SECRET": "fake-oauth-secret-reliability-0003",  # pragma: allowlist secret
    "LAKEHOUSE_AIRBYTE_CLIENT_SECRET": "fake-airbyte-secret-reliability-0004",  # pragma: allowlist secret
    "LAKEHOUSE_TRINO_CLIENT_SECRET": "fake-trino-secret-reliability-0005",  # pragma: allowlist secret
}
PG_PASSWORD = "fake-pg-password-reliability-0006"  # pragma: allowlist secret
SECTION = "secrets"


@pytest.fixture
def fake_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_catalog_uri: str
) -> Iterator[str]:
    """The process environment holds the fake credentials; returns the catalog URI used."""
    uri = pg_catalog_uri.replace("postgres@", f"postgres:{PG_PASSWORD}@")  # trust auth ignores it
    for name, value in {
        **SECRETS,
        "LAKEHOUSE_HOME": str(tmp_path / "lakehouse"),
        "LAKEHOUSE_CATALOG_URI": uri,
        "LAKEHOUSE_CATALOG_CLIENT_ID": "reliability",
        "LAKEHOUSE_TRINO_CLIENT_ID": "reliability",
        "LAKEHOUSE_TRINO_TOKEN_URI": "http://127.0.0.1:9/token",
        "LAKEHOUSE_S3_ENDPOINT": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield uri
    get_settings.cache_clear()


@dg.asset(key=["raw", "secrets_probe"])
def probe(context) -> pa.Table:
    """Unannotated: under ``from __future__ import annotations`` Dagster cannot read it."""
    context.log.info("writing the probe table")
    return pa.table({"id": [1, 2, 3]})


def _run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from lakehouse.resources import build_resources

    return dg.materialize(
        [probe], resources=build_resources(get_settings()), instance=instance, raise_on_error=False
    )


def test_fake_credentials_appear_nowhere(
    fake_credentials: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    from lakehouse.catalog import build_catalog
    from lakehouse.definitions import build_definitions

    caplog.set_level(logging.DEBUG)
    secrets = [*SECRETS.values(), PG_PASSWORD]
    assert set(get_settings().secret_values()) >= set(SECRETS.values())
    produced: list[str] = []

    defs = build_definitions()
    produced.append(serialize_value(RepositorySnap.from_def(defs.get_repository_def())))
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        succeeded = _run(instance)
        assert succeeded.success
        # The catalog goes away: its URI (password included) points at a closed port.
        monkeypatch.setenv("LAKEHOUSE_CATALOG_URI", fake_credentials.replace(":5432/", ":9/"))
        get_settings.cache_clear()
        failed = _run(instance)
        assert not failed.success
        try:
            build_catalog(get_settings())
        except Exception as error:
            produced.append("".join(traceback.format_exception(error)))
        for result in (succeeded, failed):
            produced += [serialize_value(event) for event in instance.all_logs(result.run_id)]
            produced.append(serialize_value(instance.get_run_by_id(result.run_id)))
        for event in failed.all_events:
            if event.is_step_failure:
                produced.append(str(event.step_failure_data.error.to_string()))
    files = [path for path in (tmp_path / "dagster").rglob("*") if path.is_file()]
    produced += [path.read_bytes().decode(errors="replace") for path in files]
    produced += [record.getMessage() for record in caplog.records]
    out, err = capfd.readouterr()
    produced += [out, err]

    leaks = {secret for secret in secrets for text in produced if secret in text}
    assert not leaks, f"secrets leaked: {leaks}"
    assert any("catalog 'lakehouse'" in text for text in produced), "the failure was not seen"
    assert os.environ["LAKEHOUSE_CATALOG_URI"].count(PG_PASSWORD) == 1  # the secret was really set
    reliability_counts.add(SECTION, "fake secrets planted", len(secrets))
    reliability_counts.add(SECTION, "texts searched", len(produced))
    reliability_counts.add(SECTION, "leaks", len(leaks))
