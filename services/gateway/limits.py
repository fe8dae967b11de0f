"""Rate limits at the gateway: one token bucket per caller address and one per authenticated user.

A request spends a token from its address's bucket and, when it carries a valid token, from its
user's bucket; an empty bucket answers 429 problem+json with `Retry-After` (whole seconds until a
token is back). Buckets refill continuously. They live in this gateway process: with N gateway
replicas behind a balancer the effective limit is up to N times the setting — a shared store
(Redis) is the next step if that matters.

Every answer that passed the limiter carries `RateLimit-Limit` / `RateLimit-Remaining` for the
tighter of the caller's buckets, so a frontend can slow down before it is refused.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import Problem, problem_response


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets by key, `rate` tokens per second up to `burst`; the least recently used are
    forgotten beyond `max_keys` (a forgotten bucket starts full again, which only ever helps a caller)."""

    def __init__(
        self, *, rate: float, burst: int, max_keys: int = 100_000, monotonic: Callable[[], float] = time.monotonic
    ):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.monotonic = monotonic
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str) -> tuple[bool, float, float]:
        """Spend one token of `key`: (allowed, tokens left, seconds until the next token if refused)."""
        now = self.monotonic()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = Bucket(tokens=float(self.burst), updated=now)
        else:
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True, bucket.tokens, 0.0
        return False, bucket.tokens, (1.0 - bucket.tokens) / self.rate


EXEMPT_PATHS = {"/healthz", "/readyz", "/metrics"}


class RateLimitMiddleware:
    """ASGI middleware applying the address and user buckets before the request is routed."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_address: TokenBuckets | None,
        per_user: TokenBuckets | None,
        user_of: Callable[[Request], Awaitable[object]],
    ):
        self.app = app
        self.per_address = per_address
        self.per_user = per_user
        self.user_of = user_of  # the verified user id of the request, or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        verdicts: list[tuple[bool, float, float, int]] = []
        if self.per_address is not None:
            address = request.client.host if request.client else "unknown"
            verdicts.append((*self.per_address.take(f"addr:{address}"), self.per_address.burst))
        if self.per_user is not None:
            user_id = await self.user_of(request)
            if user_id is not None:
                verdicts.append((*self.per_user.take(f"user:{user_id}"), self.per_user.burst))
        refused = [v for v in verdicts if not v[0]]
        if refused:
            wait = max(v[2] for v in refused)
            seconds = max(1, math.ceil(wait))
            problem = TooManyRequests(
                f"rate limit reached; try again in {seconds} s", headers={"Retry-After": str(seconds)}
            )
            response = problem_response(problem, request)
            await response(scope, receive, send)
            return
        if not verdicts:
            await self.app(scope, receive, send)
            return
        tightest = min(verdicts, key=lambda v: v[1])
        limit_headers = [
            (b"ratelimit-limit", str(tightest[3]).encode()),
            (b"ratelimit-remaining", str(int(tightest[1])).encode()),
        ]

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *limit_headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
