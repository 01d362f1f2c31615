"""Configuration from environment variables, one class per deployment kind.

Why classes: tests, development and production differ in a few named switches (demo users are
allowed only in development, cookies are Secure only behind TLS) and must never be confused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
# A source checkout runs on the repository's own models and keeps its SQLite file in instance/;
# an installed wheel (ROOT is then site-packages) uses the models shipped inside the package
# (app/default_models/, copied there by setup.py at build time) and ./instance/.
CHECKOUT = (ROOT / "pyproject.toml").is_file() and (ROOT / "processes").is_dir()
PACKAGED_MODELS = Path(__file__).resolve().parent / "default_models"
DEFAULT_MODELS_DIR = ROOT if CHECKOUT or not PACKAGED_MODELS.is_dir() else PACKAGED_MODELS
INSTANCE_DIR = ROOT / "instance" if CHECKOUT else Path.cwd() / "instance"


# Seed §7: outside office hours referrals go to the out-of-hours social work team (the MASH is
# closed); 0300 126 1000 is the MASH in office hours.
OUT_OF_HOURS_PHONE_DEFAULT = "01604 626938"


class Config:
    NAME = "base"
    SECRET_KEY = os.environ.get("MASH_SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get("MASH_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'mash.db'}")
    # PostgreSQL adds pool_pre_ping and pool_recycle (app.resilience)
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {}
    DB_POOL_RECYCLE_SECONDS = int(os.environ.get("MASH_DB_POOL_RECYCLE_SECONDS", "1800"))
    MODELS_DIR = Path(os.environ.get("MASH_MODELS_DIR", str(DEFAULT_MODELS_DIR)))
    TOKEN_LIFETIME_MINUTES = int(os.environ.get("MASH_TOKEN_LIFETIME_MINUTES", "480"))
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    ALLOW_DEMO_USERS = False
    SESSION_IDLE_MINUTES = int(os.environ.get("MASH_SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("MASH_SESSION_ABSOLUTE_HOURS", "8"))
    SESSION_COOKIE_SECURE = os.environ.get("MASH_COOKIE_SECURE", "false").lower() == "true"
    SESSION_COOKIE_SAMESITE = "Lax"  # Flask's own cookie carries only flash messages, never identity
    SESSION_COOKIE_HTTPONLY = True
    OUT_OF_HOURS_PHONE = os.environ.get("MASH_OUT_OF_HOURS_PHONE", OUT_OF_HOURS_PHONE_DEFAULT)
    # Test mode: every engine run restores its case on freshly parsed models (another worker, a restart).
    FRESH_BUNDLES = os.environ.get("MASH_FRESH_BUNDLES", "") == "1"
    # Cases whose live workflow each worker keeps for its next run instead of restoring the stored state
    # (app/engine/live_workflows.py, issue 17): a count of cases, each ~0.3-0.6 MB (front door); 0 turns it off.
    LIVE_WORKFLOWS = int(os.environ.get("MASH_LIVE_WORKFLOWS", "32"))
    # Every live workflow taken is checked against the stored state and a restore of it (costs that restore).
    LIVE_WORKFLOWS_VERIFY = False
    REFERRALS_PER_HOUR_PER_ADDRESS = int(os.environ.get("MASH_REFERRALS_PER_HOUR", "10"))
    # Sign-in throttling (issue 13), shared by every worker (table throttle_hits): failures per account
    # and per client address within the window, then 429 with Retry-After.
    SIGN_IN_FAILURES_PER_ACCOUNT = int(os.environ.get("MASH_SIGN_IN_FAILURES_PER_ACCOUNT", "5"))
    SIGN_IN_FAILURES_PER_ADDRESS = int(os.environ.get("MASH_SIGN_IN_FAILURES_PER_ADDRESS", "20"))
    SIGN_IN_WINDOW_MINUTES = int(os.environ.get("MASH_SIGN_IN_WINDOW_MINUTES", "15"))
    # How many reverse proxies in front of the app set X-Forwarded-For: 0 = use the socket address;
    # N = the Nth address from the right of X-Forwarded-For (1 = the last hop, added by our proxy).
    TRUSTED_PROXIES = int(os.environ.get("MASH_TRUSTED_PROXIES", "0"))
    MAX_JSON_DEPTH = int(os.environ.get("MASH_MAX_JSON_DEPTH", "64"))  # deeper request bodies: 400
    # Break-glass (app/services/access/break_glass.py): how long a reasoned emergency access lasts.
    BREAK_GLASS_MINUTES = int(os.environ.get("MASH_BREAK_GLASS_MINUTES", "30"))
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
    LIVE_WORKFLOWS_VERIFY = True  # the whole suite proves every live workflow it continues is the committed state


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
