"""Every key our Helm values set exists in the chart they are for (fixtures from the charts)."""

from __future__ import annotations

import json

import pytest
import yaml
from chart_keys import FIXTURES, chart_keys, unknown_keys
from deploy_checks import DEPLOY, ENVIRONMENTS, load_documents

HELM = DEPLOY / "helm"
CHARTS = {  # chart name in the ArgoCD Application -> (fixture, values file)
    "dagster": ("dagster", "dagster-values.yaml"),
    "trino": ("trino", "trino-values.yaml"),
    "oauth2-proxy": ("oauth2-proxy", "oauth2-proxy-values.yaml"),
    "airbyte": ("airbyte", "airbyte-values.yaml"),
    "kube-prometheus-stack": ("kube-prometheus-stack", "kube-prometheus-stack-values.yaml"),
    "loki": ("loki", "loki-values.yaml"),
    "alloy": ("alloy", "alloy-values.yaml"),
}
# Values files layered on a chart's main one by some releases (deploy/argocd valueFiles).
EXTRA_VALUES = {
    "oauth2-proxy": (
        "oauth2-proxy-dagster-values.yaml",
        "oauth2-proxy-dagster-read-only-values.yaml",
    ),
}


@pytest.mark.parametrize("chart", sorted(CHARTS))
def test_values_files_use_only_chart_keys(chart):
    fixture, values_file = CHARTS[chart]
    for name in (values_file, *EXTRA_VALUES.get(chart, ())):
        values = yaml.safe_load((HELM / name).read_text())
        assert unknown_keys(values, chart_keys(fixture)) == [], name


def test_every_values_file_an_application_reads_is_checked():
    checked = {
        f for chart, (_, main) in CHARTS.items() for f in (main, *EXTRA_VALUES.get(chart, ()))
    }
    for env in ENVIRONMENTS:
        for doc in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
            for source in doc.get("spec", {}).get("sources", []):
                if source.get("chart") in CHARTS:
                    files = {f.rsplit("/", 1)[-1] for f in source["helm"].get("valueFiles", [])}
                    assert files <= checked, (env, doc["metadata"]["name"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_argocd_value_overrides_use_only_chart_keys(env):
    seen = set()
    for doc in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
        for source in doc.get("spec", {}).get("sources", []):
            if source.get("chart") in CHARTS:
                seen.add(source["chart"])
                overrides = source["helm"].get("valuesObject", {})
                fixture = CHARTS[source["chart"]][0]
                assert unknown_keys(overrides, chart_keys(fixture)) == [], source["chart"]
    assert seen == set(CHARTS)


def _deployed_versions() -> dict[str, set[str]]:
    """Chart -> the targetRevisions the ArgoCD Applications deploy."""
    found: dict[str, set[str]] = {}
    for env in ENVIRONMENTS:
        for doc in load_documents(DEPLOY / "argocd" / f"{env}.yaml"):
            for source in doc.get("spec", {}).get("sources", []):
                if "chart" in source:
                    found.setdefault(source["chart"], set()).add(source["targetRevision"])
    return found


def test_the_fixtures_are_for_the_deployed_chart_versions():
    deployed = _deployed_versions()
    for chart, (fixture, _) in CHARTS.items():
        version = json.loads((FIXTURES / f"{fixture}-values-keys.json").read_text())["version"]
        assert deployed[chart] == {version.split()[0]}, chart


def test_trino_sub_path_mounts_run_on_a_chart_that_honours_them():
    """Chart 1.36 ignored configMounts[].subPath and mounted a directory in the file's place,
    so Trino found no iceberg.properties; subPath arrived in 1.37.0."""
    values = yaml.safe_load((HELM / "trino-values.yaml").read_text())
    assert any("subPath" in mount for mount in values["configMounts"])
    for version in _deployed_versions()["trino"]:
        assert tuple(int(p) for p in version.split(".")) >= (1, 37, 0), version


def test_fixtures_name_their_chart_version_and_source():
    for fixture, _ in CHARTS.values():
        data = json.loads((FIXTURES / f"{fixture}-values-keys.json").read_text())
        assert data["version"] and data["source"] and data["keys"]


def test_the_known_wrong_names_are_caught():
    """The names this check found in our values (fixed since) fail it."""
    assert unknown_keys(
        {"metrics": {"servicemonitor": {"enabled": True}}}, chart_keys("oauth2-proxy")
    ) == ["metrics.servicemonitor"]
    assert unknown_keys(
        {"global": {"database": {"database": "airbyte"}}}, chart_keys("airbyte")
    ) == ["global.database.database"]
    # The bundled database and MinIO stay off only under their exact switch names.
    assert unknown_keys(
        {"postgresql": {"enable": False}, "minio": {"enabled": False, "endpoint": "x"}},
        chart_keys("airbyte"),
    ) == ["postgresql.enable", "minio.endpoint"]
    # The JMX exporter is configured under exactly these names (chart 1.37).
    assert unknown_keys(
        {"jmx": {"exporter": {"enabled": True, "config": "x", "configProperties": "x"}}},
        chart_keys("trino"),
    ) == ["jmx.exporter.config"]
    assert unknown_keys({"jmx": {"exporterEnabled": True}}, chart_keys("trino")) == [
        "jmx.exporterEnabled"
    ]
    deployments = {"deployments": [{"name": "lakehouse", "replicaCount": 2}]}
    assert unknown_keys({"dagster-user-deployments": deployments}, chart_keys("dagster")) == [
        "dagster-user-deployments.deployments[0].replicaCount"
    ]


def test_the_observability_charts_catch_misspelt_keys():
    """Issue 16's leftovers: these values files had no fixture, so a typo passed silently."""
    assert unknown_keys(
        {"prometheus": {"prometheusSpec": {"retentionSizee": "45GB"}}},
        chart_keys("kube-prometheus-stack"),
    ) == ["prometheus.prometheusSpec.retentionSizee"]
    assert unknown_keys({"singleBinary": {"replica": 1}}, chart_keys("loki")) == [
        "singleBinary.replica"
    ]
    assert unknown_keys({"controller": {"kind": "daemonset"}}, chart_keys("alloy")) == [
        "controller.kind"
    ]
    assert (
        unknown_keys({"grafana": {"env": {"ANY": "x"}}}, chart_keys("kube-prometheus-stack")) == []
    )


def test_free_form_maps_accept_any_key():
    assert unknown_keys({"extraArgs": {"any-flag": "x"}}, chart_keys("oauth2-proxy")) == []
    assert unknown_keys({"catalogs": {"anything": "connector.name=x"}}, chart_keys("trino")) == []
