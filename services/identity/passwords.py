"""The password policy: long enough, and not easy to guess.

Beyond the minimum length, a password is rated by zxcvbn (Dropbox's strength estimator: dictionaries of
common passwords, names and words, keyboard patterns, dates, repeats and l33t substitutions, plus the user's
own name and email) from 0 (too guessable) to 4 (very unguessable); below the minimum score it is refused.
`password12` scores 1; a passphrase such as `correcthorsebattery` scores 4. Refusals are 422 naming the field,
with zxcvbn's own hint when it has one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from zxcvbn import zxcvbn

from services.identity.settings import IdentitySettings
from shared.errors import InvalidInput

# zxcvbn's cost grows fast with length; a password this long is rated by its start (which is already far
# beyond any dictionary or pattern it knows when it is this long).
_RATED_LENGTH = 64


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    min_strength: int

    @classmethod
    def of(cls, settings: IdentitySettings) -> PasswordPolicy:
        return cls(settings.password_min_length, settings.password_min_strength)

    async def check(self, password: str, *, user_inputs: list[str], field: str = "body.password") -> None:
        """Raise 422 naming `field` unless the password follows the policy."""
        if len(password) < self.min_length:
            raise InvalidInput.for_field(field, f"must be at least {self.min_length} characters")
        if self.min_strength <= 0:
            return
        inputs = [part for value in user_inputs for part in (value, *value.replace("@", " ").split()) if part]
        rating = await asyncio.to_thread(zxcvbn, password[:_RATED_LENGTH], inputs)
        if rating["score"] < self.min_strength:
            feedback = rating.get("feedback") or {}
            hint = feedback.get("warning") or "it is easy to guess"
            suggestions = " ".join(feedback.get("suggestions") or [])
            raise InvalidInput.for_field(
                field,
                f"is too weak ({hint.rstrip('.')}); use a longer phrase of uncommon words"
                + (f". {suggestions}" if suggestions else ""),
            )
