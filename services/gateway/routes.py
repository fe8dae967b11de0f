"""Which service answers which path. Adding a service means adding its prefixes here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str


ROUTES: tuple[Route, ...] = (
    Route("/api/v1/auth/", "identity"),
    Route("/api/v1/users", "identity"),
    Route("/api/v1/departments", "identity"),
    Route("/.well-known/jwks.json", "identity"),
    Route("/api/v1/audit/", "audit"),
)

# Reachable without a token: logging in and fetching the public keys.
PUBLIC = {("POST", "/api/v1/auth/token"), ("GET", "/.well-known/jwks.json")}


def service_for(path: str) -> str | None:
    for route in ROUTES:
        if path == route.prefix.rstrip("/") or path.startswith(route.prefix if route.prefix.endswith("/") else route.prefix + "/") or path == route.prefix:
            return route.service
    return None


def upstream_services() -> list[str]:
    return list(dict.fromkeys(r.service for r in ROUTES))
