"""Configuration from environment variables (12-factor): nothing here needs a local file."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from workflows.db import default_url

DEV_SECRET = "dev-only-secret-key-change-me"
DEFAULT_SQLITE_PATH = Path("var") / "handoff.sqlite3"
ENVIRONMENTS = ("development", "production")


class UnsafeConfiguration(RuntimeError):
    pass


def environment() -> str:
    """HANDOFF_ENV, normalised (" Production" is production); any other value refuses to start,
    so a misspelt production never runs with development defaults."""
    value = os.environ.get("HANDOFF_ENV", "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise UnsafeConfiguration(
            f"HANDOFF_ENV must be one of {', '.join(ENVIRONMENTS)}, not {value[:40]!r}"
        )
    return value


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, str(default)))
    except ValueError:
        raise UnsafeConfiguration(f"{name} must be a whole number") from None


def _log_format() -> str:
    default = "json" if environment() == "production" else "text"
    value = os.environ.get("LOG_FORMAT", default).strip().lower()
    if value not in ("json", "text"):
        raise UnsafeConfiguration(f"LOG_FORMAT must be json or text, not {value[:40]!r}")
    return value


def _log_level() -> str:
    value = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UnsafeConfiguration(
            f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {value[:40]!r}"
        )
    return value


def _public_url() -> str:
    value = os.environ.get("PUBLIC_URL", "").strip().rstrip("/")
    if value and not (value.startswith(("https://", "http://")) and len(value) <= 200):
        raise UnsafeConfiguration(
            "PUBLIC_URL must be an http(s) address such as https://example.org"
        )
    return value


@dataclass
class Config:
    DATABASE_URL: str = field(default_factory=lambda: default_url(DEFAULT_SQLITE_PATH))
    SECRET_KEY: str = field(default_factory=lambda: os.environ.get("SECRET_KEY", DEV_SECRET))
    # production refuses a default secret and demo passwords (see server.security)
    ENV: str = field(default_factory=environment)
    TOKEN_TTL_HOURS: int = field(default_factory=lambda: _int("TOKEN_TTL_HOURS", 12))
    # reverse proxies in front of the service whose X-Forwarded-For is trusted (the client
    # address is what sign-in throttling counts by; 0: the connection's own address)
    PROXY_COUNT: int = field(default_factory=lambda: _int("PROXY_COUNT", 0))
    # logs (server.logs): one JSON object a line in production, readable text in development
    LOG_FORMAT: str = field(default_factory=_log_format)
    LOG_LEVEL: str = field(default_factory=_log_level)
    # /metrics (server.metrics_access): unset METRICS_ALLOW means loopback only; "" means none
    METRICS_ALLOW: str | None = field(default_factory=lambda: os.environ.get("METRICS_ALLOW"))
    METRICS_TOKEN: str = field(default_factory=lambda: os.environ.get("METRICS_TOKEN", ""))
    # where residents reach the service (https://…, no path): the base of the 居民评议 links and
    # QR codes; empty: the host of the request that shows them
    PUBLIC_URL: str = field(default_factory=lambda: _public_url())
    MAX_CONTENT_LENGTH: int = 2 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY: bool = True
    SESSION_COOKIE_SAMESITE: str = "Lax"
    SESSION_COOKIE_SECURE: bool = field(default_factory=lambda: environment() == "production")
    # OpenAPI (flask-smorest)
    API_TITLE: str = "社区工作事项委托 Handoff API"
    API_VERSION: str = "v1"
    OPENAPI_VERSION: str = "3.0.3"
    OPENAPI_URL_PREFIX: str = "/api/v1"
    OPENAPI_JSON_PATH: str = "openapi.json"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def random_secret() -> str:
    return secrets.token_urlsafe(48)
