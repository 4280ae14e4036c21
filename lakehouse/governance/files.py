"""Whole files under a location (a local path, ``file://`` or ``s3://``) for archives and exports.

Through pyiceberg's ``PyArrowFileIO`` with the catalog's properties, so S3 endpoint and
credentials are the warehouse's own.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import PyArrowFileIO

CHUNK = 8 * 1024 * 1024


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts if p)])


class Location:
    """Files under one root URI; paths given to the methods are relative to it."""

    def __init__(self, root: str, properties: Mapping[str, str] | None = None) -> None:
        if "://" not in root:
            root = Path(root).expanduser().resolve().as_uri()
        self.root = root.rstrip("/")
        self._io = PyArrowFileIO(dict(properties or {}))
        scheme, netloc, path = PyArrowFileIO.parse_location(self.root, self._io.properties)
        self.fs: pafs.FileSystem = self._io.fs_by_scheme(scheme, netloc)
        self._path = path.rstrip("/")
        self._local = scheme == "file"

    def uri(self, relative: str) -> str:
        return join(self.root, relative)

    def path(self, relative: str) -> str:
        """The filesystem path of ``relative`` (what ``self.fs`` takes)."""
        return posixpath.join(self._path, relative.strip("/"))

    def _parent(self, relative: str) -> None:
        if self._local:
            self.fs.create_dir(posixpath.dirname(self.path(relative)), recursive=True)

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Whole or not at all: a temporary name then a rename locally; an S3 put is atomic."""
        self._parent(relative)
        target = self.path(relative)
        temporary = f"{target}.tmp" if self._local else target
        with self.fs.open_output_stream(temporary) as out:
            out.write(data)
        if self._local:
            self.fs.move(temporary, target)

    def read_bytes(self, relative: str) -> bytes:
        with self.fs.open_input_stream(self.path(relative)) as stream:
            return stream.read()

    def write_parquet(self, relative: str, table: pa.Table, *, compression: str = "zstd") -> None:
        self._parent(relative)
        pq.write_table(table, self.path(relative), filesystem=self.fs, compression=compression)

    def read_parquet(self, relative: str) -> pa.Table:
        return pq.read_table(self.path(relative), filesystem=self.fs)

    def sha256(self, relative: str) -> tuple[int, str]:
        """(size, sha256) of the stored bytes, read back in one streaming pass."""
        digest, size = hashlib.sha256(), 0
        with self.fs.open_input_stream(self.path(relative)) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def list(self, relative: str = "") -> list[str]:
        """Files under ``relative`` (recursively), relative to the root, sorted."""
        selector = pafs.FileSelector(
            self.path(relative).rstrip("/"), recursive=True, allow_not_found=True
        )
        base = self._path + "/"
        return sorted(
            info.path.removeprefix(base)
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File
        )
