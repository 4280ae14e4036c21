"""Delivery: CI lints, tests, builds, scans and pushes immutable image tags (.gitlab-ci.yml);
ArgoCD runs dev from the default branch and staging and prod from a release tag, synced by hand,
prod only by its approvers (deploy/argocd)."""

from __future__ import annotations

import re

import yaml
from deploy_checks import DEPLOY, REPO_ROOT, load_documents

CI = yaml.safe_load((REPO_ROOT / ".gitlab-ci.yml").read_text())
CI_TEXT = (REPO_ROOT / ".gitlab-ci.yml").read_text()
OUR_REPO = "https://git.data-platform.local/data/lakehouse.git"
RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
# A release's tag: v1.2.3, 16.9-bookworm, or MinIO's RELEASE.<date>; never latest or a branch.
EXACT_TAG = re.compile(r":(v?\d+(\.\d+)+[\w.-]*|RELEASE\.[\dT-]+Z)$")


def _apps(env: str) -> list[dict]:
    return load_documents(DEPLOY / "argocd" / f"{env}.yaml")


def _our_revisions(env: str) -> set[str]:
    return {
        source["targetRevision"]
        for app in _apps(env)
        for source in app["spec"].get("sources") or [app["spec"]["source"]]
        if source["repoURL"] == OUR_REPO
    }


def _script(job: str) -> str:
    def flatten(items):
        for item in items:
            yield from flatten(item) if isinstance(item, list) else [item]

    return "\n".join(flatten(CI[job]["script"]))


# ---- ArgoCD ----


def test_dev_follows_the_default_branch_and_syncs_itself():
    assert _our_revisions("dev") == {"main"}
    assert all("automated" in app["spec"]["syncPolicy"] for app in _apps("dev"))


def test_staging_and_prod_are_pinned_to_a_release_and_synced_by_hand():
    """Issue 16: prod followed main, with dev's image tags, and synced itself."""
    versions = {}
    for env in ("staging", "prod"):
        (revision,) = _our_revisions(env)
        match = RELEASE.match(revision)
        assert match, (env, revision)
        versions[env] = tuple(int(p) for p in match.groups())
        assert not any("automated" in app["spec"]["syncPolicy"] for app in _apps(env)), env
    assert versions["prod"] <= versions["staging"]  # prod never runs what staging has not


def test_only_prod_approvers_sync_prod():
    (project,) = load_documents(DEPLOY / "argocd" / "project.yaml")
    roles = {role["name"]: role for role in project["spec"]["roles"]}
    syncing_prod = [
        name
        for name, role in roles.items()
        for policy in role["policies"]
        if ", sync, " in policy and re.search(r"data-platform/\*(-prod)?, allow$", policy)
    ]
    assert syncing_prod == ["prod-approver"]
    assert roles["prod-approver"]["groups"] == ["platform-admin"]


def test_every_image_is_pinned_to_an_exact_version():
    images = []
    for path in DEPLOY.rglob("*.yaml"):
        for match in re.finditer(r"^\s*image:\s*([^\s#{]+)\s*$", path.read_text(), re.M):
            images.append((path.name, match.group(1).strip("'\"")))
    assert len(images) > 10
    assert [(f, i) for f, i in images if not EXACT_TAG.search(i)] == []


# ---- CI ----


def test_ci_lints_and_runs_the_suite_before_any_image_is_built():
    assert CI["stages"] == ["check", "build", "scan", "push"]
    assert _script("lint") == "make lint"
    assert ".ci/run" in _script("test")
    assert set(CI["build"]["needs"]) == {"lint", "test"}
    assert CI["test"]["timeout"] == "40 minutes"


def test_ci_builds_every_image_of_deploy_docker():
    built = {item["DOCKERFILE"] for item in CI[".images"]["parallel"]["matrix"]}
    dockerfiles = {str(p.relative_to(REPO_ROOT)) for p in (DEPLOY / "docker").glob("*Dockerfile")}
    assert built == dockerfiles
    for job in ("build", "scan", "push"):
        assert CI[job]["extends"] == ".images"


def test_images_are_scanned_before_they_are_pushed():
    scan = _script("scan")
    assert "trivy image" in scan and "--exit-code 1" in scan
    assert "HIGH,CRITICAL" in scan
    assert set(CI["push"]["needs"]) == {"build", "scan"}
    assert "skopeo copy" in _script("push") and "push" not in _script("scan")


def test_pushed_tags_are_immutable():
    tagging = "\n".join(CI[".image-tag"])
    assert 'TAG="sha-${CI_COMMIT_SHORT_SHA}"' in tagging and "CI_COMMIT_TAG#v" in tagging
    assert "latest" not in CI_TEXT
    push = _script("push")
    assert push.index("skopeo inspect") < push.index("skopeo copy")
    assert "immutable" in push and "exit 1" in push


def test_a_release_must_name_its_version_in_deploy():
    build = _script("build")
    assert 'grep -qF "tag: \\"$TAG\\"" deploy/helm/dagster-values.yaml' in build
    assert "deploy/kustomize/base/engines" in build


def test_ci_tools_are_pinned_and_credentials_stay_out():
    images = [CI[job]["image"] for job in ("lint", "test", "build", "push")]
    images.append(CI["scan"]["image"]["name"])
    assert all(EXACT_TAG.search(image) for image in images), images
    assert "$REGISTRY_PASSWORD" in _script("push")
    assert not re.search(r"(?i)password:\s*\S", CI_TEXT)
