"""The gateway's connection to the services behind it: one pooled aiohttp session for every call.

aiohttp rather than httpx here: a proxied request is the gateway's whole job, and httpx spends about
three times the CPU per request (its pure-Python HTTP/1.1 machine and anyio layers), which on a
small host is the difference between the gateway and the service being the bottleneck.

The session keeps no cookies (it is shared by every caller), never follows redirects, never
decompresses (bodies pass through as the service sent them), and adds no headers of its own except
the trace context, so a request's trace continues into the service.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from opentelemetry.propagate import inject

from services.gateway.settings import GatewaySettings

# Whatever ends the exchange early: refused or reset connections, a service closing mid-answer.
TransportError = (aiohttp.ClientError, ConnectionError, OSError)


def open_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_max_connections,
        limit_per_host=0,
        # Shorter than the services' own keep-alive (30 s, shared/runner.py), so the gateway never sends
        # on a connection a service is closing at that moment.
        keepalive_timeout=15,
        ttl_dns_cache=300,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=settings.upstream_connect_timeout_seconds),
    )


def with_trace_context(headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus the W3C trace context of the current span (`traceparent`, `tracestate`)."""
    inject(headers)
    return headers


async def service_health(session: aiohttp.ClientSession, upstreams: dict[str, str], timeout: float) -> dict:
    """Every service's readiness (`/readyz`), asked concurrently, each within `timeout` seconds."""

    async def probe(name: str, url: str) -> tuple[str, dict]:
        try:
            async with asyncio.timeout(timeout):
                async with session.get(f"{url}/readyz") as response:
                    body = json.loads(await response.read())
                    return name, {
                        "status": "ok" if response.status == 200 else "not ready",
                        "checks": body.get("checks", {}),
                    }
        except TimeoutError:
            return name, {"status": "unreachable", "error": "timeout"}
        except (*TransportError, ValueError, AttributeError) as exc:
            return name, {"status": "unreachable", "error": exc.__class__.__name__}

    results = dict(await asyncio.gather(*(probe(n, u) for n, u in upstreams.items())))
    healthy = all(r["status"] == "ok" for r in results.values())
    return {"status": "ok" if healthy else "degraded", "gateway": "ok", "services": results}
