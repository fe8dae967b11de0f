"""Where document bytes live, behind one small interface (`BlobStore`): a folder on the local disk (the default,
under the run folder) or an S3-compatible store. Bytes move in chunks both ways: a file is never held whole in
memory. Keys are the service's own (random), never derived from a user's filename."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from services.documents.settings import DocumentsSettings

CHUNK = 256 * 1024


class BlobStore(Protocol):
    async def put(self, key: str, source: BinaryIO) -> None:
        """Store the bytes of `source` (a file read from its current position to its end) under `key`."""

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The bytes stored under `key`, chunk by chunk."""

    async def delete(self, key: str) -> None:
        """Forget `key` (nothing happens if it is absent)."""


def new_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


class LocalStore:
    """A folder: each blob one file, written to a temporary name and renamed, so a reader never sees half."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} leaves the store")
        return path

    async def put(self, key: str, source: BinaryIO) -> None:
        target = self._path(key)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

        await asyncio.to_thread(write)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Store:
    """An S3-compatible bucket through obstore (the Rust object_store crate): uploads go as S3 multipart uploads
    read from the file in chunks (never whole in memory), downloads are streamed."""

    def __init__(self, settings: DocumentsSettings):
        from obstore.store import S3Store as ObjectStore

        config: dict[str, Any] = {"region": settings.documents_s3_region}
        if settings.documents_s3_endpoint_url:
            config["endpoint"] = settings.documents_s3_endpoint_url
            # A test server or a private store on plain HTTP.
            config["allow_http"] = settings.documents_s3_endpoint_url.startswith("http://")
        if settings.documents_s3_access_key_id:
            config["access_key_id"] = settings.documents_s3_access_key_id
            config["secret_access_key"] = settings.documents_s3_secret_access_key.get_secret_value()
        self.store = ObjectStore(settings.documents_s3_bucket, **config)

    async def put(self, key: str, source: BinaryIO) -> None:
        import obstore

        await obstore.put_async(self.store, key, source, chunk_size=5 * 1024 * 1024)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        import obstore

        result = await obstore.get_async(self.store, key)
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        import obstore

        await obstore.delete_async(self.store, key)


def open_store(settings: DocumentsSettings) -> BlobStore:
    if settings.documents_storage == "s3":
        return S3Store(settings)
    return LocalStore(Path(settings.documents_storage_dir))
