"""The local Apache Kafka broker: jars from Maven Central, a single-node KRaft configuration, storage format, and
who may do what on it.

The client listener asks for a SASL/SCRAM-SHA-512 login and the StandardAuthorizer allows only what an ACL
grants (`allow.everyone.if.no.acl.found=false`): the admin (`admin`, a super user: the broker itself, devstack,
the tests and benchmarks) and one principal per service, each with its generated password
(`devstack/secrets.py`) and the ACLs of `access_spec`. The controller listener stays on the local address and
asks for the admin's SASL/PLAIN login (SCRAM cannot serve a KRaft controller). devstack provisions the principals
and ACLs at every start (`provision_access`, deploy/kafka/BusAccess.java).

The admin's SCRAM credential is written when the storage is formatted. A data folder formatted before
authentication (or whose admin password changed: `secrets.json` deleted) has none that matches: the broker then
starts with SASL/PLAIN for the admin alone also open on the client listener, the admin's SCRAM credential is set
through it, and the broker is restarted without it (`ADMIN_MARKER` records which password the metadata holds).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from devstack.config import KAFKA_VERSION, REPO_ROOT, SERVICES, StackSettings
from devstack.secrets import KAFKA_ADMIN
from shared.contracts.topics import DEAD_LETTER_PREFIX, READS, READS_EVERY_TOPIC


def ensure_jars(cfg: StackSettings) -> Path:
    """Download the pinned broker jars once into the cache folder (Maven resolves them)."""
    libs = cfg.kafka_home / "libs"
    marker = cfg.kafka_home / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise SystemExit("Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven")
    print(f"Kafka jars     fetching Apache Kafka {KAFKA_VERSION} from Maven Central into {libs} ...", flush=True)
    started = time.monotonic()
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(REPO_ROOT / "deploy" / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
            f"-Dkafka.version={KAFKA_VERSION}",
        ],
        check=True,
    )
    marker.write_text(KAFKA_VERSION)
    print(f"Kafka jars     fetched in {time.monotonic() - started:.0f} s", flush=True)
    return libs


# Beside the data: a digest of the admin password whose SCRAM credential the metadata holds.
ADMIN_MARKER = "admin-scram.sha256"


def _admin_digest(cfg: StackSettings) -> str:
    import hashlib

    return hashlib.sha256(cfg.kafka_password(KAFKA_ADMIN).encode()).hexdigest()


def admin_credential_missing(cfg: StackSettings) -> bool:
    """Whether the formatted storage lacks the admin's SCRAM credential for the current password."""
    if not (cfg.kafka_data / "logs" / "meta.properties").exists():
        return False  # formatting adds it
    marker = cfg.kafka_data / ADMIN_MARKER
    return not marker.exists() or marker.read_text().strip() != _admin_digest(cfg)


