"""Where the local stack lives and listens: one settings object for `make up`, `make test` and the benchmarks.

Every port and folder can be moved with an environment variable, so two checkouts (or a checkout
and CI) on one machine never collide. Service settings are derived from these values and handed to
each service process as its environment, with the same names docker-compose.yml uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from devstack.secrets import AUDIT_CHAIN_KEY, INTERNAL_SERVICE_TOKEN, PRIVACY_MASTER_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent

KAFKA_VERSION = "4.1.1"  # keep in step with deploy/kafka/pom.xml


@dataclass(frozen=True)
class ServiceSpec:
    """A service process the stack runs."""

    name: str
    port_offset: int
    has_database: bool = True


# The services, in start order. The privacy service goes first: the others ask it for the subjects' keys when they
# publish or read personal data. The gateway goes last: it routes to the others.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("privacy", 9),
    ServiceSpec("identity", 1),
    ServiceSpec("clients", 2),
    ServiceSpec("pipeline", 3),
    ServiceSpec("tasks", 4),
    ServiceSpec("contracts", 5),
    ServiceSpec("audit", 6),
    ServiceSpec("notifications", 7),
    ServiceSpec("documents", 8),
    ServiceSpec("gateway", 0, has_database=False),
)


class StackSettings(BaseSettings):
    """Settings of the local stack (environment variables prefixed INSUREOPS_)."""

    model_config = SettingsConfigDict(env_prefix="INSUREOPS_", extra="ignore")

    run_dir: Path = Field(REPO_ROOT / ".run", description="Data, logs and sockets of the running stack.")
    cache_dir: Path = Field(REPO_ROOT / ".cache", description="Downloaded Kafka jars.")
    host: str = Field("127.0.0.1", description="Address every local process binds to.")
    http_port_base: int = Field(
        8000, description="The gateway listens here; service N listens on base + its offset (identity +1, audit +6)."
    )
    kafka_port: int = Field(19092, description="Kafka client listener.")
    kafka_controller_port: int = Field(19093, description="Kafka KRaft controller listener.")
    kafka_bootstrap_servers: str | None = Field(
        None,
        description=(
            "Bootstrap servers of an existing Kafka (host:port, comma separated). When set, no local broker is "
            "started and the services use this one."
        ),
    )
    kafka_partitions: int = Field(3, description="Partitions of each topic the services create.")
    kafka_heap: str = Field("-Xms256m -Xmx512m", description="JVM heap flags of the local broker.")
    postgres_port: int = Field(15432, description="Port of the embedded PostgreSQL.")
    postgres_synchronous_commit: bool = Field(
        True,
        description=(
            "Whether the embedded PostgreSQL waits for each commit to reach the disk before acknowledging it. "
            "Off is faster but loses acknowledged transactions on a crash or an immediate shutdown (a consumer's "
            "inbox claim can vanish after its Kafka offset moved past the event): only for throwaway data."
        ),
    )
    postgres_admin_url: str | None = Field(
        None,
        description=(
            "Superuser URL of an existing PostgreSQL (postgresql://user:pass@host:port/postgres). "
            "When set, no embedded PostgreSQL is started and the service databases are created there."
        ),
    )
    clock_control: bool = Field(
        True,
        description="Let tests and demos move each service's clock and run its periodic jobs on demand (CLOCK_CONTROL).",
    )
    gateway_rate_limit_per_second: float = Field(
        1000.0,
        description=(
            "Per-user and per-address request rate the local gateway allows (relaxed, so tests and benchmarks "
            "from one address are not throttled; the gateway's own default is much lower)."
        ),
    )
    cors_origins: str = Field(
        "http://localhost:3000,http://localhost:5173", description="Frontend origins the local gateway allows (CORS)."
    )
    smtp_port: int | None = Field(
        None,
        description="Where the notifications service sends email (SMTP on this host); tests start a mail server "
        "there. Default: the HTTP base + 25.",
    )
    jwt_issuer: str = Field("insureops-identity", description="`iss` of the access tokens.")
    jwt_audience: str = Field("insureops", description="`aud` of the access tokens.")

    @cached_property
    def kafka_bootstrap(self) -> str:
        return self.kafka_bootstrap_servers or f"{self.host}:{self.kafka_port}"

    # Secrets (generated once per run folder: devstack/secrets.py) -----------------------------------
    @cached_property
    def secrets(self) -> dict[str, str]:
        from devstack import secrets

        names = [
            "postgres:postgres",
            f"kafka:{secrets.KAFKA_ADMIN}",
            secrets.AUDIT_CHAIN_KEY,
            secrets.PRIVACY_MASTER_KEY,
            secrets.INTERNAL_SERVICE_TOKEN,
        ]
        for spec in SERVICES:
            names.append(f"kafka:{spec.name}")
            if spec.has_database:
                names += [f"postgres:{spec.name}", f"postgres:{spec.name}_owner"]
        return secrets.load(self.run_dir, names)

    @property
    def kafka_auth(self) -> bool:
        """Whether the bus asks for a login: the local broker does (SASL/SCRAM, ACLs); an existing Kafka given by
        address (testcontainers') is taken as it is."""
        return self.embedded_kafka

    def kafka_password(self, principal: str) -> str:
        return self.secrets[f"kafka:{principal}"]

    def kafka_client_options(self, principal: str = "admin") -> dict[str, Any]:
        """aiokafka options of a client logged in as `principal` (by default the admin, a super user: the tests and
        benchmarks produce and read any topic with it)."""
        options: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap}
        if self.kafka_auth:
            options.update(
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username=principal,
                sasl_plain_password=self.kafka_password(principal),
            )
        return options

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def embedded_postgres(self) -> bool:
        return self.postgres_admin_url is None

    @cached_property
    def admin_dsn(self) -> str:
        if self.postgres_admin_url:
            return self.postgres_admin_url
        return f"postgresql://postgres:{self.secrets['postgres:postgres']}@{self.host}:{self.postgres_port}/postgres"

    @cached_property
    def _pg_host_port(self) -> tuple[str, int]:
        from urllib.parse import urlsplit

        parts = urlsplit(self.admin_dsn)
        return parts.hostname or self.host, parts.port or 5432

    def database_url(self, service: str, *, owner: bool = False) -> str:
        """The service's own database: its runtime role, or (owner=True) the role that migrates it."""
        host, port = self._pg_host_port
        role = f"{service}_owner" if owner else service
        return f"postgresql+asyncpg://{role}:{self.secrets['postgres:' + role]}@{host}:{port}/{service}"

    def http_port(self, service: str) -> int:
        spec = next(s for s in SERVICES if s.name == service)
        return self.http_port_base + spec.port_offset

    def service_url(self, service: str) -> str:
        return f"http://{self.host}:{self.http_port(service)}"

    @property
    def smtp_server_port(self) -> int:
        return self.smtp_port if self.smtp_port is not None else self.http_port_base + 25

    @property
    def gateway_url(self) -> str:
        return self.service_url("gateway")

    def service_env(self, service: str) -> dict[str, str]:
        """The environment a service process is started with (names as in docker-compose.yml)."""
        env = {
            "SERVICE_NAME": service,
            "HTTP_HOST": self.host,
            "HTTP_PORT": str(self.http_port(service)),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT" if self.kafka_auth else "PLAINTEXT",
            "KAFKA_TOPIC_PARTITIONS": str(self.kafka_partitions),
            "KAFKA_REPLICATION_FACTOR": "1",
            "JWT_ISSUER": self.jwt_issuer,
            "JWT_AUDIENCE": self.jwt_audience,
            "JWKS_URL": f"{self.service_url('identity')}/.well-known/jwks.json",
            "LOG_FORMAT": "json",
            "CLOCK_CONTROL": "true" if self.clock_control else "false",
            # Every process may seal or open personal fields with the subjects' keys (`shared.privacy`).
            "PRIVACY_URL": self.service_url("privacy"),
            "INTERNAL_SERVICE_TOKEN": self.secrets[INTERNAL_SERVICE_TOKEN],
        }
        if self.kafka_auth:
            env["KAFKA_USERNAME"] = service
            env["KAFKA_PASSWORD"] = self.kafka_password(service)
        spec = next(s for s in SERVICES if s.name == service)
        if spec.has_database:
            env["DATABASE_URL"] = self.database_url(service)
            env["MIGRATION_DATABASE_URL"] = self.database_url(service, owner=True)
        if service == "notifications":
            env["SMTP_HOST"] = self.host
            env["SMTP_PORT"] = str(self.smtp_server_port)
        if service == "clients":
            # Imports create contracts through the contracts service's API and read the lines from the pipeline's.
            env["CONTRACTS_URL"] = self.service_url("contracts")
            env["PIPELINE_URL"] = self.service_url("pipeline")
        if service == "documents":
            # The documents' bytes live with the stack's other data.
            env["DOCUMENTS_STORAGE_DIR"] = str(self.run_dir / "documents")
        if service == "audit":
            # The chain checkpoints live outside the database, with the stack's other data.
            env["AUDIT_CHECKPOINT_FILE"] = str(self.run_dir / "audit" / "checkpoints.jsonl")
            env["AUDIT_CHAIN_KEY"] = self.secrets[AUDIT_CHAIN_KEY]
            # Small reads, so the tests' exports cross chunk boundaries.
            env["AUDIT_EXPORT_CHUNK_SIZE"] = "100"
        if service == "privacy":
            env["PRIVACY_MASTER_KEY"] = self.secrets[PRIVACY_MASTER_KEY]
        if service == "gateway":
            env["RATE_LIMIT_USER_PER_SECOND"] = env["RATE_LIMIT_ADDRESS_PER_SECOND"] = str(
                self.gateway_rate_limit_per_second
            )
            env["RATE_LIMIT_USER_BURST"] = env["RATE_LIMIT_ADDRESS_BURST"] = str(
                int(self.gateway_rate_limit_per_second * 2)
            )
            env["CORS_ORIGINS"] = self.cors_origins
            for other in SERVICES:
                if other.name != "gateway":
                    env[f"{other.name.upper()}_URL"] = self.service_url(other.name)
        return env

    # Folders -------------------------------------------------------------------------------------
    @property
    def kafka_home(self) -> Path:
        return self.cache_dir / f"kafka-{KAFKA_VERSION}"

    @property
    def kafka_data(self) -> Path:
        return self.run_dir / "kafka"

    @property
    def postgres_data(self) -> Path:
        return self.run_dir / "postgres"

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def supervisor_socket(self) -> Path:
        return self.run_dir / "supervisor.sock"


def load() -> StackSettings:
    return StackSettings()
