"""The images: pinned bases, locked dependencies, non-root, read-only friendly."""

from __future__ import annotations

import re

import pytest
from deploy_checks import DEPLOY

DOCKER = DEPLOY / "docker"


def _instructions(path):
    text = re.sub(r"\\\n", " ", path.read_text())
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


@pytest.mark.parametrize("name", ["Dockerfile", "spark.Dockerfile"])
def test_images_are_pinned_non_root_and_healthchecked(name):
    lines = _instructions(DOCKER / name)
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert len(bases) >= 2, "multi-stage"
    for base in bases:
        assert "@sha256:" in base or re.search(r":[0-9][\w.\-]*$", base), base
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert int(users[-1].split(":")[0]) >= 10000
    assert any(line.startswith("HEALTHCHECK ") for line in lines)
    assert any(
        line.startswith("LABEL ") and "org.opencontainers.image.version" in line for line in lines
    )


def test_the_code_location_image_installs_the_lock_and_parses_dbt():
    lines = _instructions(DOCKER / "Dockerfile")
    assert any("uv sync --frozen --no-dev" in line for line in lines)
    assert any("lakehouse.analytics.prepare" in line and "--target trino" in line for line in lines)
    assert lines[-1] == (
        'CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", '
        '"-m", "lakehouse.definitions"]'
    )
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in env
