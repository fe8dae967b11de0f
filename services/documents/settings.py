"""Settings of the documents service."""

from typing import Literal

from pydantic import Field, SecretStr

from shared.settings import DatabaseSettings

MIB = 1024 * 1024
# What a multipart body adds around the file itself (boundaries, part headers), at most.
MULTIPART_OVERHEAD = 64 * 1024

DEFAULT_ALLOWED_TYPES = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/heic",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "message/rfc822",
)


class DocumentsSettings(DatabaseSettings):
    service_name: str = Field("documents", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8008, description="Port the HTTP server listens on.")
    max_request_bytes: int = Field(
        25 * MIB + MULTIPART_OVERHEAD,
        description="Largest request body accepted (413 above): the largest upload plus room for the multipart "
        "framing around it.",
    )
    documents_max_upload_bytes: int = Field(
        25 * MIB, ge=1, description="Largest file one upload (or new version) may carry, in bytes (413 above)."
    )
    documents_allowed_types: str = Field(
        ",".join(DEFAULT_ALLOWED_TYPES),
        description="Comma-separated content types an upload may have, as detected from its bytes (libmagic), "
        "never as the uploader declares them (415 otherwise).",
    )
    documents_owner_wait_seconds: float = Field(
        2.0,
        ge=0,
        description="How long an upload for a record this service has not heard of yet (a deal opened a moment "
        "ago) waits for the record's event before answering 404.",
    )
    documents_storage: Literal["local", "s3"] = Field(
        "local", description="Where document bytes are kept: `local` (a folder) or `s3` (an S3-compatible store)."
    )
    documents_storage_dir: str = Field(
        ".run/documents",
        description="With `local`: the folder holding the bytes (the local stack puts it in its run folder).",
    )
    documents_s3_bucket: str = Field("insureops-documents", description="With `s3`: the bucket.")
    documents_s3_endpoint_url: str | None = Field(
        None, description="With `s3`: the store's URL (MinIO, Ceph, a test server); empty: AWS's own."
    )
    documents_s3_region: str = Field("us-east-1", description="With `s3`: the region.")
    documents_s3_access_key_id: str = Field("", description="With `s3`: the access key id (empty: the environment's).")
    documents_s3_secret_access_key: SecretStr = Field(
        SecretStr(""), description="With `s3`: the secret access key (empty: the environment's)."
    )

    @property
    def allowed_types(self) -> frozenset[str]:
        return frozenset(t.strip().lower() for t in self.documents_allowed_types.split(",") if t.strip())
