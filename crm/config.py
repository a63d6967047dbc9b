"""Settings, read from the environment when the app is created (never at import).

Every setting has a safe development default so a newcomer needs no server; production
(`BLUELEDGER_ENV=production`) refuses to start without a real SECRET_KEY.
"""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-not-secret"


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(env: dict, instance_path: str) -> str:
    url = env.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'blueledger.sqlite'}"
    # Heroku-style URLs name the old driver; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _ratelimit_storage(env: dict) -> str:
    """Rate limits must be shared by every web process in production: Redis when configured."""
    url = env.get("RATELIMIT_STORAGE_URI") or env.get("REDIS_URL") or "memory://"
    return "redis+unix://" + url[len("unix://"):] if url.startswith("unix://") else url


def load_config(instance_path: str, env: dict | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    production = env.get("BLUELEDGER_ENV", "development") == "production"
    secret = env.get("SECRET_KEY", "")
    if production and (len(secret) < 32 or secret == DEV_SECRET_KEY):
        raise RuntimeError(
            "SECRET_KEY must be set to a random value of at least 32 characters in production "
            "(python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    return {
        "ENV_NAME": "production" if production else "development",
        "SECRET_KEY": secret or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": _database_url(env, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RQ_QUEUES": [q.strip() for q in env.get("RQ_QUEUES", "default,mail,documents").split(",") if q.strip()],
        "RQ_QUEUE_PREFIX": env.get("RQ_QUEUE_PREFIX", ""),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _bool(env.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production or _bool(env.get("SESSION_COOKIE_SECURE")),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("BLUELEDGER_TIMEZONE", "Asia/Shanghai"),
        # One catalog per feature (see crm/catalogs.py); Flask-Babel merges them.
        "BABEL_TRANSLATION_DIRECTORIES": ";".join(
            str(p) for p in [PROJECT_ROOT / "crm" / "translations",
                             *sorted((PROJECT_ROOT / "crm").glob("*/translations"))]),
        "LANGUAGES": {"zh_CN": "中文", "en": "English"},
        "LOGIN_MAX_FAILURES": int(env.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("LOGIN_LOCKOUT_MINUTES", "15")),
        "RATELIMIT_STORAGE_URI": _ratelimit_storage(env),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024,
        "PER_PAGE": 25,
        "PROXY_COUNT": int(env.get("PROXY_COUNT", "0")),
        **_mail_settings(env, production),
    }


def _mail_settings(env: dict, production: bool) -> dict:
    """SMTP and reminders (crm/reminders). Without MAIL_SERVER, development mail goes to the local
    catcher `make run` starts on 127.0.0.1:1025 (files in instance/mail/)."""
    ssl, tls = _bool(env.get("MAIL_USE_SSL")), _bool(env.get("MAIL_USE_TLS"))
    server = env.get("MAIL_SERVER") or ("localhost" if production else "127.0.0.1")
    catcher = not production and not env.get("MAIL_SERVER")
    default_port = 465 if ssl else 587 if tls else 1025 if catcher else 25
    return {
        "MAIL_SERVER": server,
        "MAIL_PORT": int(env.get("MAIL_PORT") or default_port),
        "MAIL_USE_SSL": ssl,
        "MAIL_USE_TLS": tls,
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER",
                                       "BlueLedger <no-reply@blueledger.local>"),
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT", "10")),
        # Backoff between delivery attempts (seconds) after a 4xx or an unreachable server.
        "MAIL_RETRY_INTERVALS": [int(s) for s in
                                 env.get("MAIL_RETRY_INTERVALS", "30,120,600").split(",")],
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "8")),
        # A sender owns a claimed mail this long; must exceed one SMTP exchange (MAIL_TIMEOUT).
        "MAIL_LEASE_SECONDS": int(env.get("MAIL_LEASE_SECONDS", "300")),
        # A pending mail whose job vanished (Redis lost) is enqueued again after this long.
        "MAIL_REQUEUE_SECONDS": int(env.get("MAIL_REQUEUE_SECONDS", "900")),
        "MAIL_BATCH_SIZE": int(env.get("MAIL_BATCH_SIZE", "20")),
        # Sent, cancelled and skipped mails are deleted after this many days (failed ones stay).
        "MAIL_KEEP_DAYS": int(env.get("MAIL_KEEP_DAYS", "90")),
        "BASE_URL": env.get("BASE_URL") or f"http://127.0.0.1:{env.get('PORT', '5000')}",
        "DIGEST_TIME": env.get("DIGEST_TIME", "08:30"),  # HH:MM in BLUELEDGER_TIMEZONE
        "DIGEST_BATCH_SIZE": int(env.get("DIGEST_BATCH_SIZE", "200")),
        "REMINDER_LEAD_DAYS": int(env.get("REMINDER_LEAD_DAYS", "1")),
        "WEEKLY_SUMMARY_DAY": int(env.get("WEEKLY_SUMMARY_DAY", "1")),  # ISO weekday, 1 = Mon
        "REMINDERS_RELAY_SECONDS": int(env.get("REMINDERS_RELAY_SECONDS", "30")),
        "REMINDERS_PLAN_SECONDS": int(env.get("REMINDERS_PLAN_SECONDS", "60")),
        "REMINDERS_RUN_LEASE_SECONDS": int(env.get("REMINDERS_RUN_LEASE_SECONDS", "1800")),
    }
