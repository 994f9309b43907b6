"""One settings class for the whole product (env prefix ``RTBF_``; ``DATABASE_URL``/``REDIS_URL`` unprefixed).

In development and test the three secrets are generated once and persisted under ``data_dir`` so that a
restart can still decrypt what it stored; in production they must be supplied and must not be placeholders.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "xxx"})
SECRET_FIELDS = ("secret_key", "encryption_key", "hmac_key")
KEYS_FILE = "keys.json"


class KeysMissing(RuntimeError):
    """The data directory has no keys and this process may not make them (``forbid_key_creation``)."""


# Only the commands that set the product up make keys: any other command run in the wrong folder would otherwise
# write a fresh ./var/ with new keys, under which nothing stored before can be read.
_key_creation = {"allowed": True}


def forbid_key_creation(forbidden: bool = True) -> None:
    _key_creation["allowed"] = not forbidden


def _new_secret(field: str) -> str:
    if field == "encryption_key":
        return base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RTBF_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "redis_url"))
    secret_key: str | None = None
    encryption_key: str | None = None
    hmac_key: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "rtbf@localhost"

    otp_ttl_seconds: int = 600
    otp_max_attempts: int = 3
    otp_max_resends: int = 3
    duplicate_window_days: int = 30
    session_cookie_secure: bool = False
    log_level: str = "INFO"

    # /metrics (app/core/metrics.py): with a token, a scrape must send it as a bearer token. Without one, production
    # does not serve /metrics at all (404), and development and test serve it to whoever reaches the port.
    metrics_token: str | None = Field(default=None, min_length=16)

    # The web process's waits on PostgreSQL (app/core/db.py: web_engine, get_session): for a lock (the audit
    # chain's advisory lock included), for one statement, and for a session (a pooled connection). Past any of
    # them the request is rolled back and answered 503 with Retry-After, so a slow writer cannot queue every
    # connection and thread behind it. Workers and the CLI keep PostgreSQL's default (no bound): a job's result
    # must wait its turn.
    db_lock_timeout_ms: int = Field(default=2000, ge=1, le=600_000)
    db_statement_timeout_ms: int = Field(default=10_000, ge=1, le=3_600_000)
    db_pool_timeout_s: float = Field(default=5.0, gt=0, le=300)

    # Officer sign-in throttling (app/officers/throttle.py), stored in the database because the web may run
    # several processes. Failures are counted per client address and per email over a sliding window; while
    # throttled the password is not checked at all, so guesses made then are worthless.
    # An address past its limit is blocked until its failures leave the window: that address is the attacker's.
    sign_in_max_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    # An account is never blocked for the whole window (anyone who knows an officer's email could keep them
    # out): after the free failures, each further attempt waits delay_base * 2^(failures - free) seconds after
    # the account's last failure, at most delay_max. The defaults wait 5, 10, 20, 40, then 60 s: a brute force
    # on one account gets about one guess a minute, and the officer at most a minute's wait.
    sign_in_free_failures_per_email: int = Field(default=5, ge=1, le=1000)
    sign_in_delay_base_seconds: int = Field(default=5, ge=1, le=3600)
    sign_in_delay_max_seconds: int = Field(default=60, ge=1, le=3600)
    sign_in_window_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)

    # Jobs (discovery and unlearning on the GPU queue). Celery's soft limit raises inside the task so the job
    # is recorded as failed; the hard limit kills the child. A running job whose worker has not reported for
    # job_stale_after_s is declared lost. The broker must not redeliver a running task before the hard limit.
    job_soft_time_limit_s: int = 3600
    job_time_limit_s: int = 3900
    job_stale_after_s: int = 900
    job_max_attempts: int = 2
    job_device: str | None = None  # "cpu", "cuda", "cuda:1"; None picks CUDA when present
    job_threads: int | None = None  # torch CPU threads in the worker; None = torch's default
    # rtbf up: the demonstration model it builds (if absent) and registers.
    demo_model: bool = True
    demo_model_size: Literal["tiny", "small", "large"] = "small"
    demo_model_name: str = "demo-assistant"

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.data_dir.resolve() / 'rtbf.sqlite3'}"
        missing = [f for f in SECRET_FIELDS if (getattr(self, f) or "").strip().lower() in PLACEHOLDERS]
        if self.environment == "production":
            if missing:
                raise ValueError(f"production refuses missing or placeholder secrets: {', '.join(missing)}")
        elif missing:
            stored = self._persisted_keys(missing)
            for field in missing:
                setattr(self, field, stored[field])
        self._check_encryption_key()
        if self.job_soft_time_limit_s and self.job_soft_time_limit_s >= self.job_time_limit_s:
            # Celery starts the hard limit's clock only after the soft one fires: a larger soft limit disables it.
            raise ValueError("job_soft_time_limit_s must be smaller than job_time_limit_s")
        return self

    def _persisted_keys(self, fields: list[str]) -> dict[str, str]:
        """Load keys from ``data_dir/keys.json``, generating (and saving, mode 0600) the ones it lacks."""
        path = self.data_dir / KEYS_FILE
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        if any(f not in stored for f in fields) and not _key_creation["allowed"]:
            raise KeysMissing(f"no rtbf keys in {path.resolve()}: run this command where rtbf was set up (its data "
                              "directory is RTBF_DATA_DIR, ./var by default), or set the keys in the environment; "
                              "`rtbf up` sets up a new one")
        if any(f not in stored for f in fields):
            for field in fields:
                stored.setdefault(field, _new_secret(field))
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
            tmp.replace(path)
        return stored

    def _check_encryption_key(self) -> None:
        try:
            raw = base64.b64decode(self.encryption_key or "", validate=True)
        except ValueError as exc:
            raise ValueError("encryption_key must be base64") from exc
        if len(raw) != 32:
            raise ValueError("encryption_key must decode to exactly 32 bytes (AES-256-GCM)")

    @property
    def is_sqlite(self) -> bool:
        return str(self.database_url).startswith("sqlite")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def demo_model_dir(self) -> Path:
        return self.data_dir / "models" / f"demo-{self.demo_model_size}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
