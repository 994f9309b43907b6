import base64

import pytest
from cryptography.exceptions import InvalidTag

from app.core.security import blind_index, decrypt, encrypt, hash_password, new_token, verify_password


def test_encryption_round_trip_and_randomised(settings) -> None:
    text = "Zoë Müller, 12 Rue de la Paix, +33 1 23 45 67 89"
    first, second = encrypt(text), encrypt(text)
    assert first != second  # fresh nonce each time
    assert text.encode() not in first
    assert decrypt(first) == text and decrypt(second) == text


def test_tampered_ciphertext_is_rejected(settings) -> None:
    blob = bytearray(encrypt("secret value"))
    blob[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        decrypt(bytes(blob))


def test_decrypt_needs_the_same_key(settings) -> None:
    other = settings.model_copy(update={"encryption_key": base64.b64encode(b"k" * 32).decode()})
    with pytest.raises(InvalidTag):
        decrypt(encrypt("value"), settings=other)


def test_blind_index_normalises_and_is_keyed(settings) -> None:
    assert blind_index(" Ada@Example.ORG ", "email") == blind_index("ada@example.org", "email")
    assert blind_index("ada@example.org", "email") != blind_index("ada@example.org", "phone")
    assert blind_index("ada@example.org", "email") != blind_index("bob@example.org", "email")
    other = settings.model_copy(update={"hmac_key": "another-key"})
    assert blind_index("ada@example.org", "email", settings=other) != blind_index("ada@example.org", "email")


def test_password_hashing() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2")
    assert verify_password("correct horse battery staple", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "not-a-hash")


def test_new_token_is_unguessable() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)


def test_database_errors_do_not_echo_bound_values(session) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DataError

    with pytest.raises(DataError) as info, session.begin_nested():
        session.execute(text("INSERT INTO officers (id, email, display_name, password_hash, active, created_at) "
                             "VALUES (:id, :email, 'n', 'h', true, now())"),
                        {"id": "x" * 40, "email": "dpo@example.org"})
    assert "dpo@example.org" not in str(info.value) and "parameters hidden" in str(info.value)
