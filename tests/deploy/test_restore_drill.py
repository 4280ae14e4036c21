"""The PostgreSQL restore drill: its script, taken from the CronJob, restores real pg_dump files
into scratch databases of the local server and compares row counts; a broken dump or a lost row
fails it, and the alert that waits for it matches its Jobs."""

from __future__ import annotations

import os
import re
import subprocess
import uuid

import pytest
import yaml
from deploy_checks import DEPLOY, require_tool

BACKUPS = DEPLOY / "kustomize" / "base" / "backups"
RULES = DEPLOY / "kustomize" / "base" / "observability" / "prometheus-rules.yaml"
LOCAL = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres", "PGSSLMODE": "disable"}


def _cronjob(name: str) -> dict:
    (doc,) = [
        d
        for d in yaml.safe_load_all((BACKUPS / f"{name}-cronjob.yaml").read_text())
        if d["kind"] == "CronJob"
    ]
    return doc


def _pod(name: str) -> dict:
    return _cronjob(name)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "--no-psqlrc", "-tA", "-d", database, "-c", sql],
        env={**os.environ, **LOCAL},
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def source_database():
    """A database with an empty table, plain rows and rows COPY must escape, on the local server."""
    for tool in ("psql", "pg_dump", "pg_restore", "createdb", "dropdb"):
        require_tool(tool)
    name = f"drill_src_{uuid.uuid4().hex[:10]}"
    try:
        _psql(f'CREATE DATABASE "{name}"')
    except subprocess.CalledProcessError as error:
        reason = f"PostgreSQL unreachable at 127.0.0.1:5432: {error.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    _psql(
        "CREATE TABLE plain (id int PRIMARY KEY, name text);"
        "INSERT INTO plain SELECT g, 'n' || g FROM generate_series(1, 250) g;"
        "CREATE TABLE empty (id int);"
        'CREATE SCHEMA "Odd";'
        'CREATE TABLE "Odd"."Rows" (body text);'
        "INSERT INTO \"Odd\".\"Rows\" VALUES (E'two\\nlines'), (E'a \\\\. inside'), ('\\.'), (NULL);",
        name,
    )
    yield name
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'DROP DATABASE IF EXISTS "restore_drill_{name}" WITH (FORCE)')


def _dump(database: str, backup_dir) -> None:
    backup_dir.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--file={backup_dir / database}.dump",
            database,
        ],
        env={**os.environ, **LOCAL},
        check=True,
    )


def _drill(database: str, tmp_path, path_prefix: str = "") -> subprocess.CompletedProcess:
    (container,) = _pod("pg-restore-drill")["containers"]
    script = container["args"][0]
    env = {
        **os.environ,
        **LOCAL,
        "DATABASES": database,
        "BACKUP_DIR": str(tmp_path / "backup"),
        "WORK_DIR": str(tmp_path),
        "PATH": path_prefix + os.environ["PATH"],
    }
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True)


@pytest.mark.postgres
def test_the_drill_restores_a_dump_and_matches_every_count(source_database, tmp_path):
    _dump(source_database, tmp_path / "backup")
    done = _drill(source_database, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{source_database}: 3 tables, every row count matches" in done.stdout
    expected = (tmp_path / f"{source_database}.expected").read_text().splitlines()
    assert sorted(expected) == sorted(['"Odd"."Rows" 4', "public.empty 0", "public.plain 250"])
    scratch = f"restore_drill_{source_database}"
    assert _psql(f"SELECT count(*) FROM pg_database WHERE datname = '{scratch}'") == "0"


@pytest.mark.postgres
def test_a_dump_that_does_not_restore_fails_the_drill(source_database, tmp_path):
    _dump(source_database, tmp_path / "backup")
    dump = tmp_path / "backup" / f"{source_database}.dump"
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    done = _drill(source_database, tmp_path)
    assert done.returncode == 1
    assert "the dump does not restore" in done.stderr


@pytest.mark.postgres
def test_a_lost_row_fails_the_drill(source_database, tmp_path):
    """A restored copy one row short (a psql that undercounts stands in for the loss)."""
    _dump(source_database, tmp_path / "backup")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = subprocess.run(["which", "psql"], capture_output=True, text=True).stdout.strip()
    fake = bin_dir / "psql"
    fake.write_text(f'#!/bin/sh\nn=$("{real}" "$@") || exit $?\necho $((n - 1))\n')
    fake.chmod(0o755)
    done = _drill(source_database, tmp_path, path_prefix=f"{bin_dir}:")
    assert done.returncode == 1
    assert "row counts differ" in done.stderr


def test_the_drill_covers_every_dumped_database():
    (dump,) = [c for c in _pod("pg-dump")["initContainers"] if c["name"] == "pg-dump"]
    (drill,) = _pod("pg-restore-drill")["containers"]
    assert _env(drill)["DATABASES"].split() == _env(dump)["DATABASES"].split()
    assert _cronjob("pg-restore-drill")["spec"]["concurrencyPolicy"] == "Forbid"


def test_the_alert_waits_for_the_drills_jobs():
    """Issue 16: LakehousePgRestoreDrillFailed watched Jobs nothing created."""
    rules = yaml.safe_load(RULES.read_text())["spec"]["groups"]
    (alert,) = [
        r for g in rules for r in g["rules"] if r.get("alert") == "LakehousePgRestoreDrillFailed"
    ]
    pattern = re.search(r'job_name=~"([^"]+)"', alert["expr"]).group(1)
    job_name = f"{_cronjob('pg-restore-drill')['metadata']['name']}-29376000"  # CronJob's Job name
    assert re.fullmatch(pattern, job_name)
    assert alert["annotations"]["runbook_url"].endswith("#restore-drill")
