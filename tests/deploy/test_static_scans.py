"""Static scans: checkov over deploy/, bandit over lakehouse/, detect-secrets over the repo."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_checks import DEPLOY, REPO_ROOT, require_tool

BIN = Path(sys.executable).parent
# Lock files pin packages by sha256: long hex strings that are hashes of public artifacts.
HASH_ONLY = ("uv.lock", "requirements/")
# Other suites' fixtures carry fake credentials on purpose; those files belong to their suites,
# which allowlist them (`# pragma: allowlist secret`). This suite guards what ships.
OTHER_TEST_SUITES = "tests/"
BOOLEAN_FIELD = r"^\s*[A-Za-z]+:\s*(true|false)\s*$"
# A Kubernetes Secret named by a workload (``secretName: trino-tls``) is a reference, not a
# value: the keyword plugin flags it on some machines (seen on a fresh one), so exclude it.
SECRET_NAME_FIELD = r"^\s*secretName:\s*[a-z0-9][a-z0-9.-]*\s*$"
# Vendored upstream API schemas (tests' fixtures): their examples show what a key looks like.
VENDORED_SCHEMAS = "tests/deploy/fixtures/"
PLANTED = 'db:\n  password: "Zx9vQ2mL7pR4tY8w"\n'  # pragma: allowlist secret


def _tool(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else require_tool(name)


@pytest.fixture(scope="module")
def checkov_report() -> list[dict]:
    """One checkov run (~20 s) over deploy/ for the whole module."""
    result = subprocess.run(
        [
            _tool("checkov"),
            "-d",
            str(DEPLOY),
            "--framework",
            "kubernetes,dockerfile",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_finds_no_failed_check(checkov_report):
    frameworks = {r["check_type"]: r for r in checkov_report}
    assert {"kubernetes", "dockerfile"} <= set(frameworks)
    failed = [
        (r["check_type"], f["check_id"], f["resource"], f["file_path"])
        for r in checkov_report
        for f in r["results"]["failed_checks"]
    ]
    assert failed == []
    assert frameworks["kubernetes"]["summary"]["passed"] > 100


SKIP = re.compile(r"(?:checkov\.io/skip\d+:\s*|#\s*checkov:skip=)(CKV_\w+)(?:=(.*))?")


def test_every_checkov_skip_sits_beside_its_resource_with_a_reason(checkov_report):
    skips = [
        (path.relative_to(DEPLOY), match.group(1), match.group(2) or "")
        for path in DEPLOY.rglob("*")
        if path.is_file()
        for match in SKIP.finditer(path.read_text(errors="ignore"))
    ]
    assert skips, "expected the documented skips"
    assert [s for s in skips if len(s[2].split()) < 5] == []
    skipped = sum(r["summary"]["skipped"] for r in checkov_report)
    assert skipped >= len(skips)  # checkov honoured every annotation


def test_bandit_finds_no_high_severity_issue():
    result = subprocess.run(
        [_tool("bandit"), "-r", "lakehouse", "-f", "json", "-q", "--severity-level", "high"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    report = json.loads(result.stdout)
    high = [
        (r["filename"], r["line_number"], r["test_id"])
        for r in report["results"]
        if r["issue_severity"] == "HIGH"
    ]
    assert high == []


def _scanned_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout.split()
    return [
        f
        for f in listed
        if (REPO_ROOT / f).is_file()
        and not f.startswith(HASH_ONLY)
        and (not f.startswith(OTHER_TEST_SUITES) or f.startswith("tests/deploy/"))
        and not f.startswith(VENDORED_SCHEMAS)
    ]


def test_detect_secrets_finds_nothing(monkeypatch):
    require_tool("git")
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import cache_bust, default_settings

    monkeypatch.chdir(REPO_ROOT)
    files = _scanned_files()
    assert any(f.startswith("deploy/") for f in files) and "lakehouse/engine_conf.py" in files
    with default_settings() as settings:
        # A Kubernetes boolean such as `automountServiceAccountToken: false` is no secret, but
        # the keyword plugin flags it: exclude such lines.
        settings.filters["detect_secrets.filters.regex.should_exclude_line"] = {
            "pattern": [BOOLEAN_FIELD, SECRET_NAME_FIELD]
        }
        cache_bust()  # the filters' patterns are cached: an earlier scan's would stand
        secrets = SecretsCollection()
        # One file at a time, in this process: scan_files forks a pool from a process that
        # holds other threads by now (it hung a CI run), and its children rebuild the settings.
        for name in files:
            secrets.scan_file(name)
    found = {
        name: [(s["type"], s["line_number"]) for s in items]
        for name, items in secrets.json().items()
    }
    assert found == {}


def test_detect_secrets_catches_a_planted_secret(tmp_path, monkeypatch):
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    planted = tmp_path / "values.yaml"
    planted.write_text(PLANTED)
    monkeypatch.chdir(tmp_path)
    with default_settings():
        secrets = SecretsCollection()
        secrets.scan_files("values.yaml")
    assert secrets.json()
