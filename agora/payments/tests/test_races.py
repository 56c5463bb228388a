"""Payments under concurrency (PostgreSQL): one charge per key, one capture, never refunded beyond captured."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from agora.core.tests.test_races import assert_only, race, split
from agora.payments import services
from agora.payments.errors import RefundTooLarge
from agora.payments.models import Payment, PaymentEvent, Refund, SandboxCharge, SandboxRefund, StripeEvent
from agora.payments.signals import payment_status_changed
from agora.payments.tests.factories import paid

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]


def test_twenty_concurrent_payments_with_one_key_charge_once() -> None:
    outcomes = race(20, lambda i: lambda: paid(amount="12.00", idempotency_key="one-key"))
    payments, errors = split(outcomes)

    assert errors == []
    assert {p.pk for p in payments} == {Payment.objects.get().pk}
    assert SandboxCharge.objects.count() == 1
    assert Payment.objects.get().status == "captured"


def test_concurrent_captures_capture_once() -> None:
    payment = paid(amount="40.00", capture=False)

    outcomes = race(10, lambda i: lambda: services.capture_payment(payment=Payment.objects.get(pk=payment.pk)))
    captured, errors = split(outcomes)

    assert errors == []
    assert {p.status for p in captured} == {"captured"}
    assert PaymentEvent.objects.filter(payment=payment, status="captured").count() == 1
    assert SandboxCharge.objects.get().captured_amount == Decimal("40.00")


def test_concurrent_refunds_never_exceed_what_was_captured() -> None:
    payment = paid(amount="100.00")

    def prepare(i: int) -> Callable[[], Any]:
        fresh = Payment.objects.get(pk=payment.pk)
        return lambda: services.refund_payment(
            payment=fresh, amount=Decimal("10.00"), reason="", idempotency_key=f"r{i}"
        )

    # 16 threads: each holds a pooled connection from its prepare() on (AGORA_DB_POOL_MAX is 20).
    refunds, errors = split(race(16, prepare))

    assert len(refunds) == 10
    assert_only(errors, RefundTooLarge)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("100.00"))
    assert Refund.objects.filter(status="succeeded").count() == SandboxRefund.objects.count() == 10
    assert SandboxCharge.objects.get().refunded_amount == Decimal("100.00")


def test_one_webhook_event_delivered_ten_times_at_once_is_applied_once(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_race"
    payment = Payment.objects.create(
        amount=Decimal("20.00"),
        currency="EUR",
        method="stripe_card",
        gateway="stripe",
        gateway_reference="pi_race",
        reference="x",
        idempotency_key="k",
        status="requires_action",
    )
    intent = {"id": "pi_race", "object": "payment_intent", "amount": 2000, "amount_received": 2000, "currency": "eur"}
    intent["status"] = "succeeded"
    seen: list[str] = []

    def receiver(sender: Any, payment: Payment, previous: str, **kwargs: Any) -> None:
        seen.append(payment.status)

    payment_status_changed.connect(receiver)
    try:
        outcomes = race(
            10,
            lambda i: (
                lambda: services.handle_stripe_event(
                    event_id="evt_race", event_type="payment_intent.succeeded", obj=intent
                )
            ),
        )
    finally:
        payment_status_changed.disconnect(receiver)

    assert sorted(outcomes) == ["duplicate"] * 9 + ["processed"]
    assert seen == ["captured"]
    assert StripeEvent.objects.count() == 1
    payment.refresh_from_db()
    assert payment.status == "captured"
