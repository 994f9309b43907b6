"""Password hashing (argon2), field encryption (AES-256-GCM) and keyed blind indexes (HMAC-SHA256)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.config import Settings, get_settings

_hasher = PasswordHasher()
_CIPHER_VERSION = b"\x01"
_NONCE_BYTES = 12
# A real hash to verify against when the account does not exist, so that an unknown email costs as much
# time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _aead(settings: Settings | None) -> AESGCM:
    settings = settings or get_settings()
    return AESGCM(base64.b64decode(settings.encryption_key or ""))


def encrypt(plaintext: str, *, settings: Settings | None = None) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _CIPHER_VERSION + nonce + _aead(settings).encrypt(nonce, plaintext.encode(), _CIPHER_VERSION)


def decrypt(ciphertext: bytes, *, settings: Settings | None = None) -> str:
    if ciphertext[:1] != _CIPHER_VERSION:
        raise ValueError("unknown ciphertext version")
    nonce = ciphertext[1 : 1 + _NONCE_BYTES]
    return _aead(settings).decrypt(nonce, ciphertext[1 + _NONCE_BYTES :], _CIPHER_VERSION).decode()


def encrypt_optional(value: str | None, *, settings: Settings | None = None) -> bytes | None:
    return None if value is None else encrypt(value, settings=settings)


def decrypt_optional(value: bytes | None, *, settings: Settings | None = None) -> str | None:
    return None if value is None else decrypt(value, settings=settings)


def normalise(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def keyed_hash(message: str, *, kind: str, settings: Settings | None = None) -> str:
    """HMAC-SHA256 with the product's HMAC key, domain-separated by ``kind``."""
    settings = settings or get_settings()
    key = (settings.hmac_key or "").encode()
    return hmac.new(key, f"{kind}\x00{message}".encode(), hashlib.sha256).hexdigest()


def blind_index(value: str, kind: str, *, settings: Settings | None = None) -> str:
    """Searchable stand-in for a personal identifier: equal after normalisation -> equal index."""
    return keyed_hash(normalise(value), kind=kind, settings=settings)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
