"""The Kubernetes manifests that follow from the code: `python -m devstack.k8s` writes deploy/k8s/base/generated/.

- `configmaps.yaml`: `insureops-common`, `insureops-database` and `insureops-<service>`, one per section of
  docs/configuration.md, with every setting a service reads (the code's default unless Kubernetes needs another
  value, see `OVERRIDES`); the secrets (database URLs, SMTP login) come from Secrets in the Deployments instead.
- `kafka-topics.yaml`: a Strimzi `KafkaTopic` for every topic of `shared.contracts.topics` and every consumer's
  dead-letter topic, with the partitions and replicas the services would create it with.
- `kafka-users.yaml`: a `KafkaUser` (SCRAM-SHA-512) per service whose ACLs allow what its code does: write its own
  topics and dead letters, read what its consumers subscribe to (and the user topic every process follows for
  deactivations), use its consumer groups.

The rest of deploy/k8s is written by hand; tests/deploy/test_k8s.py renders it and checks both against the code.
`--check` exits 1 when the committed files differ from what would be written.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from fastapi import FastAPI
from pydantic_settings import BaseSettings

from devstack.config import REPO_ROOT, SERVICES
from devstack.settings_doc import SECTIONS, env_name, own_fields
from shared.app import ServiceParts
from shared.contracts import personal_data_topics
from shared.contracts import topics as topic_names
from shared.settings import DatabaseSettings, ServiceSettings

GENERATED = REPO_ROOT / "deploy" / "k8s" / "base" / "generated"
KAFKA_CLUSTER = "insureops"
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:9093"
PARTITIONS = 3
REPLICAS = 3

# Settings that come from Secrets (set by each Deployment's `env`), never from a ConfigMap.
SECRET_SETTINGS = {
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "DOCUMENTS_S3_ACCESS_KEY_ID",
    "DOCUMENTS_S3_SECRET_ACCESS_KEY",
    "AUDIT_CHAIN_KEY",
    "PRIVACY_MASTER_KEY",
    "INTERNAL_SERVICE_TOKEN",
}

# Values Kubernetes needs instead of the code's defaults (which suit one machine), by ConfigMap.
OVERRIDES: dict[str, dict[str, str]] = {
    "insureops-common": {
        "HTTP_HOST": "0.0.0.0",
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
        "KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
        "KAFKA_REPLICATION_FACTOR": str(REPLICAS),
        "JWKS_URL": "http://identity:8001/.well-known/jwks.json",
        "LOG_FORMAT": "json",
        "CLOCK_CONTROL": "false",
        "PRIVACY_URL": "http://privacy:8009",
    },
    "insureops-gateway": {
        **{f"{spec.name.upper()}_URL": f"http://{spec.name}:{8000 + spec.port_offset}" for spec in SERVICES[:-1]},
        "CONSOLE_DIR": "/app/console/dist",
    },
    # Imports create contracts through the contracts service's API and read the lines from the pipeline's.
    "insureops-clients": {"CONTRACTS_URL": "http://contracts:8005", "PIPELINE_URL": "http://pipeline:8003"},
    "insureops-audit": {"AUDIT_CHECKPOINT_FILE": "/var/lib/insureops/audit/checkpoints.jsonl"},
    "insureops-notifications": {"SMTP_HOST": "mail"},
    # Replicas share no disk: the documents' bytes go to an S3-compatible bucket (DOCUMENTS_S3_* in the overlay).
    "insureops-documents": {"DOCUMENTS_STORAGE": "s3"},
}


# The code's view ---------------------------------------------------------------------------------------------
@cache
def service_parts(service: str) -> ServiceParts:
    """What `services.<service>.app.create_app()` hands to the common app: publishes, consumers, settings, ..."""
    module = importlib.import_module(f"services.{service}.app")
    captured: list[ServiceParts] = []

    def capture(parts: ServiceParts) -> FastAPI:
        captured.append(parts)
        return FastAPI()

    with mock.patch.object(module, "create_service_app", capture):
        module.create_app()
    return captured[0]


def declared_topics() -> list[str]:
    """Every topic the platform uses: the domain topics named in shared.contracts.topics (the benchmark's own
    topic aside) and each consumer's dead-letter topic."""
    pattern = re.compile(topic_names.DOMAIN_TOPIC_PATTERN)
    domain = {
        value
        for name, value in vars(topic_names).items()
        if name.isupper() and isinstance(value, str) and pattern.match(value) and value != topic_names.BENCH_INGEST
    }
    dead = {topic_names.dead_letter_topic(c.name) for s in SERVICES for c in service_parts(s.name).consumers}
    return sorted(domain) + sorted(dead)


