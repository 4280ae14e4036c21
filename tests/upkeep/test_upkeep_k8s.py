"""The Job the K8sRunLauncher would create for each upkeep job, built offline and validated
with kubernetes-validate (strict): it carries the job's resources and fits the LimitRange."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_checks import DEPLOY, KUBERNETES_VERSION, policy_problems, schema_problems
from k8s_job import build_run_job

from lakehouse.definitions import build_definitions
from lakehouse.upkeep.jobs import FRESHNESS_LABEL, K8S_CONFIG_TAG, UPKEEP_JOBS

UNITS = {"m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: str) -> float:
    for suffix, factor in UNITS.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def core_limits() -> dict[str, str]:
    docs = yaml.safe_load_all((DEPLOY / "kustomize/base/namespaces/limit-ranges.yaml").read_text())
    (core,) = [d for d in docs if d and d["metadata"]["namespace"] == "data-platform-core"]
    return next(item for item in core["spec"]["limits"] if item["type"] == "Container")["max"]


@pytest.fixture(scope="module")
def job_tags() -> dict[str, dict[str, str]]:
    defs = build_definitions({"LAKEHOUSE_RUNTIME": "embedded"})
    return {spec.name: defs.resolve_job_def(spec.name).tags for spec in UPKEEP_JOBS}


@pytest.mark.parametrize("spec", UPKEEP_JOBS, ids=lambda spec: spec.name)
def test_the_run_job_of_each_upkeep_job_validates_and_carries_its_resources(spec, job_tags):
    tags = job_tags[spec.name]
    assert json.loads(tags[K8S_CONFIG_TAG]) == spec.k8s_config()

    job = build_run_job(tags, job_name=f"dagster-run-{spec.name.replace('_', '-')}")

    assert schema_problems(job) == []  # kubernetes-validate, strict, Kubernetes 1.32
    assert policy_problems(job) == []
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == spec.k8s_config()["container_config"]["resources"]
    limits = core_limits()
    for resource in ("cpu", "memory"):
        assert quantity(container["resources"]["limits"][resource]) <= quantity(limits[resource])
        assert quantity(container["resources"]["requests"][resource]) <= quantity(
            container["resources"]["limits"][resource]
        )
    labels = job["metadata"].get("labels", {})
    assert (labels.get(FRESHNESS_LABEL) == "daily") == spec.daily


def test_all_upkeep_run_jobs_pass_the_kubernetes_validate_command(job_tags, tmp_path):
    manifests = [build_run_job(job_tags[spec.name]) for spec in UPKEEP_JOBS]
    path = tmp_path / "upkeep-run-jobs.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    tool = Path(sys.executable).with_name("kubernetes-validate")
    done = subprocess.run(
        [str(tool), "-k", KUBERNETES_VERSION, "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_the_retention_run_reads_the_audit_purge_login(job_tags):
    """The purge login may delete audit rows past seven years: its Secret goes to the retention
    run's pod alone, beside the settings and secrets every run gets."""
    readers = []
    for spec in UPKEEP_JOBS:
        (container,) = build_run_job(job_tags[spec.name])["spec"]["template"]["spec"]["containers"]
        sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
        assert sources[:2] == ["lakehouse-settings", "lakehouse-secrets"], spec.name
        if "lakehouse-audit-retention" in sources:
            readers.append(spec.name)
    assert readers == ["upkeep_retention"]
