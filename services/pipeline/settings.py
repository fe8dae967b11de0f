"""Settings of the pipeline service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class PipelineSettings(DatabaseSettings):
    service_name: str = Field("pipeline", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8003, description="Port the HTTP server listens on.")
    client_wait_seconds: float = Field(
        5.0,
        description="How long opening a deal waits for a client it does not know yet to arrive from "
        "`clients.client.events` before answering 422 (a client created a moment ago still works).",
    )
    sla_at_risk_share: float = Field(
        0.75, description="Share of a stage's SLA target after which a deal in it is yellow (at risk); red past 100 %."
    )
    board_deals_per_stage: int = Field(
        50, description="Most deals the board lists under each stage (the counts are complete)."
    )
    board_stream_heartbeat_seconds: float = Field(
        15.0, description="A live board stream sends a comment line after this long without events (seconds)."
    )
    board_stream_retry_ms: int = Field(3000, description="Reconnection delay suggested to board stream clients.")
