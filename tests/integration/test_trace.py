"""One request, one trace: the id the gateway's span starts is on the service's span, the relay's publish and the
span of every consumer the event reaches.

The services of the running test stack are restarted for this test with `OTEL_TRACES_EXPORTER=otlp`, pointed at
an OTLP/HTTP receiver in this process (the protobuf the SDK's exporter sends, decoded with `opentelemetry-proto`),
and put back as they were afterwards. Nothing here is mocked: the spans are what the real processes export.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from devstack.config import SERVICES, StackSettings
from devstack.supervisor import Supervisor
from shared.contracts.clients import ClientCreated
from shared.contracts.topics import topic_for
from tests.bus import consumer_groups_of
from tests.conftest import wait_until
from tests.integration.clients_contracts_helpers import create_client
from tests.integration.test_crash_recovery import _wait_ready as wait_ready

pytestmark = pytest.mark.stack

# OTLP's span kinds (opentelemetry.proto.trace.v1.Span.SpanKind).
SERVER, PRODUCER, CONSUMER = 2, 4, 5


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: str
    attributes: dict[str, str]


class Receiver:
    """An OTLP/HTTP trace receiver on a free local port, keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._keep(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _keep(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        Span(
                            service=resource.get("service.name", "?"),
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            attributes={a.key: a.value.string_value for a in span.attributes},
                        )
                    )
        with self._lock:
            self.spans.extend(found)

    def of_trace(self, trace_id: str) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _with_env(conf: str, services: set[str], extra: dict[str, str]) -> str:
    """supervisord's configuration with `extra` added to the environment of `services`' programs."""
    added = "".join(f',{k}="{v}"' for k, v in extra.items())
    out, current = [], None
    for line in conf.splitlines():
        section = re.fullmatch(r"\[program:(.+)\]", line)
        if section:
            current = section.group(1)
        elif line.startswith("["):
            current = None
        if current in services and line.startswith("environment="):
            line += added
        out.append(line)
    return "\n".join(out) + "\n"


async def _restart_with(stack: StackSettings, services: set[str], conf: str) -> None:
    """Write `conf` and restart `services` with it (what `supervisorctl update` does for changed programs)."""
    (stack.run_dir / "supervisord.conf").write_text(conf)
    sup = Supervisor(stack)
    rpc = sup.rpc
    rpc.reloadConfig()
    for name in services:  # all at once: each takes its few seconds to drain
        sup.rpc.stopProcess(name, False)

    async def stopped() -> bool:
        return all(sup.states()[name] in ("STOPPED", "EXITED", "FATAL") for name in services)

    await wait_until(stopped, timeout=60, interval=0.2, what=f"{sorted(services)} stopped")
    for name in services:
        rpc.removeProcessGroup(name)
        rpc.addProcessGroup(name)
        rpc.startProcess(name, False)
    for name in sorted(services):
        await wait_ready(stack, name)


@contextlib.contextmanager
def _restored(stack: StackSettings) -> Iterator[str]:
    path = stack.run_dir / "supervisord.conf"
    original = path.read_text()
    try:
        yield original
    finally:
        path.write_text(original)


def _consumers_of(event_type: str) -> dict[str, str]:
    """Every consumer group `event_type` reaches, by group name: the service it runs in."""
    topic = topic_for(event_type)
    reached = {}
    for spec in SERVICES:
        if importlib.util.find_spec(f"services.{spec.name}.subscriptions") is None:
            continue
        for group in consumer_groups_of(spec.name):
            if (
                event_type in group.handler_by_type
                or topic in group.topics
                or (group.pattern is not None and re.fullmatch(group.pattern, topic))
            ):
                reached[group.name] = spec.name
    return reached


async def test_one_requests_trace_spans_gateway_service_relay_and_every_consumer(stack, gateway, admin_headers):
    expected_consumers = _consumers_of(ClientCreated.event_type)
    assert {"audit"} <= set(expected_consumers.values()), expected_consumers
    traced = {"gateway", "clients", *expected_consumers.values()}
    with Receiver() as receiver, _restored(stack) as original:
        extra = {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        await _restart_with(stack, traced, _with_env(original, traced, extra))
        try:
            client = await create_client(gateway, admin_headers)

            async def gateway_span() -> Span | None:
                # The gateway's server span of this request (the only POST it was sent since its restart).
                return next(
                    (
                        s
                        for s in receiver.spans
                        if s.service == "gateway" and s.kind == SERVER and s.name.startswith("POST")
                    ),
                    None,
                )

            trace_id = (await wait_until(gateway_span, timeout=30, what="the gateway's span")).trace_id

            async def every_consumer() -> bool:
                reached = {
                    s.attributes.get("messaging.consumer.group.name")
                    for s in receiver.of_trace(trace_id)
                    if s.kind == CONSUMER and s.name == f"consume {ClientCreated.event_type}"
                }
                return set(expected_consumers) <= reached

            await wait_until(
                every_consumer,
                timeout=60,
                what=f"a span of every consumer group {sorted(expected_consumers)} in trace {trace_id}",
            )
            spans = receiver.of_trace(trace_id)
            # The service's own server span, under the gateway's trace.
            assert any(s.service == "clients" and s.kind == SERVER and s.name.startswith("POST") for s in spans), spans
            # The relay's publish of the event: one producer span on the clients' topic, naming the event.
            publishes = [s for s in spans if s.service == "clients" and s.kind == PRODUCER]
            assert [s.attributes["messaging.destination.name"] for s in publishes] == [
                topic_for(ClientCreated.event_type)
            ]
            # Each consumer's span is in the process of the service that owns the group.
            for s in spans:
                group = s.attributes.get("messaging.consumer.group.name")
                if s.kind == CONSUMER and group in expected_consumers:
                    assert s.service == expected_consumers[group], s
            assert client["id"]
        finally:
            await _restart_with(stack, traced, original)
