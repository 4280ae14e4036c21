"""Fixtures for the deploy/ tests: each overlay rendered once per session."""

from __future__ import annotations

import sys

import pytest
from deploy_checks import DEPLOY, ENVIRONMENTS, OVERLAYS, Doc, kustomize, require_tool

# The generators of deploy/ (deploy/access) are scripts beside their files, not a package.
sys.path.insert(0, str(DEPLOY / "access"))


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Doc]]:
    """Environment -> the objects `kubectl kustomize` renders for its overlay."""
    require_tool("kubectl")
    return {env: kustomize(OVERLAYS / env) for env in ENVIRONMENTS}


@pytest.fixture(params=ENVIRONMENTS)
def env_docs(request, rendered) -> tuple[str, list[Doc]]:
    return request.param, rendered[request.param]


@pytest.fixture(scope="session")
def personal_data():
    """The lakehouse's PII declarations (loads its definitions once: tens of seconds)."""
    from access_pii import declared

    return declared()
