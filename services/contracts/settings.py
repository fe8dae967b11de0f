"""Settings of the contracts service."""

from decimal import Decimal

from pydantic import Field

from shared.settings import DatabaseSettings


class ContractsSettings(DatabaseSettings):
    service_name: str = Field("contracts", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8005, description="Port the HTTP server listens on.")
    business_timezone: str = Field(
        "Europe/Athens",
        description='IANA time zone of the business day: "today" for activation, expiry, renewal and issue dates.',
    )
    renewal_notice_days: int = Field(
        60,
        ge=0,
        le=3660,
        description="A contract's `renewal_due` event is published this many days before its end date.",
    )
    lifecycle_scan_interval_seconds: float = Field(
        60.0, gt=0, description="How often the lifecycle scanner activates, expires and flags contracts for renewal."
    )
    lifecycle_scan_batch_size: int = Field(
        1000,
        ge=1,
        description="Most contracts the scanner moves per step and round (the rest wait for the next round).",
    )
    client_wait_seconds: float = Field(
        2.0,
        ge=0,
        description="How long creating a contract by hand waits for a just-created client (or the specialist it "
        "names) to reach this service's replica before refusing it as unknown.",
    )
    short_rate_penalty_percent: Decimal = Field(
        Decimal("10"),
        ge=0,
        le=100,
        description="Short-rate cancellation: the share of the pro-rata refund kept as a penalty, in percent.",
    )
    flat_cancellation_days: int = Field(
        14,
        ge=0,
        le=3660,
        description="A flat cancellation (the whole premium back, as if never in force) is allowed before the start "
        "date or within this many days after it.",
    )
    reinstatement_window_days: int = Field(
        30,
        ge=0,
        le=3660,
        description="A cancelled contract may be reinstated (a new version, cover without a gap) within this many "
        "days of its cancellation.",
    )
    renewal_risk_increase_percent: Decimal = Field(
        Decimal("10"),
        ge=0,
        description="The renewal workbench flags a renewal at risk when its proposed premium is more than this many "
        "percent above the expiring one.",
    )
    renewal_at_risk_days: int = Field(
        30,
        ge=0,
        le=3660,
        description="A renewal with no progress (not started, or its deal not yet quoted) this many days before the "
        "end date is flagged at risk, once (`renewal_at_risk` event; its owner is notified).",
    )
    policy_admin_department: str = Field(
        "Policy Administration",
        min_length=1,
        description="The department (by name) that binds or withdraws endorsements: tasks routes the work to its "
        "least-loaded member, and its members may bind any contract's endorsement.",
    )
