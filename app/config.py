"""Configuration from environment variables, one class per deployment kind.

Why classes: tests, development and production differ in a few named switches (demo users are
allowed only in development, cookies are Secure only behind TLS) and must never be confused.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Seed §7: outside office hours referrals go to the out-of-hours social work team (the MASH is
# closed); 0300 126 1000 is the MASH in office hours.
OUT_OF_HOURS_PHONE_DEFAULT = "01604 626938"

class Config:
    NAME = "base"
    SECRET_KEY = os.environ.get("MASH_SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get("MASH_DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'mash.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    MODELS_DIR = Path(os.environ.get("MASH_MODELS_DIR", str(ROOT)))
    TOKEN_LIFETIME_MINUTES = int(os.environ.get("MASH_TOKEN_LIFETIME_MINUTES", "480"))
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    ALLOW_DEMO_USERS = False
    SESSION_IDLE_MINUTES = int(os.environ.get("MASH_SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("MASH_SESSION_ABSOLUTE_HOURS", "8"))
    SESSION_COOKIE_SECURE = os.environ.get("MASH_COOKIE_SECURE", "false").lower() == "true"
    SESSION_COOKIE_SAMESITE = "Lax"  # Flask's own cookie carries only flash messages, never identity
    SESSION_COOKIE_HTTPONLY = True
    OUT_OF_HOURS_PHONE = os.environ.get("MASH_OUT_OF_HOURS_PHONE", OUT_OF_HOURS_PHONE_DEFAULT)
    REFERRALS_PER_HOUR_PER_ADDRESS = int(os.environ.get("MASH_REFERRALS_PER_HOUR", "10"))
    # flask-smorest / OpenAPI
    API_TITLE = "MASH front door API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"


class DevelopmentConfig(Config):
    NAME = "development"
    SECRET_KEY = os.environ.get("MASH_SECRET_KEY", "development-only-not-secret")
    ALLOW_DEMO_USERS = True


class TestConfig(Config):
    NAME = "test"
    SECRET_KEY = "test-only-not-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # tests choose the database (tests/conftest.py)
    ALLOW_DEMO_USERS = True
    TESTING = True


class ProductionConfig(Config):
    NAME = "production"
    SESSION_COOKIE_SECURE = os.environ.get("MASH_COOKIE_SECURE", "true").lower() == "true"


CONFIGS = {c.NAME: c for c in (DevelopmentConfig, TestConfig, ProductionConfig)}


def config_from_env() -> type[Config]:
    """Pick the configuration named by MASH_CONFIG (default: development)."""
    name = os.environ.get("MASH_CONFIG", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"MASH_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
