"""The local Apache Kafka broker: jars from Maven Central, a single-node KRaft configuration, storage format."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

from devstack.config import KAFKA_VERSION, REPO_ROOT, StackSettings


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


def write_config(cfg: StackSettings) -> Path:
    data = cfg.kafka_data
    data.mkdir(parents=True, exist_ok=True)
    props = data / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={cfg.host}:{cfg.kafka_controller_port}",
                f"listeners=PLAINTEXT://{cfg.host}:{cfg.kafka_port},CONTROLLER://{cfg.host}:{cfg.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://{cfg.host}:{cfg.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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
            "-c",
            str(props),
            "--ignore-formatted",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


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
