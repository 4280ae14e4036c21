"""The Spark image: every downloaded jar pinned by sha256, and one Spark version everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from deploy_checks import DEPLOY, REPO_ROOT

DOCKER = DEPLOY / "docker"
SPARK_DOCKERFILE = DOCKER / "spark.Dockerfile"
CHECKSUMS = DOCKER / "spark-jars.sha256"
SPARK_APPLICATION = DEPLOY / "kustomize" / "base" / "engines" / "spark-application.yaml"


def _args(dockerfile: str) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.M))


def _checksum_lines(text: str) -> dict[str, str]:
    """``sha256sum`` lines -> {file name: digest}; a malformed line raises."""
    lines = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(\S+)  (\S+)", line)
        if not match:
            raise ValueError(f"not a sha256sum line: {line!r}")
        lines[match.group(2)] = match.group(1)
    return lines


def jar_problems(dockerfile: str, checksums: str) -> list[str]:
    """What keeps the image build from verifying every jar it downloads."""
    args = _args(dockerfile)
    jars = {
        f"{args['ICEBERG_SPARK_RUNTIME']}-{args['ICEBERG_VERSION']}.jar",
        f"iceberg-aws-bundle-{args['ICEBERG_VERSION']}.jar",
        f"postgresql-{args['POSTGRESQL_JDBC_VERSION']}.jar",
    }
    try:
        pinned = _checksum_lines(checksums)
    except ValueError as error:
        return [str(error)]
    problems = [f"{jar}: no checksum line" for jar in sorted(jars - set(pinned))]
    problems += [f"{jar}: not downloaded" for jar in sorted(set(pinned) - jars)]
    problems += [
        f"{jar}: {digest!r} is not a sha256"
        for jar, digest in sorted(pinned.items())
        if not re.fullmatch(r"[0-9a-f]{64}", digest)
    ]
    if "sha256sum --strict --check" not in dockerfile:
        problems.append("the build does not run sha256sum --strict --check")
    return problems


def _spark_version(dockerfile: str) -> set[str]:
    return set(re.findall(r"^FROM docker\.io/apache/spark:(\d+\.\d+\.\d+)-", dockerfile, re.M))


def _locked_version(package: str, lock: Path = REPO_ROOT / "uv.lock") -> str:
    match = re.search(rf'^name = "{package}"\nversion = "([^"]+)"', lock.read_text(), re.M)
    assert match, f"{package} is not in uv.lock"
    return match.group(1)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def test_every_downloaded_jar_is_pinned_and_verified():
    assert jar_problems(SPARK_DOCKERFILE.read_text(), CHECKSUMS.read_text()) == []


def test_an_unpinned_or_unlisted_jar_is_caught():
    dockerfile = SPARK_DOCKERFILE.read_text()
    checksums = CHECKSUMS.read_text()
    unpinned = re.sub(r"^\S+(  postgresql-)", r"UNPINNED\1", checksums, flags=re.M)
    assert any("not a sha256" in p for p in jar_problems(dockerfile, unpinned))
    bumped = dockerfile.replace("ARG ICEBERG_VERSION=1.11.0", "ARG ICEBERG_VERSION=1.12.0")
    assert len(jar_problems(bumped, checksums)) == 4  # two missing, two stale
    unchecked = dockerfile.replace("sha256sum --strict --check", "true")
    assert jar_problems(unchecked, checksums) == [
        "the build does not run sha256sum --strict --check"
    ]


def test_the_image_spark_matches_the_iceberg_runtime_and_the_spark_application():
    dockerfile = SPARK_DOCKERFILE.read_text()
    (image_spark,) = _spark_version(dockerfile)
    runtime_spark = re.fullmatch(
        r"iceberg-spark-runtime-(\d+\.\d+)_2\.13", _args(dockerfile)["ICEBERG_SPARK_RUNTIME"]
    )
    assert runtime_spark and _minor(image_spark) == runtime_spark.group(1)
    (app,) = yaml.safe_load_all(SPARK_APPLICATION.read_text())
    assert app["spec"]["sparkVersion"] == image_spark
    assert "scala2.13" in dockerfile  # the runtime jar is built for Scala 2.13


def test_the_locked_pyspark_matches_the_image_spark():
    """Spark Connect clients and the SparkApplication's pyspark must speak the server's version.

    The local session (embedded runtime, tests) is the same Spark as the platform's, too.
    """
    (image_spark,) = _spark_version(SPARK_DOCKERFILE.read_text())
    pyspark = _locked_version("pyspark")
    assert pyspark == image_spark, (
        f"uv.lock pins pyspark {pyspark}, the image runs Spark {image_spark}: pin "
        f"pyspark[connect]=={image_spark} in pyproject.toml (the newest Iceberg 1.11 runtime "
        "is for Spark 4.1)"
    )
