"""Settings of the API gateway."""

from pydantic import Field

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = Field("gateway", description="Name of the service.")
    http_port: int = Field(8000, description="Port the gateway listens on (the one URL frontends use).")
    identity_url: str = Field("http://127.0.0.1:8001", description="Base URL of the identity service.")
    tasks_url: str = Field("http://127.0.0.1:8004", description="Base URL of the tasks service.")
    audit_url: str = Field("http://127.0.0.1:8006", description="Base URL of the audit service.")
    upstream_timeout_seconds: float = Field(10.0, description="Longest wait for a service's answer.")
    health_timeout_seconds: float = Field(2.0, description="Longest wait for one service's /readyz in /healthz.")
    max_request_bytes: int = Field(1_048_576, description="Largest request body accepted (413 above).")
    openapi_cache_seconds: int = Field(30, description="How long the merged OpenAPI document is reused.")
