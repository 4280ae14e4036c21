"""Build, offline, the Kubernetes Job the K8sRunLauncher would create for a run.

Reused by every test that needs the manifest of a run pod (runs, upkeep jobs): it reads the
run launcher config of deploy/helm/dagster-values.yaml the way the chart turns it into
dagster.yaml, merges a run's ``dagster-k8s/config`` tag the way the launcher does, and calls
dagster-k8s's own ``construct_dagster_k8s_job``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes
import yaml
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import (
    USER_DEFINED_K8S_CONFIG_KEY,
    DagsterK8sJobConfig,
    UserDefinedDagsterK8sConfig,
    construct_dagster_k8s_job,
    get_user_defined_k8s_config,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_VALUES = REPO_ROOT / "deploy" / "helm" / "dagster-values.yaml"

# runK8sConfig keys of the chart -> run_k8s_config keys of dagster.yaml (_run-launcher.tpl).
_RUN_K8S_KEYS = {
    "containerConfig": "container_config",
    "podSpecConfig": "pod_spec_config",
    "podTemplateSpecMetadata": "pod_template_spec_metadata",
    "jobSpecConfig": "job_spec_config",
    "jobMetadata": "job_metadata",
}


def load_values(path: Path = DAGSTER_VALUES) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def code_location_image(values: Mapping[str, Any], location: str = "lakehouse") -> str:
    """The image of a user deployment: runs of that code location use it."""
    for deployment in values["dagster-user-deployments"]["deployments"]:
        if deployment["name"] == location:
            image = deployment["image"]
            return f"{image['repository']}:{image['tag']}"
    raise KeyError(location)


def run_launcher_job_config(values: Mapping[str, Any]) -> DagsterK8sJobConfig:
    """The DagsterK8sJobConfig the chart's dagster.yaml gives the K8sRunLauncher."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    return DagsterK8sJobConfig(
        job_image=code_location_image(values),
        dagster_home=values["global"]["dagsterHome"],
        image_pull_policy=launcher["imagePullPolicy"],
        service_account_name=values["serviceAccount"]["name"],
        instance_config_map="dagster-instance",
        postgres_password_secret=values["global"]["postgresqlSecretName"],
        env_config_maps=[item["name"] for item in launcher.get("envConfigMaps", [])],
        env_secrets=[item["name"] for item in launcher.get("envSecrets", [])],
        env_vars=launcher.get("envVars", []),
        volume_mounts=launcher.get("volumeMounts", []),
        volumes=launcher.get("volumes", []),
        labels=launcher.get("labels", {}),
        resources=launcher.get("resources", {}),
        security_context=launcher.get("securityContext", {}),
    )


def run_k8s_config(
    values: Mapping[str, Any], tags: Mapping[str, str]
) -> UserDefinedDagsterK8sConfig:
    """The launcher's runK8sConfig, then the run's tags on top (tags win, dicts deep-merge)."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    from_values = {
        _RUN_K8S_KEYS[key]: value for key, value in launcher.get("runK8sConfig", {}).items()
    }
    instance = K8sContainerContext(
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(from_values)
    )
    run = K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(dict(tags)))
    return instance.merge(run).run_k8s_config


def k8s_config_tag(config: Mapping[str, Any]) -> dict[str, str]:
    """A run's tags carrying ``config`` as its ``dagster-k8s/config``."""
    return {USER_DEFINED_K8S_CONFIG_KEY: json.dumps(config)}


def build_run_job(
    tags: Mapping[str, str] | None = None,
    *,
    values: Mapping[str, Any] | None = None,
    job_name: str = "dagster-run-0123456789abcdef",
    args: list[str] | None = None,
) -> dict[str, Any]:
    """The Job manifest (a plain dict, camelCase keys) for a run with ``tags``."""
    values = values if values is not None else load_values()
    job = construct_dagster_k8s_job(
        run_launcher_job_config(values),
        args=args or ["dagster", "api", "execute_run", "{}"],
        job_name=job_name,
        user_defined_k8s_config=run_k8s_config(values, tags or {}),
        component="run_worker",
        labels={"dagster/job": "sample_job", "dagster/run-id": "0123456789abcdef"},
    )
    manifest = kubernetes.client.ApiClient().sanitize_for_serialization(job)
    manifest.setdefault("metadata", {})["namespace"] = values["runLauncher"]["config"][
        "k8sRunLauncher"
    ]["jobNamespace"]
    return manifest
