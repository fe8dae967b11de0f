"""What the documents API takes and gives."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

OwnerType = Literal["client", "deal", "task", "contract"]
# A document type is a short key: `proof_of_identity`, `signed_proposal`.
DOCUMENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,99}$"


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    filename: str
    content_type: str = Field(description="Detected from the bytes, not taken from the uploader.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="Hex SHA-256 of the bytes.")
    uploaded_by: uuid.UUID
    uploaded_at: datetime


class DocumentOut(BaseModel):
    """A document and its current version."""

    id: uuid.UUID
    owner_type: OwnerType
    owner_id: uuid.UUID
    client_id: uuid.UUID | None = Field(description="The client the owning record belongs to, when known.")
    document_type: str
    version: int = Field(description="The current version.")
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: uuid.UUID = Field(description="Who uploaded the current version.")
    uploaded_at: datetime
    created_by: uuid.UUID
    created_at: datetime


class DocumentDetail(DocumentOut):
    versions: list[VersionOut] = Field(description="Every version, newest first.")


DocumentType = Annotated[str, StringConstraints(pattern=DOCUMENT_TYPE_PATTERN)]


class ChecklistOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    stage_key: str
    requirements: list[list[str]] = Field(
        description="What a deal needs before it leaves the stage: each requirement is met by a document of any "
        "one of its types."
    )
    auto_advance: bool = Field(description="Whether the deal advances by itself once every requirement is met.")
    updated_at: datetime


class ChecklistUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirements: list[Annotated[list[DocumentType], Field(min_length=1, max_length=10)]] = Field(max_length=50)
    auto_advance: bool
