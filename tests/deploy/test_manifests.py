"""Every object of every overlay is valid for Kubernetes 1.32 (or its custom resource spec)."""

from __future__ import annotations

import copy
import re

import yaml
from deploy_checks import (
    CUSTOM_RESOURCES,
    DEPLOY,
    ENVIRONMENTS,
    ident,
    load_documents,
    schema_problems,
)


def test_every_rendered_object_validates(env_docs):
    env, docs = env_docs
    problems = {ident(doc): schema_problems(doc) for doc in docs}
    assert {k: v for k, v in problems.items() if v} == {}, f"{env} overlay"


def test_overlays_render_the_same_objects(rendered):
    """Environments differ in values, never in which objects exist."""
    unhashed = re.compile(r"-[a-z0-9]{10}$")  # kustomize's content-hash suffix
    names = {
        env: sorted(unhashed.sub("", ident(doc)) for doc in docs) for env, docs in rendered.items()
    }
    assert names["dev"] == names["staging"] == names["prod"]


def test_the_custom_resources_in_use_have_specs(rendered):
    """Any kind without a Kubernetes schema fails validation unless it has a spec here."""
    kinds = {doc["kind"] for docs in rendered.values() for doc in docs}
    argocd = {
        doc["kind"] for path in (DEPLOY / "argocd").glob("*.yaml") for doc in load_documents(path)
    }
    assert {"SparkApplication", "ServiceMonitor", "PrometheusRule", "Schedule"} <= set(
        CUSTOM_RESOURCES
    )
    assert {"SparkApplication", "ServiceMonitor", "PrometheusRule", "Schedule"} <= kinds
    assert {"Application", "AppProject"} <= argocd


def test_argocd_applications_are_valid_and_one_set_per_environment():
    apps = {}
    for path in sorted((DEPLOY / "argocd").glob("*.yaml")):
        for doc in load_documents(path):
            assert schema_problems(doc) == [], f"{path.name}: {ident(doc)}"
            if doc["kind"] == "Application":
                apps.setdefault(doc["metadata"]["labels"]["lakehouse.io/environment"], []).append(
                    doc
                )
    assert sorted(apps) == sorted(ENVIRONMENTS)
    for env, env_apps in apps.items():
        platform = [a for a in env_apps if a["spec"].get("source", {}).get("path")]
        assert [a["spec"]["source"]["path"] for a in platform] == [
            f"deploy/kustomize/overlays/{env}"
        ]
        # Seed: automatic deploys to dev only; staging and prod are synced by hand.
        automated = {bool(a["spec"]["syncPolicy"].get("automated")) for a in env_apps}
        assert automated == {env == "dev"}


def test_velero_schedules_keep_backups_30_days(rendered):
    schedules = [d for d in rendered["prod"] if d["kind"] == "Schedule"]
    assert schedules and all(d["spec"]["template"]["ttl"] == "720h0m0s" for d in schedules)
    assert any(d["spec"]["schedule"].split()[2:] == ["*", "*", "*"] for d in schedules)  # daily


# ---- mutation tests: the validators reject broken copies ----


def _first(docs, kind, name=None):
    return copy.deepcopy(
        next(d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"]))
    )


def _round_trip(tmp_path, doc):
    """Write the broken copy to a file and read it back, as a reviewer's manifest would be."""
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_documents(path)[0]


def test_a_misspelled_field_is_rejected(rendered, tmp_path):
    doc = _first(rendered["prod"], "Deployment", "lakekeeper")
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicey"] = "Always"
    assert schema_problems(_round_trip(tmp_path, doc))


def test_a_wrong_type_is_rejected(rendered, tmp_path):
    doc = _first(rendered["prod"], "Deployment", "lakekeeper")
    doc["spec"]["replicas"] = "two"
    assert schema_problems(_round_trip(tmp_path, doc))


def test_a_broken_custom_resource_is_rejected(rendered, tmp_path):
    spark = _first(rendered["prod"], "SparkApplication")
    del spark["spec"]["driver"]["serviceAccount"]
    spark["spec"]["executor"]["cores"] = "2"
    assert len(schema_problems(_round_trip(tmp_path, spark))) == 2
    rule = _first(rendered["prod"], "PrometheusRule")
    del rule["spec"]["groups"][0]["rules"][0]["labels"]
    assert schema_problems(_round_trip(tmp_path, rule))
    schedule = _first(rendered["prod"], "Schedule")
    schedule["spec"]["template"]["ttl"] = "30 days"
    assert schema_problems(_round_trip(tmp_path, schedule))
    monitor = _first(rendered["prod"], "ServiceMonitor")
    monitor["apiVersion"] = "monitoring.coreos.com/v1beta1"
    assert schema_problems(_round_trip(tmp_path, monitor))


def test_an_unknown_kind_is_rejected():
    assert schema_problems(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )


def test_a_missing_kubectl_skips_locally_and_fails_on_ci(monkeypatch):
    import pytest
    from _pytest.outcomes import Failed, Skipped
    from deploy_checks import require_tool

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Skipped):
        require_tool("kubectl-that-is-not-installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed):
        require_tool("kubectl-that-is-not-installed")