@dataclass(frozen=True)
class Access:
    """What a service's Kafka clients do, from its code."""

    writes: tuple[str, ...]
    reads: tuple[str, ...]
    groups: tuple[str, ...]
    idempotent_producer: bool


def access(service: str) -> Access:
    parts = service_parts(service)
    consumers = list(parts.consumers)
    writes = list(parts.publishes)
    if consumers:
        writes.append(topic_names.DEAD_LETTER_EVENTS[service])
        writes += [topic_names.dead_letter_topic(c.name) for c in consumers]
    # Every process follows the user topic for deactivations (shared.revocation).
    reads = [topic_names.IDENTITY_USERS]
    for consumer in consumers:
        reads += consumer.subscribed_topics
        if consumer.pattern:
            reads += [t for t in declared_topics() if re.match(consumer.pattern, t)]
    return Access(
        writes=tuple(dict.fromkeys(writes)),
        reads=tuple(dict.fromkeys(reads)),
        groups=tuple(c.name for c in consumers),
        idempotent_producer=isinstance(parts.settings, DatabaseSettings),
    )


# ConfigMaps ----------------------------------------------------------------------------------------------------
def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _settings_data(settings: type[BaseSettings], names: list[str], overrides: dict[str, str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for name in names:
        field = settings.model_fields[name]
        key = env_name(settings, name, field)
        if key in SECRET_SETTINGS:
            continue
        if key in overrides:
            data[key] = overrides[key]
            continue
        default = field.get_default(call_default_factory=True)
        if default is None:
            continue  # deliberately unset: the Deployment says so (insureops.io/unset-settings)
        data[key] = env_value(default)
    return data


def configmap_name(settings: type[BaseSettings]) -> str:
    if settings is ServiceSettings:
        return "insureops-common"
    if settings is DatabaseSettings:
        return "insureops-database"
    return "insureops-" + settings.__module__.split(".")[1]


def configmaps() -> list[dict[str, Any]]:
    out = []
    for section in SECTIONS:
        cls = section.settings
        name = configmap_name(cls)
        names = list(cls.model_fields) if section.inherited else own_fields(cls)
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "insureops"}},
                "data": _settings_data(cls, names, OVERRIDES.get(name, {})),
            }
        )
    return out


# Kafka -----------------------------------------------------------------------------------------------------------
def k8s_name(topic: str) -> str:
    """A topic name as a Kubernetes object name (no underscores); `spec.topicName` keeps the real one."""
    return topic.replace("_", "-")


def kafka_topics() -> list[dict[str, Any]]:
    personal = set(personal_data_topics())
    days = ServiceSettings.model_fields["personal_data_topic_retention_days"].default
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaTopic",
            "metadata": {"name": k8s_name(topic), "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
            "spec": {
                "topicName": topic,
                "partitions": PARTITIONS,
                "replicas": REPLICAS,
                # Topics carrying personal data: PERSONAL_DATA_TOPIC_RETENTION_DAYS (its default; the overlay may
                # patch it), the others Kafka's week.
                "config": {
                    "retention.ms": int((days if topic in personal else 7) * 24 * 3600 * 1000),
                    "min.insync.replicas": 2,
                },
            },
        }
        for topic in declared_topics()
    ]


def _acl(kind: str, name: str | None, operations: list[str]) -> dict[str, Any]:
    resource: dict[str, Any] = {"type": kind}
    if name is not None:
        resource |= {"name": name, "patternType": "literal"}
    return {"resource": resource, "operations": operations, "host": "*"}


