"""Settings of the clients service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class ClientsSettings(DatabaseSettings):
    service_name: str = Field("clients", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8002, description="Port the HTTP server listens on.")
    search_similarity_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="pg_trgm similarity (0-1) above which a name matches a search `q` (fuzzy matching).",
    )
