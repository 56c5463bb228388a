from __future__ import annotations

from celery import shared_task
from django.conf import settings

from agora.payments.services import reconcile_stale


@shared_task(name="payments.reconcile_stale")
def reconcile_stale_payments() -> dict[str, int]:
    """Every minute (CELERY_BEAT_SCHEDULE): settle payments and refunds the gateway left without an answer."""
    return reconcile_stale(older_than_seconds=settings.AGORA_PAYMENT_RECONCILE_AFTER)
