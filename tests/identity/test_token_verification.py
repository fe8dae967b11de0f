"""Token verification refuses every forged, stale or foreign token (unit: keys made here)."""

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.identity.keys import KeyRing, _kid
from shared.auth import TokenVerifier
from shared.errors import Unauthorized

ISS, AUD = "insureops-identity", "insureops"


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    private = ec.generate_private_key(ec.SECP256R1())
    kid = _kid(private.public_key())
    return KeyRing(kid, private, {kid: private.public_key()})


@pytest.fixture
def verifier(ring) -> TokenVerifier:
    return TokenVerifier(issuer=ISS, audience=AUD, keys=ring, leeway_seconds=0)


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": ISS,
        "aud": AUD,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "role": "Manager",
        "department_id": str(uuid.uuid4()),
        "name": "M",
        "email": "m@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(ring: KeyRing, payload: dict, **headers) -> str:
    return jwt.encode(payload, ring.private_key, algorithm="ES256", headers={"kid": ring.kid, **headers})


async def test_a_valid_token_gives_the_caller(ring, verifier):
    payload = claims()
    principal = await verifier.verify(sign(ring, payload))
    assert str(principal.user_id) == payload["sub"] and principal.role == "Manager"
    assert str(principal.department_id) == payload["department_id"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def alg_none(ring):
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': ring.kid})}.{_b64(claims())}."


def hs256_with_public_key(ring):
    import hashlib
    import hmac

    pem = ring.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64({"alg": "HS256", "typ": "JWT", "kid": ring.kid})
    body = _b64(claims(role="Admin"))
    sig = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def tampered(ring):
    head, body, sig = sign(ring, claims(role="Employee")).split(".")
    forged = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged["role"] = "Admin"
    return f"{head}.{_b64(forged)}.{sig}"


def other_key(ring):
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims(), stranger, algorithm="ES256", headers={"kid": ring.kid})


CASES = {
    "alg none": alg_none,
    "HS256 signed with the public key": hs256_with_public_key,
    "tampered payload": tampered,
    "signed by another key": other_key,
    "expired": lambda r: sign(
        r, claims(iat=int(time.time()) - 600, nbf=int(time.time()) - 600, exp=int(time.time()) - 60)
    ),
    "not yet valid": lambda r: sign(r, claims(nbf=int(time.time()) + 600)),
    "wrong issuer": lambda r: sign(r, claims(iss="someone-else")),
    "wrong audience": lambda r: sign(r, claims(aud="another-app")),
    "no expiry": lambda r: sign(r, claims(exp=None)),
    "unknown key id": lambda r: jwt.encode(claims(), r.private_key, algorithm="ES256", headers={"kid": "nope"}),
    "unknown role": lambda r: sign(r, claims(role="Root")),
    "garbage": lambda r: "not.a.token",
}


@pytest.mark.parametrize("case", list(CASES))
async def test_forged_or_stale_tokens_are_refused(case, ring, verifier):
    with pytest.raises(Unauthorized):
        await verifier.verify(CASES[case](ring))


async def test_a_cached_token_still_fails_once_its_user_is_deactivated(ring):
    deactivated: set[uuid.UUID] = set()
    verifier = TokenVerifier(
        issuer=ISS, audience=AUD, keys=ring, leeway_seconds=0, is_deactivated=lambda user_id: user_id in deactivated
    )
    token = sign(ring, claims())
    principal = await verifier.verify(token)
    assert await verifier.verify(token) == principal  # second time from the cache
    deactivated.add(principal.user_id)
    with pytest.raises(Unauthorized, match="deactivated"):
        await verifier.verify(token)


async def test_a_cached_token_expires_on_time(ring, verifier):
    token = sign(ring, claims(exp=int(time.time()) + 1))
    await verifier.verify(token)
    time.sleep(2.1)
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)
