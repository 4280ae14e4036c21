"""The Job the K8sRunLauncher creates for a run, built offline from the Helm values."""

from __future__ import annotations

import pytest
from deploy_checks import policy_problems, schema_problems
from k8s_job import build_run_job, k8s_config_tag, load_values

SAMPLE_RESOURCES = {
    "requests": {"cpu": "2", "memory": "4Gi"},
    "limits": {"cpu": "4", "memory": "8Gi"},
}


@pytest.fixture(scope="module")
def sized_run_job():
    return build_run_job(k8s_config_tag({"container_config": {"resources": SAMPLE_RESOURCES}}))


def test_a_run_job_validates_and_carries_its_tag_resources(sized_run_job):
    assert schema_problems(sized_run_job) == []
    (container,) = sized_run_job["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == SAMPLE_RESOURCES


def test_a_run_job_without_tags_gets_the_default_run_size():
    job = build_run_job()
    launcher = load_values()["runLauncher"]["config"]["k8sRunLauncher"]
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"] == launcher["resources"]


def test_run_pods_are_hardened_and_hold_no_api_token(sized_run_job):
    assert policy_problems(sized_run_job) == []
    pod = sized_run_job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "lakehouse-run"
    assert pod["automountServiceAccountToken"] is False
    assert sized_run_job["metadata"]["namespace"] == "data-platform-core"


def test_run_jobs_clean_up_and_get_the_settings(sized_run_job):
    assert sized_run_job["spec"]["ttlSecondsAfterFinished"] == 86400
    assert sized_run_job["spec"]["backoffLimit"] == 0
    container = sized_run_job["spec"]["template"]["spec"]["containers"][0]
    sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
    assert sources[:2] == ["lakehouse-settings", "lakehouse-secrets"]
    assert container["image"] == "registry.data-platform.local/lakehouse/code-location:0.1.0"


def test_a_tag_can_override_the_account_for_spark_submitting_runs():
    job = build_run_job(
        k8s_config_tag(
            {
                "pod_spec_config": {
                    "service_account_name": "lakehouse-spark-submitter",
                    "automount_service_account_token": True,
                }
            }
        )
    )
    pod = job["spec"]["template"]["spec"]
    assert (pod["serviceAccountName"], pod["automountServiceAccountToken"]) == (
        "lakehouse-spark-submitter",
        True,
    )
    assert pod["securityContext"]["runAsNonRoot"] is True  # the rest of the pod spec is kept


def test_an_oversized_or_broken_run_is_caught():
    job = build_run_job(
        k8s_config_tag({"container_config": {"resources": {"requests": {"cpu": "1"}}}})
    )
    assert any("limits" in p for p in policy_problems(job))
    job["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = ["1"]
    assert schema_problems(job)
