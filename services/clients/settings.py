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
    # Imports from spreadsheets (services/clients/imports): contracts are created through the contracts service's
    # API and lines read from the pipeline's, with the importing person's token.
    contracts_url: str = Field("http://127.0.0.1:8005", description="Base URL of the contracts service (imports).")
    pipeline_url: str = Field("http://127.0.0.1:8003", description="Base URL of the pipeline service (imports).")
    import_max_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest spreadsheet an import accepts (bytes); 413 above."
    )
    import_max_rows: int = Field(50_000, ge=1, description="Most data rows in one imported file; 422 above.")
    import_batch_rows: int = Field(
        200, ge=1, le=5000, description="Rows committed per transaction (clients) or sent per round (contracts)."
    )
    import_concurrency: int = Field(
        8, ge=1, le=64, description="Contract rows of an import sent to the contracts service at once."
    )
    import_business_timezone: str = Field(
        "Europe/Athens",
        description="Imports: the time zone of the business date an imported contract's status must agree with "
        "(keep it at the contracts service's BUSINESS_TIMEZONE).",
    )
