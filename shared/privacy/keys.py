"""Where a process gets the data keys of subjects: a `KeyProvider`.

The stack's processes use `HttpKeyProvider`: the privacy service's internal API (`POST /internal/keys/{kind}/{id}`
gets or creates a subject's key, `GET` reads it; 410 Gone: the key was destroyed, the subject erased), with a
process-wide cache (PRIVACY_KEY_CACHE_SECONDS; a destroyed key is remembered for good, and a
`privacy.subject.erased` event read by the process drops the subject's cached key at once). The fast tests, which
have no privacy service, use `InMemoryKeyProvider`. A process without a provider (`PRIVACY_URL` unset, and no test
installed one) publishes personal fields in clear and cannot read sealed ones.

Only processes that publish or read personal fields ever ask for a key: an event without personal fields never
touches the provider.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Protocol

import httpx

from shared.privacy.crypto import new_key


class KeyDestroyed(Exception):
    """The subject's key was destroyed (the subject was erased): what it sealed reads as erased."""

    def __init__(self, kid: str):
        super().__init__(f"the key of {kid} was destroyed (the subject was erased)")
        self.kid = kid


class KeyUnavailable(OSError):
    """The privacy service could not be asked (down, restarting): transient, so a consumer waits and retries, and a
    request answers 503 (`shared.errors.transient_error` takes an OSError for an outage)."""


class KeyProvider(Protocol):
    async def key(self, kid: str, *, create: bool = False) -> bytes:
        """The data key of subject `kid` (`client:<uuid>`), created first if `create` and it has none; raises
        `KeyDestroyed` if it was destroyed."""
        ...

    def forget(self, kid: str) -> None:
        """Drop a cached key (its subject was erased)."""
        ...


class InMemoryKeyProvider:
    """Keys in this process's memory: the fast tests' provider (no privacy service there)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.destroyed: set[str] = set()

    async def key(self, kid: str, *, create: bool = False) -> bytes:
        if kid in self.destroyed:
            raise KeyDestroyed(kid)
        if kid not in self.keys:
            if not create:
                raise LookupError(f"no key for {kid}")
            self.keys[kid] = new_key()
        return self.keys[kid]

    def destroy(self, kid: str) -> None:
        self.keys.pop(kid, None)
        self.destroyed.add(kid)

    def forget(self, kid: str) -> None:
        pass


_DESTROYED = b""


class HttpKeyProvider:
    """The privacy service's keys, over its internal API, cached for `cache_seconds`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        cache_seconds: float = 300.0,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._client = httpx.AsyncClient(timeout=timeout, headers={"X-Internal-Token": token}, transport=transport)
        self._locks: dict[str, asyncio.Lock] = {}

    async def key(self, kid: str, *, create: bool = False) -> bytes:
        cached = self._cache.get(kid)
        if cached is not None and (cached[1] == _DESTROYED or cached[0] > time.monotonic()):
            if cached[1] == _DESTROYED:
                raise KeyDestroyed(kid)
            return cached[1]
        lock = self._locks.setdefault(kid, asyncio.Lock())
        async with lock:
            cached = self._cache.get(kid)
            if cached is not None and cached[1] != _DESTROYED and cached[0] > time.monotonic():
                return cached[1]
            kind, _, subject_id = kid.partition(":")
            url = f"{self.base_url}/internal/keys/{kind}/{subject_id}"
            try:
                response = await (self._client.post(url) if create else self._client.get(url))
            except httpx.TransportError as exc:
                raise KeyUnavailable(f"the privacy service is unreachable ({exc.__class__.__name__})") from exc
            finally:
                self._locks.pop(kid, None)
            if response.status_code == 410:
                self._cache[kid] = (float("inf"), _DESTROYED)
                raise KeyDestroyed(kid)
            if response.status_code >= 500:
                raise KeyUnavailable(f"the privacy service answered {response.status_code}")
            if response.status_code == 404:
                raise LookupError(f"the privacy service has no key for {kid}")
            response.raise_for_status()
            key = base64.b64decode(response.json()["key"])
            self._cache[kid] = (time.monotonic() + self.cache_seconds, key)
            return key

    def forget(self, kid: str) -> None:
        self._cache.pop(kid, None)

    async def close(self) -> None:
        await self._client.aclose()


_provider: KeyProvider | None = None


def provider() -> KeyProvider | None:
    return _provider


def set_provider(new: KeyProvider | None) -> KeyProvider | None:
    """Install the process's provider (the app's start-up, a test); returns the one it replaces."""
    global _provider
    previous, _provider = _provider, new
    return previous


def forget(kid: str) -> None:
    if _provider is not None:
        _provider.forget(kid)
