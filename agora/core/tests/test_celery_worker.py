"""With REDIS_URL set, tasks go through a real Redis broker to a real Celery worker (not eager mode)."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail

from agora.accounts import services
from agora.accounts.tests.factories import UserFactory
from agora.celery import app

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="runs in the PostgreSQL + Redis pass of CI")


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_password_reset_mail_is_sent_by_a_real_worker_through_redis(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.REDIS_URL
    user = UserFactory(email="worker@example.com")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            services.request_password_reset(email=user.email)
            deadline = time.monotonic() + 20
            while not mail.outbox and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        app.conf.task_always_eager = True
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["worker@example.com"]
    assert "/accounts/reset/" in mail.outbox[0].body
