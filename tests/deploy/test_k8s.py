"""deploy/k8s, rendered as Kubernetes would receive it (`kubectl kustomize`), against the code: every Deployment
probed, limited and unprivileged; every topic the code uses a KafkaTopic with the services' partition count;
every service a KafkaUser whose ACLs allow what its code does and no more writing; every setting a service
reads present; only the gateway reachable from outside. The expectations come from the code (the services'
`create_app` parts, `shared.contracts.topics`, the settings classes), never from a list kept here."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import k8s
from devstack.config import SERVICES
from devstack.settings_doc import env_name
from shared.contracts import topics as topic_names
from shared.settings import DatabaseSettings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = [K8S / "base", *sorted(p for p in (K8S / "overlays").iterdir() if p.is_dir())]
KUBECTL = shutil.which("kubectl")
DB_SERVICES = [s.name for s in SERVICES if isinstance(k8s.service_parts(s.name).settings, DatabaseSettings)]
CONSUMING = [s.name for s in SERVICES if k8s.service_parts(s.name).consumers]

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (it renders the kustomizations)")


@cache
def render(folder: Path) -> tuple[dict[str, Any], ...]:
    out = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=False)  # type: ignore[list-item]
    assert out.returncode == 0, f"kubectl kustomize {folder} failed:\n{out.stderr}"
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


def objects(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in render(folder) if d["kind"] == kind}


def setting(folder: Path, key: str) -> str:
    return objects(folder, "ConfigMap")["insureops-common"]["data"][key]


def code_topics() -> set[str]:
    """Every topic the code declares or a service uses (publishes, consumes, parks dead letters on)."""
    pattern = re.compile(topic_names.DOMAIN_TOPIC_PATTERN)
    declared = {
        v
        for n, v in vars(topic_names).items()
        if n.isupper() and isinstance(v, str) and pattern.match(v) and not v.startswith("bench.")
    }
    for name in (s.name for s in SERVICES):
        parts = k8s.service_parts(name)
        declared |= set(parts.publishes)
        for consumer in parts.consumers:
            declared |= set(consumer.subscribed_topics)
            declared |= {topic_names.dead_letter_topic(consumer.name), topic_names.DEAD_LETTER_EVENTS[name]}
    return declared


def allows(acls: list[dict[str, Any]], kind: str, name: str | None, operation: str) -> bool:
    for acl in acls:
        resource = acl["resource"]
        if resource["type"] != kind or (acl.get("type", "allow") != "allow"):
            continue
        if operation not in acl["operations"] and "All" not in acl["operations"]:
            continue
        if kind == "cluster":
            return True
        if resource.get("patternType", "literal") == "prefix":
            if name is not None and name.startswith(resource["name"]):
                return True
        elif resource["name"] in ("*", name):
            return True
    return False


def test_generated_manifests_are_what_the_code_gives():
    assert k8s.main(["--check"]) == 0, "deploy/k8s/base/generated is stale: run `python -m devstack.k8s`"


def test_the_check_notices_a_stale_file(tmp_path):
    k8s.main(["--out", str(tmp_path)])
    assert k8s.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "kafka-topics.yaml").write_text("# edited by hand\n", encoding="utf-8")
    assert k8s.main(["--check", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("folder", OVERLAYS, ids=lambda p: p.name)
class TestRendered:
    def test_a_deployment_per_service_probed_limited_and_unprivileged(self, folder):
        deployments = objects(folder, "Deployment")
        budgets = objects(folder, "PodDisruptionBudget")
        for spec in SERVICES:
            deployment = deployments[spec.name]
            pod = deployment["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            assert container["command"] == ["python", "-m", f"services.{spec.name}"]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", spec.name
            # /healthz is liveness, except where a service's /healthz reports others (the gateway's does).
            liveness = "/healthz" if k8s.service_parts(spec.name).liveness_route else "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == liveness, spec.name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), spec.name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), spec.name
            assert pod["securityContext"]["runAsNonRoot"] is True, spec.name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, spec.name
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            assert any(
                b["spec"]["selector"]["matchLabels"].items() <= labels.items() and "minAvailable" in b["spec"]
                for b in budgets.values()
            ), f"no PodDisruptionBudget covers {spec.name}"

    def test_every_database_migrated_by_a_job_as_its_owner(self, folder):
        jobs = objects(folder, "Job")
        for service in DB_SERVICES:
            (container,) = jobs[f"migrate-{service}"]["spec"]["template"]["spec"]["containers"]
            assert container["command"] == ["python", "-m", "shared.db.migrate", service, "upgrade", "head"]
            env = {e["name"] for e in container["env"]}
            assert {"DATABASE_URL", "MIGRATION_DATABASE_URL"} <= env

    def test_every_setting_a_service_reads_is_present(self, folder):
        configmaps = objects(folder, "ConfigMap")
        for spec in SERVICES:
            deployment = objects(folder, "Deployment")[spec.name]
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            present = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                present |= set(configmaps[source["configMapRef"]["name"]]["data"])
            unset = deployment["metadata"].get("annotations", {}).get("insureops.io/unset-settings", "")
            unset_keys = {k for k in unset.split(",") if k}
            cls = type(k8s.service_parts(spec.name).settings)
            for name, field in cls.model_fields.items():
                key = env_name(cls, name, field)
                if key in present:
                    continue
                assert key in unset_keys, f"{spec.name} reads {key}, which its Deployment does not set"
                # Left unset on purpose only where "unset" means something: no value, or migrations only.
                assert field.get_default() is None, f"{spec.name}: {key} has a default and must be set"
            # The service's own values win over the common ones: its ConfigMap comes last.
            assert container["envFrom"][-1]["configMapRef"]["name"] == f"insureops-{spec.name}"
            assert configmaps[f"insureops-{spec.name}"]["data"]["SERVICE_NAME"] == spec.name

    def test_every_topic_the_code_uses_is_a_kafka_topic_with_its_partitions(self, folder):
        partitions = int(setting(folder, "KAFKA_TOPIC_PARTITIONS"))
        replicas = int(setting(folder, "KAFKA_REPLICATION_FACTOR"))
        declared = {t["spec"].get("topicName", name): t for name, t in objects(folder, "KafkaTopic").items()}
        missing = code_topics() - set(declared)
        assert not missing, f"topics without a KafkaTopic: {sorted(missing)}"
        for topic, manifest in declared.items():
            assert manifest["spec"]["partitions"] == partitions, topic
            assert manifest["spec"]["replicas"] == replicas, topic
            assert manifest["metadata"]["labels"]["strimzi.io/cluster"] == "insureops"

    def test_every_service_has_a_kafka_user_allowed_what_its_code_does(self, folder):
        users = objects(folder, "KafkaUser")
        topics = code_topics()
        for spec in SERVICES:
            user = users[f"insureops-{spec.name}"]["spec"]
            assert user["authentication"]["type"] == "scram-sha-512"
            acls = user["authorization"]["acls"]
            parts = k8s.service_parts(spec.name)
            own = set(parts.publishes)
            if parts.consumers:
                own.add(topic_names.DEAD_LETTER_EVENTS[spec.name])
            own |= {topic_names.dead_letter_topic(c.name) for c in parts.consumers}
            for topic in own:
                assert allows(acls, "topic", topic, "Write"), f"{spec.name} cannot write {topic}"
            # Writes only its own topics and dead letters.
            for topic in topics - own:
                assert not allows(acls, "topic", topic, "Write"), f"{spec.name} may write {topic}, not its own"
            reads = {topic_names.IDENTITY_USERS}  # every process follows deactivations (shared.revocation)
            for consumer in parts.consumers:
                reads |= set(consumer.subscribed_topics)
                if consumer.pattern:
                    reads |= {t for t in topics if re.match(consumer.pattern, t)}
                assert allows(acls, "group", consumer.name, "Read"), f"{spec.name} cannot use group {consumer.name}"
            for topic in reads:
                assert allows(acls, "topic", topic, "Read"), f"{spec.name} cannot read {topic}"
            if isinstance(parts.settings, DatabaseSettings):  # its producer is idempotent
                assert allows(acls, "cluster", None, "IdempotentWrite"), spec.name

    def test_kafka_is_kraft_with_node_pools_and_scram(self, folder):
        (kafka,) = objects(folder, "Kafka").values()
        pools = objects(folder, "KafkaNodePool").values()
        roles = {role for pool in pools for role in pool["spec"]["roles"]}
        assert roles == {"controller", "broker"}
        assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"] for p in pools)
        assert "zookeeper" not in kafka["spec"]
        listeners = kafka["spec"]["kafka"]["listeners"]
        assert all(lst["authentication"]["type"] == "scram-sha-512" for lst in listeners)
        assert all(lst.get("networkPolicyPeers") for lst in listeners), "a Kafka listener open to every pod"
        assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
        host, _, port = setting(folder, "KAFKA_BOOTSTRAP_SERVERS").partition(":")
        assert host == f"{kafka['metadata']['name']}-kafka-bootstrap"
        assert int(port) in {lst["port"] for lst in listeners}

    def test_consumers_scale_on_lag_up_to_the_partition_count(self, folder):
        partitions = int(setting(folder, "KAFKA_TOPIC_PARTITIONS"))
        scaled = objects(folder, "ScaledObject")
        auths = objects(folder, "TriggerAuthentication")
        for service in CONSUMING:
            spec = scaled[service]["spec"]
            assert spec["scaleTargetRef"]["name"] == service
            assert spec["maxReplicaCount"] <= partitions, service
            groups = {t["metadata"]["consumerGroup"] for t in spec["triggers"] if t["type"] == "kafka"}
            assert groups == {c.name for c in k8s.service_parts(service).consumers}, service
            for trigger in spec["triggers"]:
                assert trigger["authenticationRef"]["name"] in auths

    def test_postgres_cluster_databases_roles_and_backups(self, folder):
        (cluster,) = objects(folder, "Cluster").values()
        roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
        databases = {d["spec"]["name"]: d["spec"] for d in objects(folder, "Database").values()}
        for service in DB_SERVICES:
            assert databases[service]["owner"] == f"{service}_owner"
            assert databases[service]["cluster"]["name"] == cluster["metadata"]["name"]
            for role in (service, f"{service}_owner"):
                assert roles[role]["passwordSecret"]["name"] == k8s.role_secret(role)
        backups = objects(folder, "ScheduledBackup").values()
        assert any(b["spec"]["cluster"]["name"] == cluster["metadata"]["name"] for b in backups)
        host = f"{cluster['metadata']['name']}-rw"
        for deployment in objects(folder, "Deployment").values():
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            for env in container.get("env", []):
                if env["name"] == "DATABASE_URL":
                    assert f"@{host}:5432/" in env["value"]

    def test_only_the_gateway_is_reachable_from_outside(self, folder):
        policies = objects(folder, "NetworkPolicy").values()
        assert any(
            p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")
            for p in policies
        ), "no default deny of ingress"
        pods = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in objects(folder, "Deployment").items()}

        def open_to_outside(rule: dict[str, Any]) -> bool:
            peers = rule.get("from")
            if not peers:
                return True
            return any(
                "ipBlock" in peer or (peer.get("namespaceSelector") == {} and "podSelector" not in peer)
                for peer in peers
            )

        reachable = set()
        for policy in policies:
            if any(open_to_outside(rule) for rule in policy["spec"].get("ingress", [])):
                selector = policy["spec"]["podSelector"].get("matchLabels", {})
                reachable |= {name for name, labels in pods.items() if selector.items() <= labels.items()}
                # Nothing but Deployments' pods may be opened (not PostgreSQL, not Kafka).
                assert selector, f"{policy['metadata']['name']} opens every pod"
        assert reachable == {"gateway"}