def kafka_users() -> list[dict[str, Any]]:
    out = []
    for spec in SERVICES:
        allowed = access(spec.name)
        operations: dict[str, list[str]] = {}
        for topic in allowed.writes:
            operations.setdefault(topic, []).extend(["Write", "Create"])
        for topic in allowed.reads:
            operations.setdefault(topic, []).append("Read")
        acls = [_acl("topic", t, [*ops, "Describe"]) for t, ops in operations.items()]
        acls += [_acl("group", g, ["Read", "Describe"]) for g in allowed.groups]
        if allowed.idempotent_producer:
            acls.append(_acl("cluster", None, ["IdempotentWrite"]))
        out.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaUser",
                "metadata": {
                    "name": f"insureops-{spec.name}",
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, "app.kubernetes.io/name": spec.name},
                },
                "spec": {
                    "authentication": {"type": "scram-sha-512"},
                    "authorization": {"type": "simple", "acls": acls},
                },
            }
        )
    return out


# Workloads -------------------------------------------------------------------------------------------------------
IMAGE = "insureops"  # overlays set the registry and tag (`images:` in their kustomization)
POSTGRES_CLUSTER = "insureops-pg"
POSTGRES_HOST = f"{POSTGRES_CLUSTER}-rw"
AUDIT_DATA = "/var/lib/insureops/audit"
# Pod security: the image's unprivileged user (Dockerfile: uid 10001), nothing more.
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
RESOURCES = {
    "default": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    # Audit takes batches of thousands of events at once.
    "audit": {"requests": {"cpu": "200m", "memory": "384Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
}
# Lag (records behind, per replica) above which KEDA adds a replica.
LAG_THRESHOLD = "200"


def role_secret(role: str) -> str:
    """The Secret (kubernetes.io/basic-auth: username, password) of a PostgreSQL role; CloudNativePG sets the
    role's password from it (deploy/k8s/base/postgres/cluster.yaml)."""
    return "pg-role-" + role.replace("_", "-")


def _secret_env(name: str, secret: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def database_env(service: str, *, owner: bool) -> list[dict[str, Any]]:
    """DATABASE_URL (and, for migrations, MIGRATION_DATABASE_URL) put together from the roles' Secrets."""
    env = [
        _secret_env("DB_USER", role_secret(service), "username"),
        _secret_env("DB_PASSWORD", role_secret(service), "password"),
        {
            "name": "DATABASE_URL",
            "value": f"postgresql+asyncpg://$(DB_USER):$(DB_PASSWORD)@{POSTGRES_HOST}:5432/{service}",
        },
    ]
    if owner:
        env += [
            _secret_env("DB_OWNER_USER", role_secret(f"{service}_owner"), "username"),
            _secret_env("DB_OWNER_PASSWORD", role_secret(f"{service}_owner"), "password"),
            {
                "name": "MIGRATION_DATABASE_URL",
                "value": f"postgresql+asyncpg://$(DB_OWNER_USER):$(DB_OWNER_PASSWORD)@{POSTGRES_HOST}:5432/{service}",
            },
        ]
    return env


def kafka_env(service: str) -> list[dict[str, Any]]:
    """The service's Kafka identity (its KafkaUser, SCRAM-SHA-512; the User Operator writes the password into a
    Secret named after it) and the cluster CA: the service's settings KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME,
    KAFKA_PASSWORD and KAFKA_SSL_CAFILE."""
    return [
        {"name": "KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "KAFKA_USERNAME", "value": f"insureops-{service}"},
        _secret_env("KAFKA_PASSWORD", f"insureops-{service}", "password"),
        {"name": "KAFKA_SSL_CAFILE", "value": "/etc/insureops/kafka-ca/ca.crt"},
    ]


def _labels(service: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": service,
        "app.kubernetes.io/part-of": "insureops",
        "app.kubernetes.io/component": component,
    }


def _settings_class(service: str) -> type[BaseSettings]:
    return type(service_parts(service).settings)


def unset_settings(service: str) -> list[str]:
    """Settings a service reads that its Deployment leaves unset on purpose (their default is "none")."""
    cls = _settings_class(service)
    out = []
    for name, field in cls.model_fields.items():
        key = env_name(cls, name, field)
        if key == "MIGRATION_DATABASE_URL" or (
            field.get_default(call_default_factory=True) is None and key not in SECRET_SETTINGS
        ):
            out.append(key)
    return out


def deployment(service: str, port: int) -> dict[str, Any]:
    parts = service_parts(service)
    has_db = isinstance(parts.settings, DatabaseSettings)
    env_from = [{"configMapRef": {"name": "insureops-common"}}]
    if has_db:
        env_from.append({"configMapRef": {"name": "insureops-database"}})
    env_from.append({"configMapRef": {"name": f"insureops-{service}"}})
    env = database_env(service, owner=False) if has_db else []
    if service == "notifications":
        env += [
            _secret_env("SMTP_USERNAME", "notifications-smtp", "username", optional=True),
            _secret_env("SMTP_PASSWORD", "notifications-smtp", "password", optional=True),
        ]
    if service == "audit":
        # The key the chain is sealed with, outside the database (deploy/README.md: create it once, keep it).
        env.append(_secret_env("AUDIT_CHAIN_KEY", "audit-chain-key", "key"))
    if service == "privacy":
        # The key the subjects' keys are wrapped with: this service's alone (deploy/README.md: create it once, keep it).
        env.append(_secret_env("PRIVACY_MASTER_KEY", "privacy-master-key", "key"))
    # What the services present to each other's /internal/* APIs (the privacy service's keys).
    env.append(_secret_env("INTERNAL_SERVICE_TOKEN", "internal-service-token", "token"))
    if service == "documents":
        # The bucket's keys; without the Secret, the pod's own cloud identity (IRSA, workload identity) is used.
        env += [
            _secret_env("DOCUMENTS_S3_ACCESS_KEY_ID", "documents-s3", "access-key-id", optional=True),
            _secret_env("DOCUMENTS_S3_SECRET_ACCESS_KEY", "documents-s3", "secret-access-key", optional=True),
        ]
    env += kafka_env(service)
    mounts = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "kafka-ca", "mountPath": "/etc/insureops/kafka-ca", "readOnly": True},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {}},
        {
            "name": "kafka-ca",
            "secret": {
                "secretName": f"{KAFKA_CLUSTER}-cluster-ca-cert",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        },
    ]
    if service == "audit":
        # The chain checkpoints, outside the database, shared by every audit replica (ReadWriteMany).
        mounts.append({"name": "audit-data", "mountPath": AUDIT_DATA})
        volumes.append({"name": "audit-data", "persistentVolumeClaim": {"claimName": "audit-checkpoints"}})
    # The gateway's /healthz reports every service behind it: a service down must not restart the gateway, so its
    # liveness is its own /readyz (the process answers and has started).
    liveness_path = "/healthz" if parts.liveness_route else "/readyz"

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 4,
            "failureThreshold": failures,
        }

    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    unset = unset_settings(service)
    meta_annotations = {"annotations": {"insureops.io/unset-settings": ",".join(unset)}} if unset else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service, "labels": _labels(service, "service"), **meta_annotations},
        "spec": {
            # A consuming service's replicas are KEDA's (its ScaledObject); a count here would reset them at each apply.
            **({} if parts.consumers else {"replicas": 2}),
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app.kubernetes.io/name": service}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": _labels(service, "service"), "annotations": annotations},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": service,
                            "image": IMAGE,
                            "command": ["python", "-m", f"services.{service}"],
                            "ports": [{"name": "http", "containerPort": port}],
                            "envFrom": env_from,
                            "env": env,
                            # Start-up retries Kafka and PostgreSQL for a while (topics, consumers): up to 5 minutes.
                            "startupProbe": probe("/readyz", 5, 60),
                            "readinessProbe": probe("/readyz", 5, 3),
                            "livenessProbe": probe(liveness_path, 10, 6),
                            "resources": RESOURCES.get(service, RESOURCES["default"]),
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def cluster_service(service: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service, "labels": _labels(service, "service")},
        "spec": {
            "selector": {"app.kubernetes.io/name": service},
            "ports": [{"name": "http", "port": port, "targetPort": "http"}],
        },
    }


