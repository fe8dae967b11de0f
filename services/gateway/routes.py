"""Which service answers which path. Adding a service means adding its prefixes here."""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.topics import DEAD_LETTER_EVENTS


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str


ROUTES: tuple[Route, ...] = (
    Route("/api/v1/auth", "identity"),
    Route("/api/v1/users", "identity"),
    Route("/api/v1/people", "identity"),
    Route("/api/v1/departments", "identity"),
    Route("/.well-known/jwks.json", "identity"),
    Route("/api/v1/clients", "clients"),
    Route("/api/v1/imports", "clients"),
    Route("/api/v1/contracts", "contracts"),
    Route("/api/v1/tasks", "tasks"),
    Route("/api/v1/workload", "tasks"),
    Route("/api/v1/calendar", "tasks"),
    Route("/api/v1/audit", "audit"),
    Route("/api/v1/lines", "pipeline"),
    Route("/api/v1/stages", "pipeline"),
    Route("/api/v1/opportunities", "pipeline"),
    Route("/api/v1/pipeline", "pipeline"),
    Route("/api/v1/notifications", "notifications"),
    Route("/api/v1/documents", "documents"),
    Route("/api/v1/privacy", "privacy"),
)

# Where files are uploaded: these bodies are passed on to the service as they arrive (never whole in the gateway's
# memory), up to the gateway's UPLOAD_MAX_REQUEST_BYTES instead of MAX_REQUEST_BYTES.
UPLOADS = ("/api/v1/documents", "/api/v1/imports")

# `/api/v1/dead-letters/{consumer}/...` goes to the service owning the consumer: the part of its name before the
# first dot (`tasks.router` -> tasks). `GET /api/v1/dead-letters` itself the gateway composes from them all.
DEAD_LETTERS = "/api/v1/dead-letters"
DEAD_LETTER_SERVICES: tuple[str, ...] = tuple(DEAD_LETTER_EVENTS)

# Reachable without a token: logging in, refreshing and ending a login session (its cookie is the credential),
# and fetching the public keys.
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("DELETE", "/api/v1/auth/refresh"),
    ("GET", "/.well-known/jwks.json"),
}

# Live streams a browser opens with EventSource, which cannot send headers: the token may come as
# `?access_token=` instead (the gateway passes it on as an Authorization header).
QUERY_TOKEN = {("GET", "/api/v1/notifications/stream")}


def service_for(path: str) -> str | None:
    """The service owning `path`: a prefix matches itself and what lies below it, never `/api/v1/usersX`."""
    if path.startswith(DEAD_LETTERS + "/"):
        consumer = path[len(DEAD_LETTERS) + 1 :].split("/", 1)[0]
        owner = consumer.split(".", 1)[0]
        return owner if owner in DEAD_LETTER_SERVICES else None
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route.service
    return None


def is_upload(method: str, path: str) -> bool:
    """Whether the request may carry a file (a POST under an upload prefix)."""
    return method == "POST" and any(path == prefix or path.startswith(prefix + "/") for prefix in UPLOADS)


def is_dead_letter_template(path: str) -> bool:
    """Whether `path` is one of the dead-letter paths every consuming service documents alike."""
    return path.startswith(DEAD_LETTERS + "/{consumer}")


def upstream_services() -> list[str]:
    return list(dict.fromkeys([*(r.service for r in ROUTES), *DEAD_LETTER_SERVICES]))
