"""Files under a URI (``file://`` or ``s3://``): list, copy with a checksum, delete.

Goes through pyiceberg's ``PyArrowFileIO`` so the warehouse and the backup location use the
same filesystems and S3 settings as the catalog. Paths are compared in one canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs
from pyiceberg.io.pyarrow import PyArrowFileIO

CHUNK = 8 * 1024 * 1024


def canonical(uri: str) -> str:
    """One spelling per file: ``file:///abs/path`` for local files, ``s3://bucket/key`` for S3."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return "file://" + posixpath.normpath(parts.path or "/")
    if parts.scheme in ("s3a", "s3n"):
        return f"s3://{parts.netloc}{parts.path}"
    return uri


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts if p)])


def relative_to(uri: str, root: str) -> str | None:
    """``uri`` relative to ``root`` (both canonicalised), or None when it lies elsewhere."""
    uri, root = canonical(uri), canonical(root).rstrip("/") + "/"
    return uri[len(root) :] if uri.startswith(root) else None


@dataclass(frozen=True)
class FileEntry:
    uri: str
    size: int
    modified: dt.datetime


class Storage:
    """A thin layer over pyarrow filesystems, keyed by the URI's scheme and bucket."""

    def __init__(self, properties: dict[str, str] | None = None) -> None:
        self.io = PyArrowFileIO(properties or {})

    def _fs(self, uri: str) -> tuple[pafs.FileSystem, str, str]:
        uri = canonical(uri)
        scheme, netloc, path = PyArrowFileIO.parse_location(uri, self.io.properties)
        return self.io.fs_by_scheme(scheme, netloc), path, scheme

    @staticmethod
    def _uri(scheme: str, path: str) -> str:
        return f"file://{path}" if scheme == "file" else f"{scheme}://{path}"

    def list(self, prefix: str) -> list[FileEntry]:
        """Every file under ``prefix`` (recursively); nothing when it does not exist."""
        fs, path, scheme = self._fs(prefix)
        selector = pafs.FileSelector(path.rstrip("/"), recursive=True, allow_not_found=True)
        return [
            FileEntry(
                self._uri(scheme, info.path),
                info.size or 0,
                (info.mtime or dt.datetime.fromtimestamp(0, dt.UTC)).astimezone(dt.UTC),
            )
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        ]

    def info(self, uri: str) -> FileEntry | None:
        fs, path, scheme = self._fs(uri)
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return None
        modified = (info.mtime or dt.datetime.fromtimestamp(0, dt.UTC)).astimezone(dt.UTC)
        return FileEntry(self._uri(scheme, info.path), info.size or 0, modified)

    def exists(self, uri: str) -> bool:
        return self.info(uri) is not None

    def delete(self, uri: str) -> bool:
        """Delete one file; False when it was already gone."""
        fs, path, _ = self._fs(uri)
        try:
            fs.delete_file(path)
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, uri: str) -> bytes:
        fs, path, _ = self._fs(uri)
        with fs.open_input_stream(path) as stream:
            return stream.read()

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write whole: a temporary name then a rename locally; S3 puts are atomic already."""
        fs, path, scheme = self._fs(uri)
        if scheme == "file":
            fs.create_dir(str(Path(path).parent), recursive=True)
            temporary = f"{path}.tmp"
            with fs.open_output_stream(temporary) as out:
                out.write(data)
            fs.move(temporary, path)
        else:
            with fs.open_output_stream(path) as out:
                out.write(data)

    def sha256(self, uri: str) -> str:
        fs, path, _ = self._fs(uri)
        digest = hashlib.sha256()
        with fs.open_input_stream(path) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def copy(self, source: str, target: str) -> tuple[int, str]:
        """Copy in one streaming pass, returning (bytes, sha256 of the bytes copied)."""
        src_fs, src_path, _ = self._fs(source)
        dst_fs, dst_path, scheme = self._fs(target)
        if scheme == "file":
            dst_fs.create_dir(str(Path(dst_path).parent), recursive=True)
        digest, size = hashlib.sha256(), 0
        with src_fs.open_input_stream(src_path) as src, dst_fs.open_output_stream(dst_path) as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
        return size, digest.hexdigest()

    def upload(self, local: Path, target: str) -> tuple[int, str]:
        return self.copy(local.resolve().as_uri(), target)

    def download(self, source: str, local: Path) -> tuple[int, str]:
        return self.copy(source, local.resolve().as_uri())
