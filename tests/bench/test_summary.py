"""`bench.summary` holds each figure against its limit: a fixed aim, or a figure measured in the same run (the bare
endpoint, raw Kafka); a figure left over from an earlier run is not measured, never passed off as this run's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench import summary


def _row(rows, name):
    return next(r for r in rows if r["figure"] == name)


def test_figures_are_held_against_aims_and_against_the_same_runs_limits():
    sources = {
        "gateway.json": {
            "service_cpu_ms_per_request": 0.8,
            "gateway_cpu_ms_per_request": 0.75,
            "overhead_p50_ms": 1.2,
            "sweep": [
                {"concurrency": 8, "gateway": {"requests_per_second": 500.0, "p99_ms": 20.0}},
                {"concurrency": 32, "gateway": {"requests_per_second": 600.0, "p99_ms": 80.0}},
            ],
        },
        "limits.json": {
            "bare_endpoint": {"sweep": [{"concurrency": 32, "requests_per_second": 1500.0}]},
            "kafka": {"committed_p50_ms": 4.0},
        },
        "loop.json": {
            "phases": [
                {"target_rate": 10, "loop_p50_ms": 20.0, "loop_p99_ms": 50.0, "achieved_rate": 10.0},
                {"target_rate": 100, "loop_p50_ms": 60.0, "loop_p99_ms": 90.0, "achieved_rate": 98.0},
            ]
        },
        "scale.json": {"sizes": [{"rows": 10000, "lists": {"tasks newest first": {"p50_ms": 7.5}}}]},
        "last.json": {"memory": [{"name": "audit", "rss_mb": 130.0}, {"name": "tasks", "rss_mb": 90.0}]},
    }
    rows = summary.summarise(sources, {})
    service = _row(rows, "list: service CPU per request")
    assert (service["limit"], service["met"]) == (1.0, True) and abs(service["ratio"] - 0.8) < 1e-9
    assert _row(rows, "list: gateway CPU per request")["met"] is False
    rate = _row(rows, "list through the gateway, C=32")
    assert (rate["value"], rate["limit"], rate["met"]) == (600.0, 1000.0, False)  # a rate must reach its limit
    assert _row(rows, "list through the gateway, C=32, p99")["met"] is False
    bare = _row(rows, "list through the gateway vs the bare endpoint, C=32")
    assert bare["limit"] == 450.0 and bare["met"] is True  # 30 % of the bare endpoint's 1,500 req/s
    kafka = _row(rows, "advance -> routed task readable, 100/s, p50 vs raw Kafka")
    assert kafka["limit"] == 40.0 and kafka["met"] is False and kafka["ratio"] == 1.5
    assert _row(rows, "advance -> routed task readable, 100/s, p99")["met"] is True
    assert _row(rows, "audit RSS after load")["met"] is False
    assert _row(rows, "tasks RSS after load")["met"] is True
    assert _row(rows, "documents RSS after load")["met"] is None  # not in the file: not measured
    curve = _row(rows, "advance -> routed task readable, 10/s, p50")
    assert (curve["value"], curve["limit"], curve["kind"]) == (20.0, None, "curve")
    assert _row(rows, "list tasks newest first, 10,000 rows, p50")["value"] == 7.5
    assert "(curve)" in summary.render(rows)
    relay = _row(rows, "outbox relay")
    assert relay["met"] is None and relay["not_measured"] == "no such figure in the file"


def test_a_source_from_an_earlier_run_is_not_used(tmp_path):
    (tmp_path / "idle.json").write_text(
        json.dumps({"finished_at": "2026-01-01T00:00:00+00:00", "total_percent_of_a_core": 3.0})
    )
    (tmp_path / "gateway.json").write_text(
        json.dumps({"finished_at": "2026-06-01T00:00:00+00:00", "overhead_p50_ms": 1.0})
    )
    sources, skipped = summary._read(tmp_path, datetime(2026, 3, 1, tzinfo=UTC))
    assert set(sources) == {"gateway.json"}
    assert skipped["idle.json"].startswith("from an earlier run") and skipped["loop.json"] == "missing"
    rows = summary.summarise(sources, skipped)
    idle = _row(rows, "whole stack at rest")
    assert idle["value"] is None and idle["met"] is None and idle["not_measured"].startswith("from an earlier run")
    assert _row(rows, "gateway overhead, p50")["met"] is True
    assert "not measured" in summary.render(rows)
