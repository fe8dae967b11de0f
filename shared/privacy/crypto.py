"""AES-256-GCM of one value, in a compact JSON form that stands where the value stood.

A sealed value is `{"enc": "v1", "kid": "client:<uuid>", "n": <nonce>, "ct": <ciphertext and tag>}` (base64url,
no padding). The value is JSON-encoded before it is encrypted (so a number or a list comes back as it was), and the
associated data binds the ciphertext to the event and the place it stands in (`<event id>|<field path>`): moved to
another event or another field, it no longer decrypts.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12


class Tampered(ValueError):
    """A sealed value that does not open under its key and place: altered, moved, or under another key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def associated_data(event_id: str, path: str) -> bytes:
    return f"{event_id}|{path}".encode()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("enc") == VERSION and isinstance(value.get("kid"), str)


def seal(key: bytes, kid: str, value: Any, *, event_id: str, path: str) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, associated_data(event_id, path))
    return {"enc": VERSION, "kid": kid, "n": _b64(nonce), "ct": _b64(ciphertext)}


def open_sealed(key: bytes, sealed: dict[str, Any], *, event_id: str, path: str) -> Any:
    try:
        nonce, ciphertext = _unb64(sealed["n"]), _unb64(sealed["ct"])
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, associated_data(event_id, path))
    except (InvalidTag, KeyError, ValueError, TypeError) as exc:
        raise Tampered(
            f"the sealed value at {path!r} of event {event_id} does not open under {sealed.get('kid')}"
        ) from exc
    return json.loads(plaintext)


def wrap_key(master: bytes, kid: str, data_key: bytes) -> bytes:
    """A data key encrypted under the master key, bound to its subject (nonce then ciphertext)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master).encrypt(nonce, data_key, kid.encode())


def unwrap_key(master: bytes, kid: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], kid.encode())
    except InvalidTag as exc:
        raise Tampered(f"the wrapped key of {kid} does not open under the master key") from exc


def master_key_from_secret(secret: str) -> bytes:
    """The 256-bit master key derived (HKDF-SHA256) from the configured secret, whatever its length."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"insureops privacy master key").derive(
        secret.encode()
    )
