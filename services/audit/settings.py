"""Settings of the audit service."""

from pathlib import Path

from pydantic import Field, SecretStr

from shared.contracts.topics import DOMAIN_TOPIC_PATTERN
from shared.settings import DatabaseSettings


class AuditSettings(DatabaseSettings):
    service_name: str = Field("audit", description="Name of the service: its consumer group.")
    http_port: int = Field(8006, description="Port the HTTP server listens on.")
    audit_topic_pattern: str = Field(
        DOMAIN_TOPIC_PATTERN,
        description="Regular expression of the topics audit records; new matching topics are picked up.",
    )
    consumer_batch_size: int = Field(
        5000,
        description=(
            "Most records the audit consumer takes from Kafka at once (one transaction for the batch, or one per "
            "partition's share when that fails; larger batches spread each transaction's round trips over more events)."
        ),
    )
    audit_checkpoint_interval_seconds: float = Field(
        60.0, description="How often the chain head is checkpointed (if it moved since the last checkpoint)."
    )
    audit_checkpoint_file: Path = Field(
        Path("data/audit/checkpoints.jsonl"),
        description="File the chain checkpoints are appended to, one JSON line each (keep it off the database host).",
    )
    audit_chain_key: SecretStr | None = Field(
        None,
        description=(
            "Secret the chain's seals are keyed with (HMAC-SHA256 of each record's hash): a record written by "
            "anyone without it, the database role audit runs as included, fails verify. Keep it out of the "
            "database; set it in production (without it records are not sealed). Never change it once set."
        ),
    )
    audit_verify_chunk_size: int = Field(2000, description="Records read at a time when verifying the chain.")
    audit_export_chunk_size: int = Field(1000, description="Records read at a time when streaming an export.")
