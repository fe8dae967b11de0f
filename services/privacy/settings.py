"""Settings of the privacy service."""

from pydantic import Field, SecretStr

from shared.settings import DatabaseSettings


class PrivacySettings(DatabaseSettings):
    service_name: str = Field("privacy", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8009, description="Port the HTTP server listens on.")
    privacy_master_key: SecretStr | None = Field(
        None,
        description="Secret the subjects' data keys are wrapped with (AES-256-GCM under a key derived from it by "
        "HKDF-SHA256). Keep it out of the database and away from the other services; required (the service does "
        "not start without it). Never change it once set: the keys wrapped with it could no longer be read.",
    )
    contract_retention_years: int = Field(
        10,
        ge=0,
        description="How many years after its end a contract is kept (the brokerage's legal obligation): an "
        "erasure of a client with a contract whose end plus this is ahead is refused for that part and restricts "
        "its processing instead.",
    )
