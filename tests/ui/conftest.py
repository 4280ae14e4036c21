"""UI fixtures: one ``dagster dev`` per module on a free loopback port, and headless Chromium.

Before the webserver starts, staging/users is materialised a few times in this process (a few
dozen users each) into the instance it serves, so its asset page has a history to plot."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakehouse.settings import REPO_ROOT
from tests.ui.webserver import Webserver, free_port, stop, wait_until_served

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Recognisable fake credentials in the webserver's settings (test_asset_graph_ui searches the
# rendered pages and the GraphQL answers for them).
PLANTED_SECRETS = {
    "LAKEHOUSE_S3_ACCESS_KEY_ID": "FAKEAKIDuipage0001",
    "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "fake-s3-secret-uipage-0002",  # pragma: allowlist secret
    "LAKEHOUSE_CATALOG_CLIENT_SECRET": "fake-oauth-secret-uipage-0003",  # pragma: allowlist secret
    "LAKEHOUSE_AIRBYTE_CLIENT_SECRET": "fake-airbyte-secret-uipage-0004",  # pragma: allowlist secret
    "LAKEHOUSE_TRINO_CLIENT_SECRET": "fake-trino-secret-uipage-0005",  # pragma: allowlist secret
}
# staging/users' sizes in the runs before the webserver starts: a rising row count plot.
HISTORY_SIZES = (40, 70, 100)


@pytest.fixture(scope="module")
def dbt_manifest() -> Path:
    """The dbt manifest the analytics assets load from, built once when missing."""
    from lakehouse.analytics.prepare import manifest_path

    if not manifest_path("duckdb").is_file():
        subprocess.run(
            [sys.executable, "-m", "lakehouse.analytics.prepare"],
            cwd=REPO_ROOT,
            check=True,
            timeout=300,
        )
    return manifest_path("duckdb")


@dataclass(frozen=True)
class UiHome:
    """Where the webserver keeps its state: the lakehouse (LAKEHOUSE_HOME) and DAGSTER_HOME."""

    root: Path

    @property
    def lakehouse(self) -> Path:
        return self.root / "lakehouse"

    @property
    def dagster(self) -> Path:
        return self.root / "dagster_home"


@pytest.fixture(scope="module")
def ui_home(tmp_path_factory: pytest.TempPathFactory) -> UiHome:
    home = UiHome(tmp_path_factory.mktemp("dagster-dev"))
    home.dagster.mkdir()
    (home.dagster / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def _raw_users(count: int) -> Any:
    """``count`` users in raw.faker_users' Arrow schema, as the connector would land them."""
    import pyarrow as pa

    from lakehouse.raw.streams import STREAMS_BY_NAME

    extracted = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = [
        {
            "_airbyte_raw_id": f"users-{i}",
            "_airbyte_extracted_at": extracted,
            "id": i,
            "name": f"User {i}",
            "email": f"user{i}@example.com",
            "age": 20 + i % 50,
            "updated_at": extracted - dt.timedelta(days=i),
        }
        for i in range(1, count + 1)
    ]
    return pa.Table.from_pylist(rows, schema=STREAMS_BY_NAME["users"].schema)


@pytest.fixture(scope="module")
def asset_history(ui_home: UiHome, spark: object) -> list[int]:
    """staging/users materialised once per size (raw users replaced before each run), with its
    pandera check, into the webserver's instance: the row counts its page plots."""
    import dagster as dg

    from lakehouse.catalog import build_catalog
    from lakehouse.iceberg import WriteRequest, write
    from lakehouse.raw.streams import STREAMS_BY_NAME
    from lakehouse.resources import build_resources
    from lakehouse.settings import load_settings
    from lakehouse.staging import build_staging_assets, build_staging_checks

    settings = load_settings({"LAKEHOUSE_HOME": str(ui_home.lakehouse)})
    catalog = build_catalog(settings)
    resources = build_resources(settings)
    users = dg.AssetKey(["staging", "users"])
    with dg.DagsterInstance.from_config(str(ui_home.dagster)) as instance:
        for size in HISTORY_SIZES:
            write(catalog, _raw_users(size), WriteRequest(STREAMS_BY_NAME["users"].identifier))
            result = dg.materialize(
                [*build_staging_assets(), *build_staging_checks()],
                resources=resources,
                selection=dg.AssetSelection.assets(users),
                instance=instance,
            )
            assert result.success
        events = instance.fetch_materializations(users, limit=len(HISTORY_SIZES)).records
    return [int(e.asset_materialization.metadata["dagster/row_count"].value) for e in events]


@pytest.fixture(scope="module")
def webserver(dbt_manifest: Path, ui_home: UiHome, asset_history: list[int]) -> Iterator[Webserver]:
    """``dagster dev`` on the embedded runtime, its state in tmp dirs, in its own session."""
    root, dagster_home = ui_home.root, ui_home.dagster
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAKEHOUSE_")}
    env |= {"LAKEHOUSE_HOME": str(ui_home.lakehouse), "DAGSTER_HOME": str(dagster_home)}
    env |= PLANTED_SECRETS  # the embedded runtime does not use them; no page may show them
    env |= {
        "LAKEHOUSE_TRINO_CLIENT_ID": "uipage",
        "LAKEHOUSE_TRINO_TOKEN_URI": "http://127.0.0.1:9/token",
    }
    port = free_port()
    log = root / "dagster-dev.log"
    # An INT ignored by our caller (pytest started from a non-interactive shell) would be inherited
    # and dagster dev maps TERM to INT; a handled INT is reset to the default on exec.
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    with log.open("wb") as output:
        command = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml"]
        process = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own session: dagster dev ignores TERM when its shell ignored INT (FACTS.md),
            # and one signal to the group reaches the webserver, daemon and code server.
            start_new_session=True,
        )
    signal.signal(signal.SIGINT, previous_int)
    server = Webserver(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        wait_until_served(server)
        yield server
    finally:
        stop(process)


@pytest.fixture(scope="module")
def planted_secrets() -> dict[str, str]:
    return dict(PLANTED_SECRETS)


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """Debian's Chromium; skipped without it, except on CI where it must be installed."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(60_000)
    # The "join the community" dialog of a fresh instance would cover the page.
    context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot(tmp_path: Path):
    """Save a screenshot in the test's tmp dir, and in ``$UI_SCREENSHOTS`` if set.

    Not ``LAKEHOUSE_SCREENSHOTS``: the settings refuse unknown ``LAKEHOUSE_*`` variables.
    """

    def save(page: Any, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path))
        extra = os.environ.get("UI_SCREENSHOTS")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(extra) / f"{name}.png"))
        return path

    return save
