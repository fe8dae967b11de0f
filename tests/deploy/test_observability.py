"""deploy/observability against the code: every metric the alert rules and the dashboard query is one the services
export (read from the Prometheus registry once every service's app and a broker with FastStream's middleware are
built), so renaming a metric fails here; every alert names a runbook that exists."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from devstack.config import SERVICES
from shared.messaging.kafka import make_broker
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
# Prometheus's own series for every target (not exported by a service).
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "on", "ignoring", "group_left", "group_right", "and",
    "or", "unless", "bool", "offset", "rate", "irate", "increase", "histogram_quantile", "topk", "bottomk",
    "absent", "clamp_min", "clamp_max", "label_values", "humanize", "inf", "nan",
}  # fmt: skip


def exported_metric_names() -> set[str]:
    """The series names every InsureOps process can export: what the service apps register when built."""
    for spec in SERVICES:
        importlib.import_module(f"services.{spec.name}.app").create_app()
    make_broker(ServiceSettings(service_name="metrics-test"))  # FastStream's Prometheus middleware registers here
    names: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("_sum", "_count"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def metric_names(expr: str) -> set[str]:
    """The series a PromQL expression selects (label matchers, ranges, groupings and functions left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    tokens = re.findall(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {t for t in tokens if t.lower() not in PROMQL_WORDS}


def alert_rules() -> list[dict]:
    document = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return queries


def test_the_extraction_finds_names_and_only_names():
    assert metric_names('sum by (service, le) (rate(http_request_duration_seconds_bucket{status=~"5.."}[5m]))') == {
        "http_request_duration_seconds_bucket"
    }
    assert metric_names("max(a_total) / on (x) group_left b > 0.5 and c") == {"a_total", "b", "c"}
    assert metric_names("rate(renamed_total[$__rate_interval]) offset 5m") == {"renamed_total"}


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_metric_names()


def test_the_registry_holds_the_platforms_metrics(exported):
    # Not empty by accident: the request histogram, the relay's, the consumers', FastStream's and the scraped ones.
    for name in (
        "http_request_duration_seconds_bucket",
        "outbox_events_published_total",
        "consumer_events_total",
        "faststream_received_processed_messages_duration_seconds_bucket",
        "consumer_lag_records",
        "outbox_oldest_unpublished_age_seconds",
        "dead_letters_parked",
        "tasks_sla_open",
    ):
        assert name in exported, name


def test_every_metric_the_alerts_use_is_exported(exported):
    for rule in alert_rules():
        unknown = metric_names(rule["expr"]) - exported - PROMETHEUS_SERIES
        assert not unknown, f"{rule['alert']} queries {sorted(unknown)}, which no service exports"


def test_every_metric_the_dashboard_uses_is_exported(exported):
    queries = dashboard_queries()
    assert queries
    for query in queries:
        # label_values(up, service): the second argument is a label.
        names = metric_names(re.sub(r"label_values\((\w+),\s*\w+\)", r"\1", query))
        unknown = names - exported - PROMETHEUS_SERIES
        assert not unknown, f"the dashboard queries {sorted(unknown)} ({query}), which no service exports"


def test_every_alert_names_a_runbook_that_exists():
    for rule in alert_rules():
        runbook = rule["annotations"]["runbook_url"]
        assert (ROOT / runbook).is_file(), f"{rule['alert']}: {runbook} does not exist"
