"""Test settings: the real settings, with static files served unhashed and mail kept in memory."""

from agora.settings import *  # noqa: F403
from agora.settings import STATIC_ROOT, STORAGES

STATIC_ROOT.mkdir(parents=True, exist_ok=True)

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
# Argon2 is checked by its own test; the fast hasher keeps hundreds of sign-ups quick.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AGORA_LOGIN_RATE_LIMIT = 5
# The API fuzzer signs up many times from one address; the limit itself has its own test.
AGORA_SIGNUP_RATE_LIMIT = 1000
