"""Per-account login throttling: after a few failed logins for an email, each further failure makes the account
wait longer before its next attempt is even checked.

The first `free` failures cost nothing; from then on each failure closes the account for `base` seconds,
doubling with every further failure up to `ceiling`. While it is closed every attempt, with the right password
or not, is answered 429 with `Retry-After`, and its password is not looked at (so the wait cannot be used to
try passwords, and the answer says nothing about them). A successful login clears the account's failures. The
key is the email as typed (lower-cased), whether or not such a user exists, so the answers do not tell which
accounts exist.

The state lives in the identity process's memory: it survives across requests but not a restart, and with N
identity replicas behind a balancer an attacker gets up to N times the attempts. The per-address limit at the
gateway still applies on top. A shared store (identity's database, or Redis) is the next step if that matters.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import Problem


class TooManyLogins(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"


@dataclass
class _Account:
    failures: int = 0
    closed_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        free: int,
        base: float,
        ceiling: float,
        max_accounts: int = 100_000,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.free = free
        self.base = base
        self.ceiling = ceiling
        self.max_accounts = max_accounts
        self.monotonic = monotonic
        self._accounts: OrderedDict[str, _Account] = OrderedDict()

    @staticmethod
    def _key(email: str) -> str:
        return email.strip().lower()

    def check(self, email: str) -> None:
        """Raise 429 (with `Retry-After`) while the account is closed; otherwise let the attempt be checked."""
        account = self._accounts.get(self._key(email))
        if account is None:
            return
        wait = account.closed_until - self.monotonic()
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyLogins(
                f"too many failed logins for this account; try again in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def failed(self, email: str) -> None:
        key = self._key(email)
        account = self._accounts.pop(key, None) or _Account()
        account.failures += 1
        beyond = account.failures - self.free
        if beyond > 0:
            delay = min(self.ceiling, self.base * 2 ** (beyond - 1))
            account.closed_until = self.monotonic() + delay
        self._accounts[key] = account
        if len(self._accounts) > self.max_accounts:
            self._accounts.popitem(last=False)

    def succeeded(self, email: str) -> None:
        self._accounts.pop(self._key(email), None)
