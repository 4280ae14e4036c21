"""Backups to an S3 bucket (the platform's ``backups`` bucket), against moto's S3 server."""

from __future__ import annotations

import socket

import pytest
from upkeep_tables import appender, events

from lakehouse.catalog import build_catalog, catalog_properties
from lakehouse.settings import load_settings
from lakehouse.upkeep.backup.restore_check import run_restore_check
from lakehouse.upkeep.backup.store import list_backups
from lakehouse.upkeep.backup.table_backup import run_backup
from lakehouse.upkeep.storage import Storage


@pytest.fixture
def s3_endpoint():
    server_module = pytest.importorskip("moto.server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="backups")
        client.create_bucket(Bucket="warehouse")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_a_backup_in_s3_restores_and_verifies(s3_endpoint, tmp_path):
    """Warehouse and backups both in S3, like the platform: DuckDB reads the restore via S3."""
    settings = load_settings(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_WAREHOUSE": "s3://warehouse/lakehouse",
            "LAKEHOUSE_BACKUP_LOCATION": "s3://backups/lakehouse",
            "LAKEHOUSE_S3_ENDPOINT": s3_endpoint,
            "LAKEHOUSE_S3_ACCESS_KEY_ID": "test",
            "LAKEHOUSE_S3_SECRET_ACCESS_KEY": "test",
        }
    )
    catalog = build_catalog(settings)
    appender(catalog)(events(0, 20))
    storage = Storage(catalog_properties(settings))
    root = settings.backup_root

    backup = run_backup(catalog, settings, storage, root)

    assert not backup.failed and list_backups(storage, root) == [backup.backup_id]
    assert storage.exists(f"{root}/{backup.catalog.path}")
    report = run_restore_check(
        catalog,
        storage,
        root,
        namespace="restore_check",
        rpo_limit_seconds=3600,
        rto_limit_seconds=14400,
    )
    assert report.ok, report.all_problems()
    assert report.rows == 20