def write_config(cfg: StackSettings, *, admin_plain: bool | None = None) -> Path:
    """The broker's configuration; `admin_plain` (default: whether the admin's SCRAM credential is missing) opens
    SASL/PLAIN for the admin alone on the client listener too, to set that credential."""
    if admin_plain is None:
        admin_plain = admin_credential_missing(cfg)
    data = cfg.kafka_data
    data.mkdir(parents=True, exist_ok=True)
    props = data / "server.properties"
    admin_pw = cfg.kafka_password(KAFKA_ADMIN)
    # The file holds the admin's password: readable by this user alone.
    props.touch(mode=0o600)
    props.chmod(0o600)
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={cfg.host}:{cfg.kafka_controller_port}",
                f"listeners=CLIENT://{cfg.host}:{cfg.kafka_port},CONTROLLER://{cfg.host}:{cfg.kafka_controller_port}",
                f"advertised.listeners=CLIENT://{cfg.host}:{cfg.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=CLIENT",
                "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
                # Clients (and the broker to itself) log in with SCRAM-SHA-512; the credentials live in the metadata.
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                "listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512" + (",PLAIN" if admin_plain else ""),
                "listener.name.client.scram-sha-512.sasl.jaas.config="
                f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{KAFKA_ADMIN}" '
                f'password="{admin_pw}";',
                *(
                    [
                        "listener.name.client.plain.sasl.jaas.config="
                        f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{KAFKA_ADMIN}" '
                        f'password="{admin_pw}" user_{KAFKA_ADMIN}="{admin_pw}";'
                    ]
                    if admin_plain
                    else []
                ),
                # The controller listener: the admin alone, SASL/PLAIN against this file (SCRAM cannot serve it).
                "sasl.mechanism.controller.protocol=PLAIN",
                "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
                "listener.name.controller.plain.sasl.jaas.config="
                f'org.apache.kafka.common.security.plain.PlainLoginModule required username="{KAFKA_ADMIN}" '
                f'password="{admin_pw}" user_{KAFKA_ADMIN}="{admin_pw}";',
                # Nothing is allowed that no ACL grants; the admin (the broker itself) may do everything.
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found=false",
                f"super.users=User:{KAFKA_ADMIN}",
                f"log.dirs={data / 'logs'}",
                # Services create their topics at start-up with the configured partition count.
                "auto.create.topics.enable=false",
                f"num.partitions={cfg.kafka_partitions}",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "min.insync.replicas=1",
                "default.replication.factor=1",
                # A new consumer group starts at once instead of waiting 3 s for more members.
                "group.initial.rebalance.delay.ms=0",
                # At rest the broker's own housekeeping was most of the stack's CPU. The controller appends a no-op
                # record to the metadata log when it has written nothing for this long (Kafka's default: 500 ms),
                # each one written, flushed and read back by the broker; the broker stays registered by its own
                # heartbeats, not by these.
                "metadata.max.idle.interval.ms=10000",
                # Request handlers and network threads each wake every 300 ms with nothing to do; Kafka's defaults
                # (8 and 3 per listener) are for many cores. Two of each keep this machine's two cores busy.
                "num.io.threads=2",
                "num.network.threads=2",
                "log.retention.hours=168",
                "log.segment.bytes=67108864",
                "",
            ]
        )
    )
    log4j = data / "log4j.properties"
    log4j.write_text(
        "log4j.rootLogger=WARN, stdout\n"
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.kafka.server.KafkaServer=INFO\n"
        "log4j.logger.kafka.server.BrokerServer=INFO\n"
    )
    return props


