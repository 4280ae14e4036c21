"""The pinned downloads (deploy/loopback/artifacts.toml): fetched once, verified before each use.

A file enters the cache under its final name only after its SHA-256 matched the pin, and is
checked again before it is unpacked, so a corrupted or substituted file is never used.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lakehouse.loopback.layout import Layout, LoopbackError
from lakehouse.settings import REPO_ROOT

PINS = REPO_ROOT / "deploy" / "loopback" / "artifacts.toml"


@dataclass(frozen=True)
class Artifact:
    name: str
    group: str
    artifact: str
    version: str
    type: str
    classifier: str | None
    sha256: str
    pins: Path = PINS  # the file that pins it, named when a digest differs

    @property
    def file_name(self) -> str:
        suffix = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{suffix}.{self.type}"

    def url(self, repository: str) -> str:
        group_path = self.group.replace(".", "/")
        return f"{repository}/{group_path}/{self.artifact}/{self.version}/{self.file_name}"


def read_pins(path: Path = PINS) -> dict[str, Artifact]:
    """The pins by name; a malformed entry is one line naming it."""
    pins = {}
    for name, entry in tomllib.loads(path.read_text()).items():
        parts = str(entry.get("coordinate", "")).split(":")
        digest = str(entry.get("sha256", ""))
        if not 3 <= len(parts) <= 5 or len(digest) != 64:
            raise LoopbackError(
                f"{path}: [{name}] needs coordinate G:A:V[:TYPE[:CLASSIFIER]] and sha256"
            )
        group, artifact, version, *rest = parts
        kind = rest[0] if rest else "jar"
        classifier = rest[1] if len(rest) > 1 else None
        pins[name] = Artifact(
            name, group, artifact, version, kind, classifier, digest.lower(), path
        )
    return pins


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified(artifact: Artifact, path: Path) -> Path:
    """``path`` if its digest is the pinned one; otherwise one line, and the file is not used."""
    actual = sha256_of(path)
    if actual != artifact.sha256:
        raise LoopbackError(
            f"{path}: SHA-256 {actual} differs from the pin {artifact.sha256} "
            f"([{artifact.name}] in {_shown(artifact.pins)}); file not used"
        )
    return path


def _shown(path: Path) -> Path:
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def fetch(artifact: Artifact, layout: Layout) -> Path:
    """The verified file in the cache, downloaded first when missing."""
    target = layout.cache / "artifacts" / artifact.file_name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        url = artifact.url(layout.maven_repository)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    shutil.copyfileobj(response, partial, 1 << 20)
            except OSError as error:
                Path(partial.name).unlink(missing_ok=True)
                raise LoopbackError(f"cannot download {url}: {error}") from None
        try:
            verified(artifact, Path(partial.name))
        except LoopbackError:
            Path(partial.name).unlink(missing_ok=True)
            raise
        Path(partial.name).replace(target)
    return verified(artifact, target)


def unpacked(artifact: Artifact, layout: Layout) -> Path:
    """The archive's contents under the cache (its single top directory), unpacked once."""
    archive = fetch(artifact, layout)
    target = layout.cache / "unpacked" / f"{artifact.artifact}-{artifact.version}"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=layout.cache / "artifacts"))
        try:
            # Only archives whose digest matched the pin get here (nosec: not untrusted input).
            if artifact.type == "zip":
                with zipfile.ZipFile(archive) as bundle:
                    bundle.extractall(staging)  # nosec B202
            else:
                with tarfile.open(archive) as bundle:
                    bundle.extractall(staging, filter="data")  # nosec B202
            (top,) = list(staging.iterdir())
            target.parent.mkdir(parents=True, exist_ok=True)
            top.replace(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _restore_exec_bits(target)
        (target / ".complete").touch()
    return target


def _restore_exec_bits(root: Path) -> None:
    # zipfile drops Unix modes: the launch scripts must stay executable.
    for script in [*root.glob("bin/*"), *root.glob("bin/*/launcher")]:
        if script.is_file():
            script.chmod(0o755)
