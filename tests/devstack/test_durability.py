"""The local stack's PostgreSQL is durable unless told otherwise, and `make up` warns of listener ports a
restarted Kafka or PostgreSQL may find taken by a client connected to itself."""

from devstack.cli import ephemeral_port_warnings
from devstack.config import StackSettings
from devstack.postgres import server_settings


def test_postgres_commits_synchronously_by_default():
    assert "synchronous_commit=on" in server_settings(StackSettings())
    assert "synchronous_commit=off" in server_settings(StackSettings(postgres_synchronous_commit=False))


def _proc(tmp_path, reserved: str = ""):
    (tmp_path / "ip_local_port_range").write_text("32768\t60999\n")
    (tmp_path / "ip_local_reserved_ports").write_text(reserved + "\n")
    return str(tmp_path)


def test_listener_ports_in_the_ephemeral_range_are_warned_of_unless_reserved(tmp_path):
    cfg = StackSettings(kafka_port=39292, kafka_controller_port=39293, postgres_port=35632)
    warned = ephemeral_port_warnings(cfg, _proc(tmp_path))
    assert [w.split("'s port ")[0] for w in warned] == [
        "warning: Kafka",
        "warning: the Kafka controller",
        "warning: PostgreSQL",
    ]
    assert ephemeral_port_warnings(cfg, _proc(tmp_path, "35632,39290-39295")) == []
    defaults = StackSettings(kafka_port=19092, kafka_controller_port=19093, postgres_port=15432)
    assert ephemeral_port_warnings(defaults, _proc(tmp_path)) == []  # the defaults lie below the range
    assert ephemeral_port_warnings(cfg, str(tmp_path / "absent")) == []  # not Linux: nothing to say
