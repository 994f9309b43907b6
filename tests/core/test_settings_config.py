import base64
import json

import pytest
from pydantic import ValidationError

from app.core.config import Settings

GOOD_KEY = base64.b64encode(b"x" * 32).decode()


def test_development_generates_and_persists_keys(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = Settings(environment="development", data_dir=tmp_path)
    second = Settings(environment="development", data_dir=tmp_path)
    assert first.secret_key and first.encryption_key and first.hmac_key
    assert (first.secret_key, first.encryption_key, first.hmac_key) == (
        second.secret_key, second.encryption_key, second.hmac_key,
    )
    stored = json.loads((tmp_path / "keys.json").read_text())
    assert stored["hmac_key"] == first.hmac_key
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
    assert first.database_url == f"sqlite:///{tmp_path.resolve() / 'rtbf.sqlite3'}"
    assert len(base64.b64decode(first.encryption_key)) == 32


@pytest.mark.parametrize("placeholder", ["", "changeme", "secret"])
def test_production_refuses_placeholder_secrets(tmp_path, placeholder) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(
            environment="production", data_dir=tmp_path, secret_key=placeholder,
            encryption_key=GOOD_KEY, hmac_key="h" * 40,
        )
    assert not (tmp_path / "keys.json").exists()


def test_production_accepts_real_secrets(tmp_path) -> None:
    settings = Settings(
        environment="production", data_dir=tmp_path, secret_key="s" * 40, encryption_key=GOOD_KEY, hmac_key="h" * 40
    )
    assert settings.secret_key == "s" * 40


def test_encryption_key_must_be_32_bytes(tmp_path) -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(environment="test", data_dir=tmp_path, encryption_key=base64.b64encode(b"short").decode())


def test_env_names(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://example:6379/3")
    monkeypatch.setenv("RTBF_OTP_TTL_SECONDS", "120")
    settings = Settings(data_dir=tmp_path)
    assert settings.redis_url == "redis://example:6379/3"
    assert settings.otp_ttl_seconds == 120
