"""Settings, read once at start from the environment (prefix ``SAFEPASSAGE_``) or a ``.env`` file.

Outside demo mode the system refuses to start with a missing or well-known secret key.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from safepassage.domain.errors import ConfigurationError

DEMO_SECRET = "demo-secret-not-for-operations"
_WEAK = {"", "changeme", "change-me", "secret", DEMO_SECRET}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFEPASSAGE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///safepassage.db", description="SQLite file (embedded default) or a PostgreSQL URL"
    )
    secret_key: str = Field("", description="signs login forms; at least 32 characters")
    demo: bool = Field(False, description="demo mode: allows the demo secret, prints demo logins")
    cookie_secure: bool = Field(
        True,
        description="send the session cookie over HTTPS only "
        "(browsers also accept it on localhost)",
    )
    session_hours: int = Field(12, ge=1, le=72)
    host: str = "127.0.0.1"
    port: int = 8000
    login_attempts_per_minute: int = Field(10, ge=1)
    key_file: str = Field(
        "",
        description="the key file that opens the registry's keys: keep it apart from the "
        "database (removable media, a mounted secret); made on a new operation",
    )
    key_passphrase: str = Field(
        "", description="the passphrase that opens the registry's keys, for scripts and tests"
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.demo and not self.secret_key:
            self.secret_key = DEMO_SECRET
        if not self.demo and (self.secret_key.lower() in _WEAK or len(self.secret_key) < 32):
            raise ConfigurationError(
                "SAFEPASSAGE_SECRET_KEY must be set to a random value of at least 32 characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`); "
                "only demo mode (SAFEPASSAGE_DEMO=true) runs without one"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with ``overrides`` on top; ConfigurationError if unsafe."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ConfigurationError:
        raise
    except ValueError as e:
        raise ConfigurationError(f"invalid settings: {e}") from e
