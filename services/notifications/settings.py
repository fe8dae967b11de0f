"""Settings of the notifications service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class NotificationsSettings(DatabaseSettings):
    service_name: str = Field("notifications", description="Name of the service: its consumer group.")
    http_port: int = Field(8007, description="Port the HTTP server listens on.")

    consumer_instances: int = Field(
        3,
        ge=1,
        le=16,
        description="Consumers of the event topics run side by side in each process (one consumer group; Kafka "
        "shares the partitions among them), so one partition's batch does not wait behind another's.",
    )
    sse_heartbeat_seconds: float = Field(
        15.0, description="A live stream sends a comment this often when idle (keeps proxies from closing it)."
    )
    sse_retry_ms: int = Field(3000, description="Reconnection delay suggested to EventSource clients (`retry:`).")
    stream_pool_size: int = Field(
        5, ge=1, description="Connections of the pool the live streams read their new notifications with."
    )
    sse_replay_limit: int = Field(500, description="Most notifications a stream reads from the database per round.")

    smtp_host: str = Field("127.0.0.1", description="SMTP server the email channel sends through.")
    smtp_port: int = Field(1025, description="Port of the SMTP server.")
    smtp_from: str = Field(
        "InsureOps <notifications@insureops.example.com>", description="`From` address of notification emails."
    )
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (SMTPS, usually port 465).")
    smtp_starttls: bool = Field(False, description="Upgrade the connection with STARTTLS (usually port 587).")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(None, description="SMTP password, with SMTP_USERNAME.")
    smtp_timeout_seconds: float = Field(10.0, description="Longest wait for the SMTP server in one send.")
    email_send_interval_seconds: float = Field(
        60.0,
        description=(
            "Longest pause between the email sender's rounds. A queued email wakes it at once (a NOTIFY at commit) "
            "and a retry falling due does too; this round only catches what a lost notice left behind."
        ),
    )
    email_batch_size: int = Field(50, description="Most emails the sender sends in one round.")
    email_max_attempts: int = Field(
        12,
        description="Attempts per email before it is marked failed (the pause doubles from 2 s up to 10 min: "
        "12 attempts span about 37 minutes).",
    )
    notification_retention_days: int = Field(
        180, ge=1, description="A notification (read or not) is deleted this many days after it was made."
    )
    email_delivery_retention_days: int = Field(
        30,
        ge=1,
        description="An email delivery that is sent or failed for good is deleted this many days after it was "
        "queued (the notification stays); pending ones are kept.",
    )