def ensure_formatted(cfg: StackSettings, libs: Path, props: Path) -> None:
    """Format the KRaft storage once; the cluster id is kept beside the data."""
    if (cfg.kafka_data / "logs" / "meta.properties").exists():
        return
    cluster_id_file = cfg.kafka_data / "cluster.id"
    if not cluster_id_file.exists():
        # Kafka cluster ids are 16 random bytes, base64url without padding (22 chars).
        import base64

        cluster_id_file.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
    subprocess.run(
        [
            "java",
            f"-Dlog4j.configuration=file:{cfg.kafka_data / 'log4j.properties'}",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            # Attached with `=`: an id may begin with `-` (one in 64 do), which a separate argument would
            # make read as an option.
            f"--cluster-id={cluster_id_file.read_text().strip()}",
            # The admin's SCRAM credential, so the client listener knows it from the first start.
            "--add-scram",
            f"SCRAM-SHA-512=[name={KAFKA_ADMIN},password={cfg.kafka_password(KAFKA_ADMIN)}]",
            "-c",
            str(props),
            "--ignore-formatted",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (cfg.kafka_data / ADMIN_MARKER).write_text(_admin_digest(cfg))


def command(cfg: StackSettings) -> tuple[list[str], dict[str, str]]:
    """Prepare everything and return the broker's command line and environment."""
    libs = ensure_jars(cfg)
    props = write_config(cfg)
    ensure_formatted(cfg, libs, props)
    argv = [
        "java",
        *cfg.kafka_heap.split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{cfg.kafka_data / 'log4j.properties'}",
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(props),
    ]
    return argv, {}


# One grant: (principal, resource type, pattern type, resource name, operations).
Grant = tuple[str, str, str, str, tuple[str, ...]]
BUS_PRINCIPALS = (KAFKA_ADMIN, *(spec.name for spec in SERVICES))


def access_grants() -> list[Grant]:
    """What each service's principal may do on the bus. A service `S`:
    - writes (and creates) its own topics, `S.*`, and its consumers' dead letters, `deadletter.S` and
      `deadletter.S.*`; it reads none of them;
    - reads (and may create, as `shared.app` does for a topic it consumes before its owner started) the topics it
      subscribes (`shared.contracts.topics.READS`; audit, which reads every domain topic by pattern, any topic);
    - uses its consumer groups, `S` and `S.*` (a consumer group is named after its consumer).
    The admin is a super user and needs none."""
    grants: list[Grant] = []
    for spec in SERVICES:
        svc = spec.name
        write = ("WRITE", "CREATE", "DESCRIBE")
        grants.append((svc, "TOPIC", "PREFIXED", f"{svc}.", write))
        grants.append((svc, "TOPIC", "LITERAL", f"{DEAD_LETTER_PREFIX}{svc}", write))
        grants.append((svc, "TOPIC", "PREFIXED", f"{DEAD_LETTER_PREFIX}{svc}.", write))
        if svc in READS_EVERY_TOPIC:
            grants.append((svc, "TOPIC", "LITERAL", "*", ("READ", "DESCRIBE")))
        for topic in READS.get(svc, ()):
            grants.append((svc, "TOPIC", "LITERAL", topic, ("READ", "DESCRIBE", "CREATE")))
        grants.append((svc, "GROUP", "LITERAL", svc, ("READ", "DESCRIBE")))
        grants.append((svc, "GROUP", "PREFIXED", f"{svc}.", ("READ", "DESCRIBE")))
    return grants


def access_spec(cfg: StackSettings) -> str:
    """The principals with their passwords and the ACLs, as deploy/kafka/BusAccess.java reads them."""
    lines = [f"user {who} {cfg.kafka_password(who)}" for who in BUS_PRINCIPALS]
    for who, resource, pattern, name, operations in access_grants():
        lines.extend(f"acl {who} {resource} {pattern} {name} {op}" for op in operations)
    return "\n".join(lines) + "\n"


def compose_access_script() -> str:
    """deploy/kafka/compose-access.sh: the same principals and ACLs for docker-compose.yml, with the Kafka image's
    own tools (a fast test keeps the committed file equal to this: `python -m devstack.kafka compose-access`)."""
    out = [
        "#!/usr/bin/env bash",
        "# GENERATED by `python -m devstack.kafka compose-access > deploy/kafka/compose-access.sh`; do not edit.",
        "# The bus's principals and ACLs for docker-compose.yml (the `kafka-access` one-shot, apache/kafka image): the",
        "# same as devstack provisions (devstack/kafka.py, access_grants). Each service's SCRAM-SHA-512 credential",
        "# from INSUREOPS_KAFKA_<SERVICE>_PASSWORD (.env), then its ACLs; idempotent. The admin logs in with",
        "# INSUREOPS_KAFKA_ADMIN_PASSWORD over KAFKA_ADMIN_MECHANISM (SCRAM-SHA-512; PLAIN once for a volume from",
        "# before authentication, see deploy/README.md).",
        "set -euo pipefail",
        'BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"',
        'MECHANISM="${KAFKA_ADMIN_MECHANISM:-SCRAM-SHA-512}"',
        'case "$MECHANISM" in',
        "  PLAIN) MODULE=org.apache.kafka.common.security.plain.PlainLoginModule ;;",
        "  *) MODULE=org.apache.kafka.common.security.scram.ScramLoginModule ;;",
        "esac",
        "ADMIN=/tmp/admin.properties",
        "umask 077",
        'cat > "$ADMIN" <<PROPS',
        "security.protocol=${KAFKA_SECURITY_PROTOCOL:-SASL_PLAINTEXT}",
        "sasl.mechanism=${MECHANISM}",
        'sasl.jaas.config=${MODULE} required username="admin" password="${INSUREOPS_KAFKA_ADMIN_PASSWORD:?}";',
        "PROPS",
        'if [ -n "${KAFKA_SSL_CAFILE:-}" ]; then  # SASL_SSL (docker-compose.tls.yml): trust the install\'s CA',
        '    printf "ssl.truststore.type=PEM\\nssl.truststore.location=%s\\n" "$KAFKA_SSL_CAFILE" >> "$ADMIN"',
        "fi",
        "K=/opt/kafka/bin",
        "",
        "scram() {",
        '    "$K/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --alter \\',
        '        --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]"',
        "}",
        "acl() {  # principal pattern-type operations... -- resource options...",
        '    local who="$1" pattern="$2"; shift 2',
        "    local ops=()",
        '    while [ "$1" != "--" ]; do ops+=(--operation "$1"); shift; done; shift',
        '    "$K/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --add \\',
        '        --allow-principal "User:$who" --resource-pattern-type "$pattern" "${ops[@]}" "$@" >/dev/null',
        "}",
        "",
        'scram admin "${INSUREOPS_KAFKA_ADMIN_PASSWORD:?}"',
    ]
    import shlex

    for spec in SERVICES:
        svc = spec.name
        out.append("")
        out.append(f'echo "insureops: the bus principal {svc} and its ACLs"')
        out.append(f'scram {svc} "${{INSUREOPS_KAFKA_{svc.upper()}_PASSWORD:?}}"')
        grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        for who, resource, pattern, name, operations in access_grants():
            if who == svc:
                grouped.setdefault((resource, pattern, operations), []).append(name)
        for (resource, pattern, operations), names in grouped.items():
            flag = "--topic" if resource == "TOPIC" else "--group"
            targets = " ".join(f"{flag} {shlex.quote(n)}" for n in names)
            out.append(f"acl {svc} {pattern.lower()} {' '.join(o.title() for o in operations)} -- {targets}")
    out.append('echo "insureops: bus access in place"')
    return "\n".join(out) + "\n"


def _access_tool(cfg: StackSettings, libs: Path) -> Path:
    """deploy/kafka/BusAccess.java compiled once into the cache (recompiled when the source changes)."""
    source = REPO_ROOT / "deploy" / "kafka" / "BusAccess.java"
    out = cfg.kafka_home / "busaccess"
    compiled = out / "BusAccess.class"
    if not compiled.exists() or compiled.stat().st_mtime < source.stat().st_mtime:
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(["javac", "-nowarn", "-cp", f"{libs}/*", "-d", str(out), str(source)], check=True)
    return out


def provision_access(cfg: StackSettings, restart_broker: Callable[[], None]) -> None:
    """Create or update every principal and make its ACLs those of `access_spec` (idempotent); waits for the
    broker to answer. If the admin's SCRAM credential was missing, it is set over SASL/PLAIN, then the broker is
    restarted (`restart_broker`) with PLAIN closed again."""
    libs = ensure_jars(cfg)
    tool = _access_tool(cfg, libs)
    plain = admin_credential_missing(cfg)
    if plain:
        print("Kafka: giving the admin its SCRAM credential (then restarting the broker without PLAIN) ...", flush=True)
    _run_access_tool(cfg, libs, tool, "PLAIN" if plain else "SCRAM-SHA-512")
    if plain:
        (cfg.kafka_data / ADMIN_MARKER).write_text(_admin_digest(cfg))
        write_config(cfg, admin_plain=False)
        restart_broker()


def _run_access_tool(cfg: StackSettings, libs: Path, tool: Path, mechanism: str) -> None:
    import os

    # The tool waits for the broker to answer: the Kafka client's "could not connect" warnings meanwhile are the
    # normal course of a start, not news. Errors only (the tool prints its own summary line).
    quiet = cfg.kafka_data / "access-log4j.properties"
    quiet.write_text(
        "log4j.rootLogger=ERROR, stderr\n"
        "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stderr.Target=System.err\n"
        "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
    )
    subprocess.run(
        [
            "java",
            "-Xmx128m",
            f"-Dlog4j.configuration=file:{quiet}",
            "-cp",
            f"{libs}/*:{tool}",
            "BusAccess",
            cfg.kafka_bootstrap,
            mechanism,
        ],
        input=access_spec(cfg).encode(),
        env={**os.environ, "KAFKA_ADMIN_USER": KAFKA_ADMIN, "KAFKA_ADMIN_PASSWORD": cfg.kafka_password(KAFKA_ADMIN)},
        check=True,
    )


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["compose-access"]:
        sys.stdout.write(compose_access_script())
    else:
        raise SystemExit("usage: python -m devstack.kafka compose-access")
