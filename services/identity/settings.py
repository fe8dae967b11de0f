"""Settings of the identity service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class IdentitySettings(DatabaseSettings):
    service_name: str = Field("identity", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8001, description="Port the HTTP server listens on.")
    access_token_ttl_seconds: int = Field(900, description="Lifetime of an access token (seconds).")
    signing_key_file: str | None = Field(
        None,
        description="PEM file with the EC P-256 private key that signs tokens. Unset: a key is generated once "
        "and kept in the identity database.",
    )
    password_min_length: int = Field(10, description="Shortest password accepted.")
