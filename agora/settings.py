"""Agora settings, read from the environment.

Embedded mode (nothing set): SQLite in ``var/``, in-memory cache and channel layer,
Celery tasks run in-process. Production: set ``DATABASE_URL`` (PostgreSQL) and
``REDIS_URL`` (cache, channel layer, Celery broker). The code is the same in both.
See docs/ARCHITECTURE.md for every switch.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AGORA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """A key from the environment, or one generated once and kept in var/ (embedded mode)."""
    if key := os.environ.get("DJANGO_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("AGORA_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "agora.core",
    "agora.accounts",
    "agora.shops",
    "agora.catalog",
    "agora.shipping",
    "agora.idempotency",
    "agora.payments",
    "agora.ledger",
    "agora.orders",
    "agora.notifications",
    "agora.social",
    "agora.feed",
    "agora.groupbuy",
    "agora.promotions",
    "agora.web",
    "agora.api",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    # Ships the Swagger UI assets that /api/v1/docs loads from our own static files (no CDN).
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "agora.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "agora.web.errors.HtmxLoginRedirectMiddleware",
    "agora.web.errors.DomainErrorMiddleware",
]

ROOT_URLCONF = "agora.urls"
WSGI_APPLICATION = "agora.wsgi.application"
ASGI_APPLICATION = "agora.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "agora.web.context_processors.site",
                "agora.orders.context_processors.cart",
                "agora.notifications.context_processors.unread",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'agora.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # One writer at a time: IMMEDIATE makes a writing transaction wait for the lock
    # (up to `timeout` seconds) instead of failing when a read came first. See ADR 0001.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    # Under ASGI Django closes its connection after every request; a pool per process keeps them open
    # (a new PostgreSQL connection costs more than a catalog query). Size it so that
    # processes × AGORA_DB_POOL_MAX stays below the server's max_connections.
    if env_bool("AGORA_DB_POOL", True):
        DATABASES["default"]["OPTIONS"] = {
            "pool": {
                "min_size": int(os.environ.get("AGORA_DB_POOL_MIN", "1")),
                "max_size": int(os.environ.get("AGORA_DB_POOL_MAX", "20")),
                "timeout": int(os.environ.get("AGORA_DB_POOL_TIMEOUT", "10")),
            }
        }
    else:
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channel layer, Celery -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("AGORA_CACHE_PREFIX", "agora"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No client-side socket timeout (redis-py 8 defaults to 5 s): channels_redis waits for events in
                # 5 s blocking reads that such a timeout cuts short, and on Python 3.11 the timed send swallows the
                # cancel of a closing socket's reader, which then never ends (nor does a graceful shutdown).
                # TCP keepalive still notices a Redis that went away. tests/e2e/test_real_server.py covers both.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "socket_keepalive": True}],
                "prefix": os.environ.get("AGORA_CACHE_PREFIX", "agora"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = None
# Without a broker (embedded mode) tasks run in-process, at the point they are enqueued.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Accounts -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["agora.accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
# Login attempts per identifier (and per client address) inside the window.
AGORA_LOGIN_RATE_LIMIT = int(os.environ.get("AGORA_LOGIN_RATE_LIMIT", "5"))
AGORA_LOGIN_RATE_WINDOW = int(os.environ.get("AGORA_LOGIN_RATE_WINDOW", "300"))
AGORA_SIGNUP_RATE_LIMIT = int(os.environ.get("AGORA_SIGNUP_RATE_LIMIT", "20"))  # sign-ups per address per hour
# How many proxies of ours stand in front of the web processes (0: none, trust REMOTE_ADDR only).
AGORA_TRUSTED_PROXIES = int(os.environ.get("AGORA_TRUSTED_PROXIES", "0"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Agora <no-reply@agora.local>")

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "agora" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("AGORA_STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("AGORA_MEDIA_ROOT", VAR_DIR / "media"))
# The app serves uploaded media itself unless a front server or object store does.
AGORA_SERVE_MEDIA = env_bool("AGORA_SERVE_MEDIA", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
AGORA_MAX_IMAGE_BYTES = int(os.environ.get("AGORA_MAX_IMAGE_BYTES", str(8 * 1024 * 1024)))
AGORA_MAX_IMAGE_PIXELS = 40_000_000
AGORA_THUMBNAIL_SIZES = {"small": 240, "medium": 640}

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("AGORA_HTTPS", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("AGORA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Catalog --------------------------------------------------------------------------
AGORA_PAGE_SIZE = 24
AGORA_API_PAGE_SIZE = 20
AGORA_API_MAX_PAGE_SIZE = 100

# --- Orders and checkout (agora.orders, agora.shipping, agora.ledger) -----------------
# How long an unpaid order holds its stock; guests get less time than signed-in shoppers.
AGORA_RESERVATION_MINUTES_USER = int(os.environ.get("AGORA_RESERVATION_MINUTES_USER", "30"))
AGORA_RESERVATION_MINUTES_GUEST = int(os.environ.get("AGORA_RESERVATION_MINUTES_GUEST", "15"))
# The operator's commission on each paid order, as a fraction ("0.10" = 10 %); a shop may override it.
AGORA_COMMISSION_RATE = os.environ.get("AGORA_COMMISSION_RATE", "0.10")
# The return window of a shop that has not set its own (days after delivery).
AGORA_RETURN_WINDOW_DAYS = int(os.environ.get("AGORA_RETURN_WINDOW_DAYS", "14"))
# How long the claim link in a guest's confirmation e-mail stays valid.
AGORA_ORDER_CLAIM_DAYS = int(os.environ.get("AGORA_ORDER_CLAIM_DAYS", "90"))
# Lines a cart may hold, and the most of one variant in one line.
AGORA_CART_MAX_LINES = int(os.environ.get("AGORA_CART_MAX_LINES", "50"))
AGORA_CART_MAX_QUANTITY = int(os.environ.get("AGORA_CART_MAX_QUANTITY", "999"))
# Guest carts nobody touched for this many days are deleted by the periodic expiry task.
AGORA_GUEST_CART_DAYS = int(os.environ.get("AGORA_GUEST_CART_DAYS", "30"))
# Unpaid orders past their reservation are cancelled (and their stock returned) every minute.
CELERY_BEAT_SCHEDULE["orders.expire_unpaid"] = {"task": "orders.expire_unpaid", "schedule": 60.0}

# --- Payments (agora.payments) --------------------------------------------------------
# "sandbox" (built in, the default in embedded mode and tests) or "stripe".
AGORA_PAYMENT_GATEWAY = os.environ.get("AGORA_PAYMENT_GATEWAY", "sandbox")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Tests point this at a locally served Stripe stand-in; production leaves it empty (api.stripe.com).
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# Seconds a Stripe call may take, and how many times the package retries a failed connection (with the same
# Idempotency-Key). Kept well under AGORA_PAYMENT_RECONCILE_AFTER so reconciliation never races a live call.
STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "20"))
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "1"))
# A payment still "pending" or "unknown" after this many seconds is settled by asking the gateway.
AGORA_PAYMENT_RECONCILE_AFTER = int(os.environ.get("AGORA_PAYMENT_RECONCILE_AFTER", "60"))
# Idempotency-Key: how long a key and its stored answer are kept, and how long a concurrent duplicate
# waits for the first request before it is told 409 "in progress".
AGORA_IDEMPOTENCY_TTL_HOURS = int(os.environ.get("AGORA_IDEMPOTENCY_TTL_HOURS", "24"))
AGORA_IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("AGORA_IDEMPOTENCY_WAIT_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["payments.reconcile"] = {"task": "payments.reconcile_stale", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["idempotency.purge"] = {"task": "idempotency.purge_expired", "schedule": 3600.0}

# --- Social and feed (agora.social, agora.feed) ---------------------------------------
AGORA_TIMELINE_LENGTH = int(os.environ.get("AGORA_TIMELINE_LENGTH", "800"))
# Feed (agora.feed, docs/feed.md). "auto": per-follower Redis timelines (fan-out on write) when REDIS_URL is set,
# else the database (fan-out on read); "database" or "redis" force one. AGORA_TIMELINE_LENGTH bounds each timeline.
AGORA_FEED_BACKEND = os.environ.get("AGORA_FEED_BACKEND", "auto")
AGORA_FEED_PAGE_SIZE = int(os.environ.get("AGORA_FEED_PAGE_SIZE", "20"))
AGORA_FEED_MAX_PAGE_SIZE = int(os.environ.get("AGORA_FEED_MAX_PAGE_SIZE", "50"))
# Timelines of people who stop reading expire; the next read rebuilds them from the database.
AGORA_FEED_TIMELINE_TTL = int(os.environ.get("AGORA_FEED_TIMELINE_TTL", str(14 * 24 * 3600)))
AGORA_FEED_KEY_PREFIX = os.environ.get("AGORA_CACHE_PREFIX", "agora")
# Timelines written per Redis call when a post fans out (1 on Redis Cluster: one call's keys share a server).
AGORA_FEED_FANOUT_CHUNK = int(os.environ.get("AGORA_FEED_FANOUT_CHUNK", "1000"))
# Benchmarks only: lets the X-Agora-Feed-Backend header pick the backend of one request (bench/scenarios/feed.py).
AGORA_FEED_BACKEND_HEADER = env_bool("AGORA_FEED_BACKEND_HEADER", False)
# Trending (explore, "popular on Agora"): engagement of the last days, halved every half-life; weights per kind.
AGORA_TRENDING_WINDOW_DAYS = int(os.environ.get("AGORA_TRENDING_WINDOW_DAYS", "3"))
AGORA_TRENDING_HALF_LIFE_HOURS = float(os.environ.get("AGORA_TRENDING_HALF_LIFE_HOURS", "24"))
AGORA_TRENDING_WEIGHTS = {"like": 1.0, "comment": 2.0, "repost": 3.0, "share": 3.0, "purchase": 5.0}
AGORA_TRENDING_SIZE = int(os.environ.get("AGORA_TRENDING_SIZE", "500"))
# "Popular on Agora": the top products, and only those with at least this score (one like is not popular).
AGORA_TRENDING_LABEL_TOP = int(os.environ.get("AGORA_TRENDING_LABEL_TOP", "50"))
AGORA_TRENDING_LABEL_MIN_SCORE = float(os.environ.get("AGORA_TRENDING_LABEL_MIN_SCORE", "5"))
AGORA_TRENDING_INTERVAL = int(os.environ.get("AGORA_TRENDING_INTERVAL", "600"))
CELERY_BEAT_SCHEDULE["feed.refresh_trending"] = {
    "task": "feed.refresh_trending",
    "schedule": float(AGORA_TRENDING_INTERVAL),
}
# Social (agora.social): sizes of posts and comments, and how often one person may post, comment and follow
# (attempts per window of seconds; tests raise these in their own fixtures).
AGORA_POST_MAX_LENGTH = int(os.environ.get("AGORA_POST_MAX_LENGTH", "2200"))
AGORA_POST_MAX_PHOTOS = int(os.environ.get("AGORA_POST_MAX_PHOTOS", "10"))
AGORA_POST_MAX_PRODUCT_TAGS = int(os.environ.get("AGORA_POST_MAX_PRODUCT_TAGS", "20"))
AGORA_COMMENT_MAX_LENGTH = int(os.environ.get("AGORA_COMMENT_MAX_LENGTH", "1000"))
AGORA_SOCIAL_POST_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_POST_RATE_LIMIT", "30"))
AGORA_SOCIAL_POST_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_POST_RATE_WINDOW", "3600"))
AGORA_SOCIAL_COMMENT_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_COMMENT_RATE_LIMIT", "30"))
AGORA_SOCIAL_COMMENT_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_COMMENT_RATE_WINDOW", "300"))
AGORA_SOCIAL_FOLLOW_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_FOLLOW_RATE_LIMIT", "100"))
AGORA_SOCIAL_FOLLOW_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_FOLLOW_RATE_WINDOW", "3600"))
# New likes (liking again what one already likes is free) and edits of posts and comments per person.
AGORA_SOCIAL_LIKE_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_LIKE_RATE_LIMIT", "500"))
AGORA_SOCIAL_LIKE_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_LIKE_RATE_WINDOW", "3600"))
AGORA_SOCIAL_EDIT_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_EDIT_RATE_LIMIT", "60"))
AGORA_SOCIAL_EDIT_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_EDIT_RATE_WINDOW", "3600"))
# New share links per person (asking again for the same link is free), and counted anonymous opens of share
# links per address (above it the link still opens, the open is just not counted).
AGORA_SOCIAL_SHARE_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_SHARE_RATE_LIMIT", "60"))
AGORA_SOCIAL_SHARE_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_SHARE_RATE_WINDOW", "3600"))
AGORA_SOCIAL_SHARE_OPEN_RATE_LIMIT = int(os.environ.get("AGORA_SOCIAL_SHARE_OPEN_RATE_LIMIT", "30"))
AGORA_SOCIAL_SHARE_OPEN_RATE_WINDOW = int(os.environ.get("AGORA_SOCIAL_SHARE_OPEN_RATE_WINDOW", "3600"))
# Live poll results: after a vote, the new results are pushed to the author and at most this many latest voters.
AGORA_POLL_LIVE_PUSH_MAX = int(os.environ.get("AGORA_POLL_LIVE_PUSH_MAX", "200"))
# The longest a poll may stay open, and how often closed polls are announced to their author and voters.
AGORA_POLL_MAX_DAYS = int(os.environ.get("AGORA_POLL_MAX_DAYS", "30"))
CELERY_BEAT_SCHEDULE["social.close_polls"] = {"task": "social.close_due_polls", "schedule": 60.0}

# --- Team purchases and flash deals (agora.groupbuy, agora.promotions) -----------------
# A team's orders stay reserved this long after the team's clock runs out, so the sweep (not the unpaid-order
# expiry) is what closes them.
AGORA_TEAM_GRACE_MINUTES = int(os.environ.get("AGORA_TEAM_GRACE_MINUTES", "60"))
# Members are reminded once this many minutes before their team expires.
AGORA_TEAM_REMINDER_MINUTES = int(os.environ.get("AGORA_TEAM_REMINDER_MINUTES", "60"))
AGORA_TEAM_MAX_MEMBERS = int(os.environ.get("AGORA_TEAM_MAX_MEMBERS", "50"))
AGORA_TEAM_MAX_FILL_HOURS = int(os.environ.get("AGORA_TEAM_MAX_FILL_HOURS", "168"))
# Expired teams the sweep reads per page, and closes together (one transaction fails them, one cancels their
# orders, one task voids their payments): a bigger chunk is cheaper per team but holds its locks longer.
AGORA_TEAM_SWEEP_BATCH = int(os.environ.get("AGORA_TEAM_SWEEP_BATCH", "500"))
AGORA_TEAM_SWEEP_CHUNK = int(os.environ.get("AGORA_TEAM_SWEEP_CHUNK", "50"))
CELERY_BEAT_SCHEDULE["groupbuy.sweep"] = {"task": "groupbuy.sweep", "schedule": 30.0}
# "Best customers" for a flash deal's early access: shoppers with at least this many bought orders at the shop.
AGORA_BEST_CUSTOMER_MIN_ORDERS = int(os.environ.get("AGORA_BEST_CUSTOMER_MIN_ORDERS", "2"))
