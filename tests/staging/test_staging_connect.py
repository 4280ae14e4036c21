"""A staging asset through a real Spark Connect server on loopback, started from pyspark's jars.

The client runs in a subprocess: this process holds the shared local session, and a local and
a Connect session do not mix in one process. It imports while the server boots (~25 s), then
waits for the server's port.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from connect_server import ConnectServer
from pyiceberg.catalog import Catalog

CLIENT = textwrap.dedent(
    """
    import json, socket, sys, time

    import dagster as dg

    from lakehouse.settings import load_settings
    from lakehouse.staging import SparkIcebergIOManager, build_spark_resource, build_staging_assets

    environment, port = json.loads(sys.argv[1]), int(sys.argv[2])
    settings = load_settings(environment)
    deadline = time.monotonic() + 180
    while True:  # the server may still be booting
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("the Spark Connect server did not open its port")
            time.sleep(1)
    resources = {
        "spark": build_spark_resource(settings),
        "spark_io_manager": SparkIcebergIOManager(settings=settings),
    }
    result = dg.materialize(  # without the pandera check: it would import pandera for nothing
        build_staging_assets(),
        resources=resources,
        selection=dg.AssetSelection.assets(dg.AssetKey(["staging", "products"])),
    )
    session = resources["spark"].spark_session
    print(json.dumps({
        "success": result.success,
        "session": type(session).__module__,
    }))
    """
)


@pytest.fixture
def connect_server(tmp_path: Path) -> Iterator[ConnectServer]:
    """A server of this test only; its log is printed (shown if the test fails)."""
    server = ConnectServer(tmp_path / "spark-connect")
    server.work.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        print(server.log_tail())


@pytest.mark.slow  # ~50 s: a server JVM and a client process of its own
def test_a_staging_asset_runs_through_spark_connect(
    connect_server: ConnectServer,
    environment: dict[str, str],
    write_raw: Callable[[str, list[dict[str, Any]]], None],
    catalog: Catalog,
) -> None:
    write_raw(
        "products",
        [
            {"id": 1, "make": " Mazda ", "model": "MX-5", "year": 2023, "price": 15001.0},
            {"id": 2, "make": "GMC", "model": " Jimmy", "year": 1999, "price": -1.0},
        ],
    )
    remote = {**environment, "LAKEHOUSE_SPARK_REMOTE": connect_server.url}
    client = subprocess.run(
        [sys.executable, "-c", CLIENT, json.dumps(remote), str(connect_server.port)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert client.returncode == 0, client.stderr[-3000:]  # the server log is printed too
    outcome = json.loads(client.stdout.strip().splitlines()[-1])
    assert outcome == {"success": True, "session": "pyspark.sql.connect.session"}
    staged = catalog.load_table("staging.products").scan().to_arrow().sort_by("product_id")
    assert staged["make"].to_pylist() == ["Mazda", "GMC"]
    assert staged["model"].to_pylist() == ["MX-5", "Jimmy"]
    assert staged["price"].to_pylist() == [15001.0, None]
