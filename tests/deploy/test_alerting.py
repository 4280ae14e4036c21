"""Alerts that can fire and reach someone: promtool's rule unit tests, amtool's config check.

Every alert of the PrometheusRule has a unit test in tests/deploy/alert_tests/ that shows it
firing on its condition and staying silent without it, run by Prometheus' own `promtool test
rules`; the Alertmanager configuration passes `amtool check-config`, and `amtool config routes
test` shows where each severity and team lands. Both tools come from scripts/prometheus-tools.sh.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from deploy_checks import DEPLOY, REPO_ROOT, load_documents, require_tool

RULES = DEPLOY / "kustomize" / "base" / "observability" / "prometheus-rules.yaml"
STACK_VALUES = DEPLOY / "helm" / "kube-prometheus-stack-values.yaml"
UNIT_TESTS = Path(__file__).resolve().parent / "alert_tests"
SECRETS_DIR = "/etc/alertmanager/secrets/alertmanager-receivers/"
LITERAL_CREDENTIALS = ("smtp_auth_password", "routing_key", "service_key", "api_url", "url")


def _tool(name: str) -> str:
    """promtool/amtool from .tools/bin (scripts/prometheus-tools.sh), else PATH."""
    local = REPO_ROOT / ".tools" / "bin" / name
    return str(local) if local.is_file() else require_tool(name)


def rule_groups() -> list[dict]:
    (rule,) = [d for d in load_documents(RULES) if d["kind"] == "PrometheusRule"]
    return rule["spec"]["groups"]


def alert_names() -> set[str]:
    return {r["alert"] for g in rule_groups() for r in g["rules"] if "alert" in r}


def alertmanager_config() -> dict:
    return yaml.safe_load(STACK_VALUES.read_text())["alertmanager"]["config"]


def unit_test_cases() -> list[tuple[str, bool]]:
    """(alert name, whether the case expects it to fire) for every alert_rule_test."""
    return [
        (case["alertname"], bool(case.get("exp_alerts")))
        for path in sorted(UNIT_TESTS.glob("*.yaml"))
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test") or []
    ]


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    """The PrometheusRule's groups as a plain rule file, beside copies of the unit tests."""
    out = tmp_path_factory.mktemp("rules")
    (out / "lakehouse-rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}))
    for path in UNIT_TESTS.glob("*.yaml"):
        shutil.copy(path, out / path.name)
    return out


@pytest.fixture(scope="module")
def am_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(alertmanager_config()))
    return path


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=300)


# ---- Prometheus rules ----


def test_every_alert_has_a_firing_and_a_silent_unit_test():
    cases = unit_test_cases()
    fires = {name for name, firing in cases if firing}
    silent = {name for name, firing in cases if not firing}
    assert alert_names() - fires == set(), "alerts never shown firing"
    assert alert_names() - silent == set(), "alerts never shown silent"
    assert {name for name, _ in cases} <= alert_names(), "tests of alerts that do not exist"


def test_every_alert_says_who_owns_it():
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule["labels"].get("team"), rule["alert"]
                assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]


def test_the_rules_pass_promtool_check_rules(rules_dir):
    done = _run([_tool("promtool"), "check", "rules", "lakehouse-rules.yaml"], cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_fires_on_its_condition_and_not_without(rules_dir):
    tests = sorted(p.name for p in rules_dir.glob("*.yaml") if p.name != "lakehouse-rules.yaml")
    done = _run([_tool("promtool"), "test", "rules", *tests], cwd=rules_dir)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_expectation_fails_promtool(rules_dir, tmp_path):
    """The freshness alert at 25 h (before its threshold) must not pass as firing."""
    broken = yaml.safe_load((rules_dir / "pipelines.yaml").read_text())
    case = broken["tests"][1]["alert_rule_test"][0]
    case["exp_alerts"] = broken["tests"][1]["alert_rule_test"][1]["exp_alerts"]
    shutil.copy(rules_dir / "lakehouse-rules.yaml", tmp_path / "lakehouse-rules.yaml")
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    done = _run([_tool("promtool"), "test", "rules", "broken.yaml"], cwd=tmp_path)
    assert done.returncode != 0


# ---- Alertmanager ----


def test_the_alertmanager_config_passes_amtool(am_config):
    done = _run([_tool("amtool"), "check-config", str(am_config)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _receivers(am_config: Path, *labels: str) -> list[str]:
    done = _run(
        [_tool("amtool"), "config", "routes", "test", f"--config.file={am_config}", *labels]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().split(",")


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (("severity=critical", "team=data-platform"), ["pagerduty-critical", "chat-platform"]),
        (
            ("severity=critical", "team=data-engineering"),
            ["pagerduty-critical", "chat-data-engineering"],
        ),
        (("severity=warning", "team=data-engineering"), ["chat-data-engineering"]),
        (("severity=warning", "team=analytics"), ["chat-analytics"]),
        (("severity=warning", "team=data-platform"), ["chat-platform"]),
        (("severity=info", "team=data-engineering"), ["platform-email"]),
    ],
)
def test_severity_and_team_route_to_their_receivers(am_config, labels, receivers):
    assert _receivers(am_config, *labels) == receivers


def test_every_alert_reaches_a_person(am_config):
    """Each alert's own severity and team land on a receiver that sends something."""
    config = alertmanager_config()
    sending = {r["name"] for r in config["receivers"] if len(r) > 1}
    for group in rule_groups():
        for rule in group["rules"]:
            if "alert" in rule:
                labels = [f"{k}={v}" for k, v in rule["labels"].items()]
                got = _receivers(am_config, f"alertname={rule['alert']}", *labels)
                assert set(got) <= sending and got, (rule["alert"], got)


def test_receivers_read_their_credentials_from_the_mounted_secret():
    config = alertmanager_config()
    files = [config["global"]["smtp_auth_password_file"]]
    for receiver in config["receivers"]:
        for kind, items in receiver.items():
            for item in items if isinstance(items, list) else []:
                assert not set(item) & set(LITERAL_CREDENTIALS), (receiver["name"], kind)
                files += [v for k, v in item.items() if k.endswith("_file")]
    assert not set(config["global"]) & set(LITERAL_CREDENTIALS)
    assert files and all(f.startswith(SECRETS_DIR) for f in files)
    spec = yaml.safe_load(STACK_VALUES.read_text())["alertmanager"]["alertmanagerSpec"]
    assert "alertmanager-receivers" in spec["secrets"]
    kinds = {kind for r in config["receivers"] for kind in r if kind != "name"}
    assert {"email_configs", "slack_configs", "pagerduty_configs"} <= kinds


def test_a_broken_route_fails_amtool(tmp_path):
    config = alertmanager_config()
    config["route"]["routes"][1]["receiver"] = "nobody"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config))
    done = _run([_tool("amtool"), "check-config", str(path)])
    assert done.returncode != 0
