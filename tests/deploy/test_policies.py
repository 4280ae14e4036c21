"""Least privilege: hardened containers, closed namespaces, narrow service accounts."""

from __future__ import annotations

import copy

import yaml
from deploy_checks import (
    DEPLOY,
    ident,
    load_documents,
    namespace_problems,
    policy_problems,
)

SEED_NAMESPACES = {
    f"data-platform-{n}"
    for n in ("core", "storage", "integration", "processing", "observability", "governance")
}
EXECUTOR_TEMPLATE = DEPLOY / "kustomize" / "base" / "engines" / "executor-pod-template.yaml"


def test_every_container_is_hardened_and_sized(env_docs):
    env, docs = env_docs
    problems = {ident(doc): policy_problems(doc) for doc in docs}
    assert {k: v for k, v in problems.items() if v} == {}, f"{env} overlay"
    assert (
        sum(
            1
            for doc in docs
            if policy_problems(doc) == []
            and doc["kind"] in ("Deployment", "Job", "CronJob", "SparkApplication")
        )
        >= 5
    )


def test_the_spark_executor_pod_template_is_hardened():
    (template,) = load_documents(EXECUTOR_TEMPLATE)
    assert policy_problems(template) == []
    assert template["spec"]["automountServiceAccountToken"] is False


def test_every_seed_namespace_is_closed_and_bounded(env_docs):
    env, docs = env_docs
    problems = namespace_problems(docs)
    assert set(problems) == SEED_NAMESPACES
    assert {ns: p for ns, p in problems.items() if p} == {}, f"{env} overlay"


def test_relaxed_pod_security_levels_say_why():
    """A namespace below `restricted` carries a comment with its reason, beside the label."""
    lines = (
        (DEPLOY / "kustomize" / "base" / "namespaces" / "namespaces.yaml").read_text().splitlines()
    )
    relaxed = [
        i
        for i, line in enumerate(lines)
        if "pod-security.kubernetes.io/enforce:" in line and "restricted" not in line
    ]
    assert relaxed, "expected the observability/integration exceptions"
    for i in relaxed:
        assert lines[i - 1].strip().startswith("#"), lines[i]


def test_the_run_launcher_role_is_namespaced_and_minimal(rendered):
    docs = rendered["prod"]
    roles = [
        d
        for d in docs
        if d["kind"] in ("Role", "ClusterRole") and d["metadata"]["name"] == "dagster-run-launcher"
    ]
    assert [r["kind"] for r in roles] == ["Role"]
    rules = {
        (g, r): set(rule["verbs"])
        for rule in roles[0]["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert set(rules) == {
        ("batch", "jobs"),
        ("batch", "jobs/status"),
        ("", "pods"),
        ("", "pods/log"),
        ("", "events"),
    }
    assert {"create", "watch"} <= rules[("batch", "jobs")] and {"create", "watch"} <= rules[
        ("", "pods")
    ]
    assert rules[("", "pods/log")] == {"get"}
    assert all("*" not in verbs for verbs in rules.values())
    bindings = [
        d
        for d in docs
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
        and any(s.get("name") == "dagster-run-launcher" for s in d.get("subjects", []))
    ]
    assert [(b["kind"], b["metadata"]["namespace"]) for b in bindings] == [
        ("RoleBinding", "data-platform-core")
    ]


def test_the_seed_roles_are_bound_to_keycloak_groups(rendered):
    docs = rendered["prod"]
    roles = {d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole"}
    assert {
        f"data-platform:{r}"
        for r in ("data-engineer", "data-analyst", "data-scientist", "platform-admin")
    } <= roles
    groups = {
        s["name"]
        for d in docs
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for s in d["subjects"]
        if s["kind"] == "Group"
    }
    assert groups == {
        "oidc:data-engineer",
        "oidc:data-analyst",
        "oidc:data-scientist",
        "oidc:platform-admin",
    }


def test_no_secret_value_lives_in_deploy(rendered):
    """Secrets are referenced by name and key only."""
    assert [ident(d) for docs in rendered.values() for d in docs if d["kind"] == "Secret"] == []


# ---- mutation tests ----


def _broken(tmp_path, doc, edit):
    doc = copy.deepcopy(doc)
    edit(doc)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_documents(path)[0]


def _lakekeeper(rendered):
    return next(
        d
        for d in rendered["prod"]
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "lakekeeper"
    )


def _container(doc):
    return doc["spec"]["template"]["spec"]["containers"][0]


def test_a_missing_limit_is_caught(rendered, tmp_path):
    doc = _broken(
        tmp_path, _lakekeeper(rendered), lambda d: _container(d)["resources"].pop("limits")
    )
    assert any("limits" in p for p in policy_problems(doc))


def test_a_privileged_container_is_caught(rendered, tmp_path):
    def edit(d):
        _container(d)["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)

    problems = policy_problems(_broken(tmp_path, _lakekeeper(rendered), edit))
    assert any("privileged" in p for p in problems) and any("Escalation" in p for p in problems)


def test_a_writable_root_and_kept_capabilities_are_caught(rendered, tmp_path):
    def edit(d):
        _container(d)["securityContext"]["readOnlyRootFilesystem"] = False
        _container(d)["securityContext"]["capabilities"] = {"add": ["NET_ADMIN"]}
        d["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
        _container(d)["securityContext"].pop("runAsNonRoot")

    problems = policy_problems(_broken(tmp_path, _lakekeeper(rendered), edit))
    assert len(problems) == 4, problems


def test_a_namespace_without_default_deny_or_quota_is_caught(rendered):
    docs = [
        d
        for d in rendered["prod"]
        if not (
            d["metadata"].get("namespace") == "data-platform-storage"
            and (d["kind"] == "ResourceQuota" or d["metadata"]["name"] == "default-deny-all")
        )
    ]
    assert namespace_problems(docs)["data-platform-storage"] == [
        "no ResourceQuota",
        "no default-deny",
    ]
