"""Settings of the API gateway."""

from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = Field("gateway", description="Name of the service.")
    http_port: int = Field(8000, description="Port the gateway listens on (the one URL frontends use).")
    identity_url: str = Field("http://127.0.0.1:8001", description="Base URL of the identity service.")
    clients_url: str = Field("http://127.0.0.1:8002", description="Base URL of the clients service.")
    contracts_url: str = Field("http://127.0.0.1:8005", description="Base URL of the contracts service.")
    tasks_url: str = Field("http://127.0.0.1:8004", description="Base URL of the tasks service.")
    audit_url: str = Field("http://127.0.0.1:8006", description="Base URL of the audit service.")
    pipeline_url: str = Field("http://127.0.0.1:8003", description="Base URL of the pipeline service.")
    notifications_url: str = Field("http://127.0.0.1:8007", description="Base URL of the notifications service.")
    documents_url: str = Field("http://127.0.0.1:8008", description="Base URL of the documents service.")
    privacy_url: str = Field(
        "http://127.0.0.1:8009",
        description="Base URL of the privacy service: its routes, and where each data-subject export is registered "
        "as a request (`POST /internal/requests`); empty: exports are logged, not registered.",
    )
    privacy_export_timeout_seconds: float = Field(
        30.0,
        description="A data subject's export (GDPR Art. 15): longest wait for every service's part; a service not in "
        "by then makes the answer a 503 naming it (never a partial export).",
    )
    upload_max_request_bytes: int = Field(
        25 * 1024 * 1024 + 64 * 1024,
        description="Largest upload body (a document, with its multipart framing) the gateway passes on, streamed; "
        "413 above. Keep it at the documents service's MAX_REQUEST_BYTES.",
    )
    upstream_timeout_seconds: float = Field(10.0, description="Longest wait for a service's answer.")
    upstream_connect_timeout_seconds: float = Field(
        2.0, description="Longest wait for a new connection to a service (a service that is down refuses at once)."
    )
    upstream_max_connections: int = Field(200, description="Open connections to the services, all together, at most.")
    proxy_buffer_bytes: int = Field(
        262_144,
        description="A service's answer with a Content-Length up to this size is read whole and passed on "
        "with its length; larger or open-ended answers (event streams, exports) are streamed.",
    )
    compose_part_timeout_seconds: float = Field(
        1.5,
        description="Composed reads (Client 360, dashboard): longest wait for one part; a part not in by then is "
        "reported missing (`timeout`).",
    )
    compose_deadline_seconds: float = Field(
        2.0, description="Composed reads: the answer is sent within this time, with the parts that arrived."
    )
    compose_list_limit: int = Field(
        20, ge=1, le=200, description="Composed reads: items per list part (each part says how many there are)."
    )
    health_timeout_seconds: float = Field(2.0, description="Longest wait for one service's /readyz in /healthz.")
    console_dir: str = Field(
        "",
        description="Folder of the built console (`npm run build` in console/), served at `/`; empty: "
        "`console/dist` of this checkout. When it holds no build, `/` says how to make one.",
    )

    @property
    def console_path(self) -> Path:
        return Path(self.console_dir) if self.console_dir else Path(__file__).resolve().parents[2] / "console" / "dist"

    openapi_cache_seconds: int = Field(30, description="How long the merged OpenAPI document is reused.")

    rate_limit_user_per_second: float = Field(
        20.0, description="Sustained requests per second one authenticated user may make (0 turns the limit off)."
    )
    rate_limit_user_burst: int = Field(100, description="Requests a user may make at once before the rate applies.")
    rate_limit_address_per_second: float = Field(
        50.0, description="Sustained requests per second from one client address (0 turns the limit off)."
    )
    rate_limit_address_burst: int = Field(200, description="Requests one address may make at once.")
    cors_origins: str = Field(
        "", description="Comma-separated frontend origins allowed to call the API from a browser (CORS); empty: none."
    )
