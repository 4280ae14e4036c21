"""The governance commands: `audit list|verify|init-db`, `archive list|restore`, `gdpr export`,
each run as an operator runs it, against a real catalog and audit store."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess

import psycopg2
import pyarrow.compute as pc
from audit_fixtures import record
from test_archive import T, events
from test_gdpr import SUBJECT_7_ROWS, pii_catalog  # noqa: F401 - the fixture

from lakehouse.governance.archive import ArchiveRange, archive_rows, content_digest
from lakehouse.governance.audit.configured import audit_store
from lakehouse.governance.pii import subject_hash
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write
from tests.cli.test_cli import LAKEHOUSE
from tests.cli.test_cli import _run as lakehouse


def test_audit_verify_catches_one_tampered_row(settings, tmp_path):
    audit_store(settings).append([record(i) for i in range(5)])
    intact = lakehouse("audit", "verify", home=tmp_path)
    assert (intact.returncode, intact.stdout.split(":")[0]) == (0, "audit chain intact")

    connection = sqlite3.connect(settings.audit_store_url.removeprefix("sqlite:///"))
    connection.execute("DROP TRIGGER audit_events_no_update")
    connection.execute("UPDATE audit_events SET actor = 'user:mallory' WHERE seq = 3")
    connection.commit()
    connection.close()

    broken = lakehouse("audit", "verify", home=tmp_path)
    assert broken.returncode == 1
    assert "broken at row 3: content does not match its hash" in broken.stdout


def test_audit_verify_on_postgresql_reads_as_an_admin(postgres_audit, tmp_path):
    postgres_audit.store("writer").append([record(i) for i in range(3)])
    writer_url = postgres_audit.url.replace("postgres@", f"{postgres_audit.logins['writer']}@")
    env = {"LAKEHOUSE_AUDIT_URL": writer_url}
    as_writer = lakehouse("audit", "verify", home=tmp_path, **env)
    assert as_writer.returncode == 2 and "error:" in as_writer.stderr  # the writer cannot read
    admin = psycopg2.connect(postgres_audit.dsn)
    with admin, admin.cursor() as cursor:
        cursor.execute("ALTER TABLE audit.events DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit.events SET object = 'raw.other' WHERE seq = 2")
    admin.close()

    reader = postgres_audit.logins["reader"]
    verdict = lakehouse("audit", "verify", "--user", reader, home=tmp_path, **env)
    assert verdict.returncode == 1, verdict.stderr
    assert "broken at row 2" in verdict.stdout


def test_audit_list_filters_by_time_and_object(settings, tmp_path):
    audit_store(settings).append(
        [record(0, obj="raw.a"), record(1, obj="raw.b"), record(2, obj="staging.c")]
    )
    since = (record(1).at - dt.timedelta(hours=1)).date().isoformat()

    listed = lakehouse(
        "audit", "list", "--since", since, "--object", "raw.*", "--json", home=tmp_path
    )

    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["seq"], r["object"]) for r in rows] == [(2, "raw.b")]
    assert rows[0]["details"]["i"] == 1 and len(rows[0]["hash"]) == 64
    text = lakehouse("audit", "list", home=tmp_path)
    assert text.stdout.count("run.success") == 3


def test_audit_init_db_prints_the_roles_script(tmp_path):
    script = lakehouse("audit", "init-db", "--print", "--role-prefix", "ops", home=tmp_path)
    assert script.returncode == 0
    assert "ops_writer" in script.stdout and "CREATE SCHEMA" in script.stdout.upper()


def test_archive_list_and_restore_bring_the_rows_back(catalog, settings, tmp_path):
    catalog.create_namespace_if_not_exists("raw")
    write(catalog, events(20), WriteRequest(("raw", "events"), mode="append"))
    root = settings.archive_root
    old = ArchiveRange("at", T - dt.timedelta(days=15))
    older = archive_rows(catalog, ("raw", "events"), old, root=root, now=T)
    recent = ArchiveRange("at", T - dt.timedelta(days=5), T - dt.timedelta(days=15))
    archive_rows(catalog, ("raw", "events"), recent, root=root, now=T + dt.timedelta(seconds=1))

    listed = lakehouse("archive", "list", "raw.events", "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [m["rows"] for m in json.loads(listed.stdout)] == [10, 20]

    day = (T - dt.timedelta(days=30)).date().isoformat()
    end = (T - dt.timedelta(days=15)).isoformat()
    restored = lakehouse("archive", "restore", "raw.events", f"{day}..{end}", home=tmp_path)

    assert restored.returncode == 0, restored.stderr
    (line,) = restored.stdout.splitlines()
    scratch = line.rsplit(" into ", 1)[1]
    assert scratch.startswith("scratch.raw__events__")
    back = catalog.load_table(scratch).scan().to_arrow()
    source = catalog.load_table(("raw", "events")).scan().to_arrow()
    expected = source.filter(pc.less(source["at"], old.end))
    assert content_digest(back) == content_digest(expected) == older.manifest.content_sha256
    (audit,) = [r.record for r in audit_store(settings).list(object="raw.events")]
    assert (audit.action, audit.details["rows"]) == ("archive.restore", 10)
    missing = lakehouse("archive", "restore", "raw.events", "no-such-id", home=tmp_path)
    assert missing.returncode == 2 and "no archive of raw.events" in missing.stdout


def test_gdpr_export_writes_the_subject_and_audits_it(pii_catalog, settings, tmp_path):  # noqa: F811
    out = tmp_path / "exports"

    done = lakehouse("gdpr", "export", "7", "--to", str(out), home=tmp_path)

    assert done.returncode == 0, done.stderr
    (manifest_path,) = out.glob("*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert {t["table"]: t["rows"] for t in manifest["tables"]} == SUBJECT_7_ROWS
    users = (manifest_path.parent / "staging.users.jsonl").read_text().splitlines()
    assert [json.loads(u)["email"] for u in users] == ["b@x.io"]
    (audit,) = [r.record for r in audit_store(settings).list(object="gdpr")]
    assert audit.action == "gdpr.export"
    assert audit.details["subject_sha256"] == subject_hash("7")
    assert "7" not in json.dumps(audit.details["rows"])
    wrong = lakehouse("gdpr", "export", "7", "--table", "staging.products", home=tmp_path)
    assert wrong.returncode == 2 and "staging.products" in wrong.stderr


def test_serve_trino_events_records_a_read_of_a_pii_table(pii_catalog, settings, tmp_path):  # noqa: F811
    import socket
    import time
    import urllib.request

    from test_trino_events import event

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env = clean | {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_AUDIT_TRINO_EVENTS_TOKEN": "t0k"}
    server = subprocess.Popen(
        [str(LAKEHOUSE), "audit", "serve-trino-events", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):  # the command imports the location's libraries first
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/trino/events",
            data=json.dumps(event("select_pii")).encode(),
            headers={"Authorization": "Bearer t0k", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.loads(answer.read())["recorded"] == 2
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [r.record for r in audit_store(settings).list(object="staging.*")]
    assert sorted((r.action, r.object) for r in rows) == [
        ("trino.query.read_pii", "staging.purchases"),
        ("trino.query.read_pii", "staging.users"),
    ]
