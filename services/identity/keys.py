"""The token signing key: loaded or generated once, served as JWKS, used to issue access tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import repository as repo
from services.identity.models import User
from shared import clock
from shared.auth import ALGORITHM
from shared.errors import Unauthorized


def _kid(public_key: ec.EllipticCurvePublicKey) -> str:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


@dataclass
class KeyRing:
    """The active private key and every public key tokens may have been signed with."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_keys: dict[str, Any]

    async def key_for(self, kid: str | None) -> Any:
        if kid not in self.public_keys:
            raise Unauthorized("token signed with an unknown key")
        return self.public_keys[kid]

    def jwks(self) -> dict:
        keys = []
        for kid, public in self.public_keys.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}

    def issue(self, user: User, *, issuer: str, audience: str, ttl_seconds: int) -> str:
        now = clock.now()
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": str(user.id),
            # To the millisecond: a token issued after a revocation (a role, department or password change, whose
            # event carries its time) is told apart from one issued before it within the same second.
            "iat": round(now.timestamp(), 3),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
            "jti": uuid.uuid4().hex,
            "role": user.role,
            "department_id": str(user.department_id) if user.department_id else None,
            "name": user.name,
            "email": user.email,
        }
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _load_pem(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the signing key must be an EC P-256 private key")
    return key


async def load_key_ring(session: AsyncSession, key_file: str | None) -> KeyRing:
    """The configured key file, else the newest key in the database (generated on first start)."""
    if key_file:
        with open(key_file) as handle:
            private = _load_pem(handle.read())
        kid = _kid(private.public_key())
        return KeyRing(kid, private, {kid: private.public_key()})
    await repo.lock_signing_keys(session)
    rows = await repo.signing_keys(session)
    if not rows:
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        kid = _kid(private.public_key())
        await repo.add_signing_key(session, kid, pem)
        return KeyRing(kid, private, {kid: private.public_key()})
    keys = {row.kid: _load_pem(row.private_pem) for row in rows}
    newest = rows[0].kid
    return KeyRing(newest, keys[newest], {kid: key.public_key() for kid, key in keys.items()})
