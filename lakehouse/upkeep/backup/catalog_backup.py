"""Back up the catalog itself: SQLite through its online backup API, PostgreSQL with pg_dump.

A REST catalog (Lakekeeper) keeps its state in its own PostgreSQL database, which the
platform's pg-dump CronJob already dumps (deploy/README.md); only its kind is recorded.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lakehouse.settings import Settings
from lakehouse.upkeep.backup.store import CatalogBackup
from lakehouse.upkeep.storage import Storage, join


class CatalogBackupError(RuntimeError):
    """The catalog could not be dumped; the message says which tool failed and why."""


def sqlite_path(uri: str) -> Path:
    return Path(uri.split(":///", 1)[1])


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg2://u@h:5432/db`` -> ``postgresql://u@h:5432/db`` for pg_dump."""
    parts = urlsplit(sqlalchemy_url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def dump_sqlite(source: Path, target: Path) -> None:
    """A consistent copy while writers may be committing (sqlite's backup API, not cp)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def dump_postgresql(url: str, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CatalogBackupError("pg_dump is not installed: cannot back up the catalog")
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", url],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise CatalogBackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")


def backup_catalog(
    settings: Settings, storage: Storage, root: str, backup_id: str
) -> CatalogBackup:
    """Dump the catalog into ``<root>/catalog/<backup_id>/``."""
    if settings.catalog_type == "rest":
        return CatalogBackup(kind="rest")
    uri = settings.sql_catalog_uri
    with tempfile.TemporaryDirectory() as scratch:
        if uri.startswith("sqlite"):
            kind, local = "sqlite", Path(scratch) / "catalog.db"
            dump_sqlite(sqlite_path(uri), local)
        else:
            kind, local = "postgresql", Path(scratch) / "catalog.dump"
            dump_postgresql(libpq_url(uri), local)
        relative = f"catalog/{backup_id}/{local.name}"
        size, sha256 = storage.upload(local, join(root, relative))
    return CatalogBackup(kind=kind, path=relative, size=size, sha256=sha256)


def check_catalog_dump(kind: str, local: Path) -> list[str]:
    """Problems found reading a downloaded catalog dump back (empty when it is sound)."""
    if kind == "sqlite":
        with sqlite3.connect(local) as db:
            (status,) = db.execute("PRAGMA integrity_check").fetchone()
            tables = db.execute("SELECT count(*) FROM iceberg_tables").fetchone()[0]
        db.close()
        return [] if status == "ok" and tables >= 0 else [f"sqlite integrity_check: {status}"]
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        return ["pg_restore is not installed: cannot read the catalog dump back"]
    done = subprocess.run([pg_restore, "--list", str(local)], capture_output=True, text=True)
    if done.returncode != 0 or "iceberg_tables" not in done.stdout:
        return [f"pg_restore --list failed: {done.stderr.strip() or 'no iceberg_tables'}"]
    return []
