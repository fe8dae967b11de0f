"""Both blob stores behind the one interface, on real storage: a folder, and an S3-compatible server (moto's
server mode, started here). Bytes go in from a file and come back the same, in chunks; a deleted key is gone;
an upload through the service lands in S3 byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from pathlib import Path

import pytest

from services.documents import service
from services.documents.settings import DocumentsSettings
from services.documents.storage import LocalStore, S3Store, new_key
from tests.documents.files import pdf
from tests.documents.s3 import ACCESS, BUCKET, s3_server
from tests.documents.test_uploads import a_deal, person, upload_of

pytestmark = pytest.mark.usefixtures("acting")


@pytest.fixture(scope="module")
def s3_url():
    with s3_server() as url:
        yield url


@pytest.fixture(params=["local", "s3"])
def settings(request, tmp_path) -> DocumentsSettings:
    if request.param == "local":
        return DocumentsSettings(documents_storage="local", documents_storage_dir=str(tmp_path))
    s3_url = request.getfixturevalue("s3_url")
    return DocumentsSettings(
        documents_storage="s3",
        documents_s3_endpoint_url=s3_url,
        documents_s3_bucket=BUCKET,
        documents_owner_wait_seconds=0,
        **ACCESS,
    )


def store_of(settings: DocumentsSettings) -> LocalStore | S3Store:
    if settings.documents_storage == "s3":
        return S3Store(settings)
    return LocalStore(Path(settings.documents_storage_dir))


async def read_all(store, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_bytes_come_back_the_same_and_a_deleted_key_is_gone(settings):
    store = store_of(settings)
    data = os.urandom(6 * 1024 * 1024 + 123)  # past S3's smallest multipart part
    key = new_key()
    await store.put(key, io.BytesIO(data))
    assert hashlib.sha256(await read_all(store, key)).hexdigest() == hashlib.sha256(data).hexdigest()
    await store.delete(key)
    with pytest.raises(Exception):  # noqa: B017  (each store says "not found" its own way)
        await read_all(store, key)


async def test_an_upload_through_the_service_lands_in_the_store(session, settings):
    store = store_of(settings)
    settings = settings.model_copy(update={"documents_owner_wait_seconds": 0})
    sales = uuid.uuid4()
    deal = await a_deal(session, sales)
    data = pdf(os.urandom(100_000).hex().encode())
    incoming = await service.inspect_upload(upload_of(data), settings)
    _, version = await service.upload(
        session,
        store,
        person("Employee", sales),
        owner_type="deal",
        owner_id=deal,
        document_type="proof_of_identity",
        incoming=incoming,
        settings=settings,
    )
    assert await read_all(store, version.storage_key) == data
