"""deploy/README.md names files that exist and the metrics the observability files use."""

from __future__ import annotations

import re

from deploy_checks import DEPLOY, REPO_ROOT

README = (DEPLOY / "README.md").read_text()
PATH = re.compile(r"`((?:deploy|tests|lakehouse)/[\w./{},<>*-]+)`")
METRICS = (
    "lakehouse_table_data_files",
    "lakehouse_table_small_file_ratio",
    "lakehouse_table_snapshots",
    "lakehouse_table_bytes",
    "lakehouse_table_last_compaction_age_seconds",
    "lakehouse_table_last_backup_age_seconds",
    "lakehouse_restore_check_success",
    "lakehouse_backup_success",
)


def _expand(path: str) -> list[str]:
    """`overlays/{dev,staging,prod}/` -> three paths; `<env>` -> every environment."""
    match = re.search(r"\{([^}]+)\}", path)
    if match:
        return [
            p
            for part in match.group(1).split(",")
            for p in _expand(path[: match.start()] + part + path[match.end() :])
        ]
    if "<env>" in path:
        return [
            p for env in ("dev", "staging", "prod") for p in _expand(path.replace("<env>", env))
        ]
    return [path]


def test_every_path_the_readme_names_exists():
    named = [p for raw in PATH.findall(README) for p in _expand(raw.rstrip("/."))]
    assert len(named) > 20
    missing = [p for p in named if "<" not in p and not (REPO_ROOT / p).exists()]
    assert missing == []


def test_the_readme_lists_every_table_metric_and_the_rules_use_them():
    rules = (DEPLOY / "kustomize/base/observability/prometheus-rules.yaml").read_text()
    dashboard = (DEPLOY / "kustomize/base/observability/lakehouse-dashboard.json").read_text()
    for metric in METRICS:
        assert f"`{metric}`" in README
        assert metric in rules or metric in dashboard, metric


def test_the_readme_covers_the_seed_recovery_scenarios():
    for heading in (
        "### Lost pod or service",
        "### Lost node",
        "### Lost namespace",
        "### Lost cluster",
    ):
        assert heading in README
    assert "Lakekeeper" in README and "Polaris" in README


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2...
    for repeated headings."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_every_alerts_runbook_anchor_is_a_readme_heading():
    """Issue 16: LakehousePgRestoreDrillFailed pointed at #restore-drill, which did not exist."""
    anchors = _anchors(README)
    observability = DEPLOY / "kustomize" / "base" / "observability"
    links = {
        link
        for path in observability.glob("*.yaml")
        for link in re.findall(r"runbook_url: deploy/README\.md#([\w-]+)", path.read_text())
    }
    assert "restore-drill" in links
    assert sorted(links - anchors) == []
    assert "backups-1" not in links  # a runbook link lands on its runbook, not a namesake
