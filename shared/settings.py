"""Settings common to every service; each service subclasses `ServiceSettings` with its own fields.

Variables are read from the environment without a prefix (each service runs as its own process
or container), with the same names in `make up` and docker-compose.yml. Every field carries a
description; `python -m devstack.settings_doc` prints them all as the table in docs/configuration.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = Field(
        "service", description="Name of the service: the `source` of its events and its consumer group."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    http_port: int = Field(8000, description="Port the HTTP server listens on.")
    log_level: str = Field("INFO", description="Python log level.")
    log_format: Literal["json", "text"] = Field(
        "json", description="`json` (one object a line, with trace ids) or `text`."
    )

    kafka_bootstrap_servers: str = Field("127.0.0.1:19092", description="Kafka bootstrap servers, comma separated.")
    consumer_fetch_max_wait_ms: int = Field(
        5000,
        description=(
            "How long Kafka may hold a consumer's fetch when it has nothing to return (records that arrive meanwhile "
            "are returned at once; an idle consumer asks this often). Every consumer, the deactivation reader of "
            "each process included."
        ),
    )
    consumer_fetcher_wake_ms: int = Field(
        5000,
        ge=100,
        description=(
            "Longest a consumer's background fetcher sleeps with nothing to do (aiokafka's `consumer_timeout_ms`; "
            "its own default, 200, woke every consumer five times a second at rest). Records arriving, records "
            "taken, a seek, a resumed partition or a rebalance wake it at once; this is only its safety net."
        ),
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT",
        description=(
            "How the service reaches Kafka: `SASL_PLAINTEXT` (SCRAM-SHA-512 login, on one host or a private "
            "network), `SASL_SSL` (the same over TLS, where Kafka is on another host) or `PLAINTEXT` (no login: only "
            "for a broker without authentication)."
        ),
    )
    kafka_username: str = Field(
        "", description="The service's Kafka principal (SCRAM-SHA-512); by default the service's name."
    )
    kafka_password: SecretStr = Field(
        SecretStr(""), description="The principal's password (generated per install: `.run/secrets.json`, `.env`)."
    )
    kafka_ssl_cafile: str | None = Field(
        None, description="CA certificate (PEM) the broker's TLS certificate is checked against, with `SASL_SSL`."
    )
    kafka_topic_partitions: int = Field(3, description="Partitions of the topics this service creates at start-up.")
    kafka_replication_factor: int = Field(1, description="Replication factor of the topics this service creates.")
    personal_data_topic_retention_days: float = Field(
        3.0,
        gt=0,
        description="Retention of the topics whose events carry personal fields (`x-personal` in docs/asyncapi.json: "
        "identity's users, clients, tasks), set when a service creates them (and in the Kubernetes KafkaTopics), "
        "instead of Kafka's week: how long Kafka keeps those events (sealed), after which only the services' own rows "
        "and the audit trail hold them. A consumer stopped longer than this misses their events: keep it above the "
        "longest outage you would recover from by replay, and at or below INBOX_RETENTION_HOURS. An existing topic "
        "keeps its retention (change it with `kafka-configs --alter`).",
    )

    jwt_issuer: str = Field("insureops-identity", description="Expected `iss` of access tokens.")
    jwt_audience: str = Field("insureops", description="Expected `aud` of access tokens.")
    jwks_url: str = Field(
        "http://127.0.0.1:8001/.well-known/jwks.json",
        description="Where the identity service publishes its signing keys.",
    )
    jwks_cache_seconds: int = Field(300, description="How long fetched signing keys are trusted before refetching.")

    max_request_bytes: int = Field(
        1_048_576,
        description="Largest request body accepted (413 above); a body without a Content-Length is counted as "
        "it arrives and refused the moment it passes this.",
    )
    http_header_timeout_seconds: float = Field(
        10.0,
        description="A connection that has not sent a whole request head (request line and headers) this long "
        "after it opened, or after it began its next request, is closed (slow-header clients).",
    )
    http_keep_alive_seconds: int = Field(
        30,
        description="An idle keep-alive connection is closed after this long (longer than clients keep theirs "
        "pooled, so a client never sends on a connection being closed).",
    )

    sse_streams_per_user: int = Field(
        5,
        ge=1,
        description="Live streams (Server-Sent Events) one user may keep open at once in one process of a service "
        "that serves them (notifications, pipeline's board); 429 beyond.",
    )

    clock_control: bool = Field(
        False,
        description=(
            "Test and demo only: serve `/internal/clock` (move this service's clock) and "
            "`/internal/jobs/{name}/run` on the service's own port, to an Admin's token; never on the "
            "gateway. Never enable in production."
        ),
    )

    internal_service_token: SecretStr | None = Field(
        None,
        description="Secret the services present to each other's `/internal/*` APIs (header `X-Internal-Token`): "
        "the privacy service's keys and data-subject requests. The same value in every service; never reachable "
        "through the gateway. Unset: those APIs refuse every call.",
    )
    privacy_url: str | None = Field(
        None,
        description="Base URL of the privacy service, which keeps each data subject's key: personal fields of "
        "events are sealed and opened with it (crypto-shredding). Unset: personal fields are published in clear "
        "and sealed ones cannot be read; every deployment here sets it.",
    )
    privacy_key_cache_seconds: float = Field(
        300.0,
        ge=0,
        description="How long a subject's key fetched from the privacy service is used before it is asked again "
        "(a destroyed key is remembered for good; a `privacy.subject.erased` event drops a cached key at once).",
    )

    otel_traces_exporter: Literal["none", "console", "otlp"] = Field(
        "none",
        description=(
            "Where spans go: nowhere (none is recorded; trace ids still propagate), stdout, or OTLP/HTTP. "
            "Spans of database statements are made only when they go somewhere."
        ),
    )
    otel_exporter_otlp_endpoint: str = Field(
        "http://127.0.0.1:4318", description="OTLP/HTTP collector, when OTEL_TRACES_EXPORTER=otlp."
    )


class DatabaseSettings(ServiceSettings):
    """Settings of a service that owns a database and talks to Kafka."""

    database_url: str = Field(
        "postgresql+asyncpg://service:service@127.0.0.1:15432/service",
        description="SQLAlchemy URL the running service uses (its data-only role).",
    )
    migration_database_url: str | None = Field(
        None, description="SQLAlchemy URL migrations run with (the schema owner's role); defaults to DATABASE_URL."
    )
    database_pool_size: int = Field(
        20, description="Connections to the database at most (opened as needed, then kept; no overflow)."
    )

    outbox_batch_size: int = Field(500, description="Outbox rows the relay publishes per round.")
    outbox_poll_seconds: float = Field(
        5.0,
        description="The relay re-reads the outbox this often even without a NOTIFY (a fallback: every outbox write "
        "notifies the relay in the same statement, delivered at commit, and the relay reads the outbox whenever it "
        "(re)connects).",
    )
    outbox_retention_hours: int = Field(72, description="Published outbox rows are deleted after this many hours.")
    inbox_retention_hours: int = Field(
        336,
        ge=1,
        description="A consumer's record of a handled event (its inbox row, which makes a redelivery a no-op) is "
        "deleted after this many hours. Kafka redelivers only what it still holds, so keep this above the topics' "
        "retention (log.retention.hours: 168 by default and on the local broker); the default is twice that.",
    )
    dead_letter_retention_days: int = Field(
        30,
        ge=1,
        description="A dead letter an Admin replayed or discarded is deleted this many days after; parked "
        "ones are kept until resolved.",
    )
    retention_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the retention jobs delete what has outlived its retention."
    )
    retention_batch_size: int = Field(
        10000, ge=1, description="Most rows of each kind a retention round deletes (a backlog goes over several)."
    )

    consumer_max_attempts: int = Field(
        3,
        description="How many times a consumer tries an event that fails for an unknown reason before parking it (a refusal or "
        "an invalid event is parked at once; a transient failure is retried for as long as it lasts).",
    )
    consumer_retry_backoff_seconds: float = Field(0.2, description="First pause between attempts (doubles each time).")
    consumer_batch_size: int = Field(500, description="Most records a consumer takes from Kafka at once.")
    consumer_commit_interval_ms: int = Field(
        500,
        ge=0,
        description=(
            "How often a consumer commits the offsets it has handled (0: after every batch). What was handled is "
            "in the consumer's inbox already, so a restart or rebalance within the interval only redelivers records "
            "that then have no effect; waiting saves Kafka a commit per batch."
        ),
    )
    consumer_linger_ms: int = Field(
        50,
        ge=0,
        description=(
            "How long a consumer that is not on an interactive path waits, once records arrive, for more before it "
            "handles them (0: never): the events of that wait are handled in one transaction from one fetch instead "
            "of one each. The router and pipeline's consumer never wait (`Consumer.urgent`)."
        ),
    )
    consumer_poll_ms: int = Field(
        5000,
        description=(
            "How long a consumer waits for records before it polls again (an idle consumer wakes this "
            "often; an event that arrives meanwhile is taken at once)."
        ),
    )
    consumer_max_backoff_seconds: float = Field(
        30.0, description="Longest pause of a partition whose event meets a transient failure (the pause doubles)."
    )