def disruption_budget(service: str) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": service, "labels": _labels(service, "service")},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": service}}},
    }


def migration_job(service: str) -> dict[str, Any]:
    """`python -m shared.db.migrate <svc> upgrade head` as the schema owner, after the database's grants
    (deploy/k8s/base/postgres/provision.sql, as the superuser; idempotent)."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"migrate-{service}", "labels": _labels(service, "migration")},
        "spec": {
            "backoffLimit": 10,
            "template": {
                "metadata": {"labels": _labels(service, "migration")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": POD_SECURITY,
                    "initContainers": [
                        {
                            "name": "provision",
                            "image": "postgres:17",
                            "command": [
                                "psql",
                                "--no-psqlrc",
                                "-v",
                                "ON_ERROR_STOP=1",
                                "-v",
                                f"svc={service}",
                                "-v",
                                f"owner={service}_owner",
                                "-f",
                                "/sql/provision.sql",
                            ],
                            "env": [
                                {"name": "PGHOST", "value": POSTGRES_HOST},
                                {"name": "PGDATABASE", "value": service},
                                _secret_env("PGUSER", f"{POSTGRES_CLUSTER}-superuser", "username"),
                                _secret_env("PGPASSWORD", f"{POSTGRES_CLUSTER}-superuser", "password"),
                            ],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                            },
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": [{"name": "sql", "mountPath": "/sql", "readOnly": True}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "migrate",
                            "image": IMAGE,
                            "command": ["python", "-m", "shared.db.migrate", service, "upgrade", "head"],
                            "env": database_env(service, owner=True),
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"cpu": "1", "memory": "512Mi"},
                            },
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [
                        {"name": "sql", "configMap": {"name": "postgres-provision"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def scaled_object(service: str) -> list[dict[str, Any]]:
    """KEDA scales a consuming service on its groups' lag, up to the topics' partition count (more consumers than
    partitions would stand idle)."""
    groups = access(service).groups
    if not groups:
        return []
    auth = f"kafka-{service}"
    return [
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
            "metadata": {"name": auth, "labels": _labels(service, "autoscaling")},
            "spec": {
                "secretTargetRef": [
                    {"parameter": "password", "name": f"insureops-{service}", "key": "password"},
                    {"parameter": "ca", "name": f"{KAFKA_CLUSTER}-cluster-ca-cert", "key": "ca.crt"},
                ],
                "env": [{"parameter": "username", "name": "KAFKA_USERNAME", "containerName": service}],
            },
        },
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": service, "labels": _labels(service, "autoscaling")},
            "spec": {
                "scaleTargetRef": {"name": service},
                "minReplicaCount": 2,
                "maxReplicaCount": PARTITIONS,
                "pollingInterval": 15,
                "cooldownPeriod": 300,
                "triggers": [
                    {
                        "type": "kafka",
                        "name": f"lag-{group.replace('.', '-')}",
                        "metadata": {
                            "bootstrapServers": KAFKA_BOOTSTRAP,
                            "consumerGroup": group,
                            "lagThreshold": LAG_THRESHOLD,
                            "offsetResetPolicy": "earliest",
                            "allowIdleConsumers": "false",
                            "sasl": "scram_sha512",
                            "tls": "enable",
                        },
                        "authenticationRef": {"name": auth},
                    }
                    for group in groups
                ],
            },
        },
    ]


def workloads() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in SERVICES:
        port = 8000 + spec.port_offset
        out += [deployment(spec.name, port), cluster_service(spec.name, port), disruption_budget(spec.name)]
        if isinstance(service_parts(spec.name).settings, DatabaseSettings):
            out.append(migration_job(spec.name))
        out += scaled_object(spec.name)
    return out


# Files -----------------------------------------------------------------------------------------------------------
HEADER = (
    "# Generated by `python -m devstack.k8s` from the code; do not edit by hand (tests/deploy/test_k8s.py checks).\n"
)


def _dump(documents: list[dict[str, Any]]) -> str:
    return HEADER + "---\n".join(yaml.safe_dump(d, sort_keys=False, width=120) for d in documents)


def render() -> dict[str, str]:
    return {
        "configmaps.yaml": _dump(configmaps()),
        "kafka-topics.yaml": _dump(kafka_topics()),
        "kafka-users.yaml": _dump(kafka_users()),
        "workloads.yaml": _dump(workloads()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.k8s", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are out of date")
    parser.add_argument("--out", type=Path, default=GENERATED, help="folder to write (default: %(default)s)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)}; run `python -m devstack.k8s`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
