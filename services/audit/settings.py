"""Settings of the audit service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class AuditSettings(DatabaseSettings):
    service_name: str = Field("audit", description="Name of the service: its consumer group.")
    http_port: int = Field(8006, description="Port the HTTP server listens on.")
    audit_topic_pattern: str = Field(
        r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.events$",
        description="Regular expression of the topics audit records; new matching topics are picked up.",
    )
