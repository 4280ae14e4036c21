"""Fixtures for the deploy/ tests: each overlay rendered once per session."""

from __future__ import annotations

import pytest
from deploy_checks import ENVIRONMENTS, OVERLAYS, Doc, kustomize, require_tool


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Doc]]:
    """Environment -> the objects `kubectl kustomize` renders for its overlay."""
    require_tool("kubectl")
    return {env: kustomize(OVERLAYS / env) for env in ENVIRONMENTS}


@pytest.fixture(params=ENVIRONMENTS)
def env_docs(request, rendered) -> tuple[str, list[Doc]]:
    return request.param, rendered[request.param]
