"""Versioned buckets forget: every noncurrent object version expires within the README's window.

Versioning keeps an overwritten or deleted object as a noncurrent version; without a rule that
expires those, files removed by GDPR erasure, snapshot expiry or compaction stay on the disks.
"""

from __future__ import annotations

import json
import re

from deploy_checks import DEPLOY

MINIO = DEPLOY / "kustomize" / "base" / "storage" / "minio"
README = (DEPLOY / "README.md").read_text()
WINDOW = re.compile(r"noncurrent (?:object )?versions expire (?:after|within) (\d+) days", re.I)
LOOP = re.compile(r"for bucket in [^;]+; do\n(.*?)\ndone", re.S)


def versioned_lifecycles(script: str) -> set[str]:
    """Lifecycle files the setup script imports on buckets it turns versioning on for."""
    blocks = LOOP.findall(script) + [line for line in script.splitlines() if "platform/" in line]
    found = set()
    for block in blocks:
        if "mc version enable" in block or block.startswith("mc version enable"):
            found |= set(re.findall(r"/config/(lifecycle-[\w-]+\.json)", block))
    # A bucket outside a loop: its `mc version enable` and `mc ilm import` lines name it alike.
    for bucket in re.findall(r"mc version enable platform/([\w-]+)", script):
        found |= set(re.findall(rf"mc ilm import platform/{bucket} < /config/(\S+)", script))
    return found


def noncurrent_days(lifecycle: dict) -> int | None:
    """The window after which every noncurrent version expires (rules filtered to all objects)."""
    days = [
        rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for rule in lifecycle["Rules"]
        if rule.get("Status") == "Enabled"
        and "NoncurrentVersionExpiration" in rule
        and rule.get("Filter", {}).get("Prefix", "") == ""
        and set(rule.get("Filter", {})) <= {"Prefix"}
    ]
    return min(days) if days else None


def _covers_all(lifecycle: dict, window: int) -> bool:
    """Either one rule over all objects, or per-prefix rules on every prefix the bucket holds."""
    whole = noncurrent_days(lifecycle)
    if whole is not None:
        return whole <= window
    rules = [r for r in lifecycle["Rules"] if r.get("Status") == "Enabled"]
    return bool(rules) and all(
        r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", window + 1) <= window
        for r in rules
        if "Prefix" in r.get("Filter", {})
    )


def test_the_readme_states_the_noncurrent_window():
    assert WINDOW.search(README), "deploy/README.md must state when noncurrent versions expire"


def test_every_versioned_bucket_expires_noncurrent_versions():
    window = int(WINDOW.search(README).group(1))
    files = versioned_lifecycles((MINIO / "setup.sh").read_text())
    assert {"lifecycle-iceberg.json", "lifecycle-backups.json"} <= files
    stale = [f for f in files if not _covers_all(json.loads((MINIO / f).read_text()), window)]
    assert stale == []


def test_iceberg_buckets_forget_within_the_window_whatever_the_tags():
    window = int(WINDOW.search(README).group(1))
    days = noncurrent_days(json.loads((MINIO / "lifecycle-iceberg.json").read_text()))
    assert days is not None and days <= window


def test_a_tag_filtered_or_late_rule_is_not_enough():
    tagged = {
        "Rules": [
            {
                "ID": "x",
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "lakehouse-retention", "Value": "standard"}},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            }
        ]
    }
    assert noncurrent_days(tagged) is None
    late = {
        "Rules": [
            {
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 730},
            }
        ]
    }
    assert not _covers_all(late, 14)
    disabled = {
        "Rules": [
            {
                "Status": "Disabled",
                "Filter": {"Prefix": ""},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            }
        ]
    }
    assert noncurrent_days(disabled) is None
