"""Payments through the sandbox gateway, at the service level: every flow, decline, timeout, refunds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.payments import services
from agora.payments.errors import (
    PaymentGatewayFailed,
    PaymentInvalid,
    PaymentKeyReused,
    PaymentStateError,
    RefundTooLarge,
)
from agora.payments.gateways.base import GatewayError, GatewayTimeout
from agora.payments.gateways.sandbox import SandboxGateway
from agora.payments.models import Payment, PaymentEvent, Refund, SandboxCharge, SandboxRefund
from agora.payments.signals import payment_status_changed, refund_status_changed
from agora.payments.tasks import reconcile_stale_payments
from agora.payments.tests.factories import paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def signals(db: Any) -> Any:
    """Every payment_status_changed / refund_status_changed sent, with whether it came inside a transaction
    of the services (one level deeper than the transaction each test runs in)."""
    sent: list[tuple[str, str, str, bool]] = []
    base = len(connection.atomic_blocks)

    def on_payment(sender: Any, payment: Payment, previous: str, **kwargs: Any) -> None:
        sent.append(("payment", previous, payment.status, len(connection.atomic_blocks) > base))

    def on_refund(sender: Any, refund: Refund, previous: str, **kwargs: Any) -> None:
        sent.append(("refund", previous, refund.status, len(connection.atomic_blocks) > base))

    payment_status_changed.connect(on_payment)
    refund_status_changed.connect(on_refund)
    yield sent
    payment_status_changed.disconnect(on_payment)
    refund_status_changed.disconnect(on_refund)


def age(payment: Payment, seconds: int = 120) -> None:
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(seconds=seconds))


# --- authorise and capture -------------------------------------------------------------------
def test_a_sandbox_card_is_charged_and_the_signal_is_sent_inside_the_transaction(signals):
    shopper = UserFactory()

    payment = paid(amount="19.90", payer=shopper, payer_email="", reference="checkout:1", description="Two scarves")

    assert payment.status == "captured"
    assert payment.captured_amount == Decimal("19.90")
    assert payment.gateway == "sandbox"
    assert payment.payer_email == shopper.email
    assert payment.public_id.startswith("pay_")
    charge = SandboxCharge.objects.get(reference=payment.gateway_reference)
    assert (charge.status, charge.amount, charge.captured_amount) == ("captured", Decimal("19.90"), Decimal("19.90"))
    assert signals == [("payment", "pending", "captured", True)]
    assert list(payment.events.values_list("previous_status", "status", "source")) == [
        ("", "pending", "start"),
        ("pending", "captured", "start"),
    ]


def test_authorise_now_and_capture_later_captures_once(signals):
    payment = paid(capture=False)
    assert payment.status == "authorized"
    assert SandboxCharge.objects.get().status == "authorized"

    captured = services.capture_payment(payment=payment)
    again = services.capture_payment(payment=payment)

    assert captured.status == again.status == "captured"
    assert again.captured_amount == Decimal("50.00")
    assert SandboxCharge.objects.get().captured_amount == Decimal("50.00")
    assert [s[2] for s in signals] == ["authorized", "captured"]


def test_a_partial_capture_captures_the_amount_asked():
    payment = paid(amount="80.00", capture=False)

    captured = services.capture_payment(payment=payment, amount=Decimal("60.00"))

    assert (captured.status, captured.amount, captured.captured_amount) == ("captured", Decimal("80"), Decimal("60"))
    with pytest.raises(RefundTooLarge):
        services.refund_payment(payment=captured, amount=Decimal("70.00"), reason="", idempotency_key="r1")


def test_capturing_more_than_authorised_or_a_failed_payment_is_refused():
    payment = paid(amount="10.00", capture=False)
    with pytest.raises(PaymentInvalid) as exc:
        services.capture_payment(payment=payment, amount=Decimal("10.01"))
    assert exc.value.field == "amount"
    declined = paid(method="sandbox_decline", capture=False)
    with pytest.raises(PaymentStateError):
        services.capture_payment(payment=declined)


def test_voiding_releases_an_authorisation_and_cannot_void_a_captured_payment(signals):
    payment = paid(capture=False)

    voided = services.void_payment(payment=payment)

    assert voided.status == "voided"
    assert SandboxCharge.objects.get().status == "voided"
    assert services.void_payment(payment=voided).status == "voided"
    with pytest.raises(PaymentStateError):
        services.capture_payment(payment=voided)
    with pytest.raises(PaymentStateError):
        services.void_payment(payment=paid())
    assert ("payment", "authorized", "voided", True) in signals


# --- declines and bad input -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "code"),
    [("sandbox_decline", "card_declined"), ("sandbox_insufficient_funds", "insufficient_funds")],
)
def test_a_decline_fails_the_payment_without_raising(method, code, signals):
    payment = paid(method=method)

    assert payment.status == "failed"
    assert payment.failure_code == code
    assert "Use another card" in payment.failure_message
    assert payment.captured_amount == 0
    assert signals == [("payment", "pending", "failed", True)]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"amount": Decimal(0)}, "amount", "invalid_amount"),
        ({"amount": Decimal("-5")}, "amount", "negative_amount"),
        ({"amount": Decimal("1.999")}, "amount", "too_many_decimals"),
        ({"currency": "XXX"}, "currency", "unknown_currency"),
        ({"method": "bitcoin"}, "method", "unknown_method"),
        ({"idempotency_key": ""}, "idempotency_key", "invalid_idempotency_key"),
        ({"reference": ""}, "reference", "required"),
        ({"payer_email": "not-an-address"}, "payer_email", "invalid_email"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(changes, field, code):
    args: dict[str, Any] = {
        "amount": Decimal("10.00"),
        "currency": "EUR",
        "method": "sandbox_card",
        "reference": "checkout:1",
        "payer": None,
        "payer_email": "a@example.com",
        "idempotency_key": "k1",
        **changes,
    }
    with pytest.raises(PaymentInvalid) as exc:
        services.start_payment(**args)
    assert (exc.value.field, exc.value.code, exc.value.status) == (field, code, 422)
    assert not Payment.objects.exists()
    assert not SandboxCharge.objects.exists()


def test_the_same_idempotency_key_returns_the_same_payment_and_charges_once():
    first = paid(idempotency_key="checkout-7")
    second = paid(idempotency_key="checkout-7")

    assert first.pk == second.pk
    assert SandboxCharge.objects.count() == 1
    with pytest.raises(PaymentKeyReused):
        paid(idempotency_key="checkout-7", amount="51.00")


# --- timeouts and reconciliation --------------------------------------------------------------
def test_a_timeout_leaves_the_payment_unknown_and_reconcile_finds_the_charge(signals):
    payment = paid(method="sandbox_timeout")

    assert payment.status == "unknown"
    assert payment.gateway_reference == ""
    charge = SandboxCharge.objects.get()
    assert charge.status == "captured"  # the gateway did charge; only its answer was lost

    settled = services.reconcile_payment(payment=payment)

    assert settled.status == "captured"
    assert settled.gateway_reference == charge.reference
    assert settled.captured_amount == Decimal("50.00")
    assert SandboxCharge.objects.count() == 1
    assert [s[1:3] for s in signals] == [("pending", "unknown"), ("unknown", "captured")]
    assert settled.events.last().source == "reconcile"


def test_a_retry_of_a_timed_out_payment_returns_it_without_charging_again():
    payment = paid(method="sandbox_timeout", idempotency_key="k-timeout")

    retry = paid(method="sandbox_timeout", idempotency_key="k-timeout")

    assert retry.pk == payment.pk
    assert retry.status == "unknown"
    assert SandboxCharge.objects.count() == 1


def test_a_payment_the_gateway_never_received_is_reconciled_as_failed():
    # The process died between committing "pending" and calling the gateway.
    payment = Payment.objects.create(
        amount=Decimal("5.00"),
        currency="EUR",
        method="sandbox_card",
        gateway="sandbox",
        reference="x",
        idempotency_key="k",
    )

    settled = services.reconcile_payment(payment=payment)

    assert settled.status == "failed"
    assert settled.failure_code == "not_processed"


def test_the_periodic_task_settles_stale_payments_only():
    stale = paid(method="sandbox_timeout")
    fresh = paid(method="sandbox_timeout")
    age(stale)

    counts = reconcile_stale_payments()

    assert counts == {"checked": 1, "settled": 1, "errors": 0}
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("captured", "unknown")


def test_the_periodic_task_keeps_going_when_one_payment_fails(monkeypatch):
    first, second = paid(method="sandbox_timeout"), paid(method="sandbox_timeout")
    age(first)
    age(second)
    real = SandboxGateway.retrieve

    def flaky(self, *, reference, request=None):
        if request is not None and first.public_id in request.idempotency_key:
            raise GatewayTimeout("down")
        return real(self, reference=reference, request=request)

    monkeypatch.setattr(SandboxGateway, "retrieve", flaky)

    assert reconcile_stale_payments() == {"checked": 2, "settled": 1, "errors": 1}
    first.refresh_from_db()
    assert first.status == "unknown"


def test_reconcile_reports_a_gateway_that_does_not_answer(monkeypatch):
    payment = paid(method="sandbox_timeout")
    monkeypatch.setattr(SandboxGateway, "retrieve", lambda self, **kw: (_ for _ in ()).throw(GatewayTimeout("down")))

    with pytest.raises(PaymentGatewayFailed) as exc:
        services.reconcile_payment(payment=payment)
    assert exc.value.status == 502


def test_a_capture_that_times_out_is_unknown_until_reconciled(monkeypatch):
    payment = paid(capture=False)
    real = SandboxGateway.capture

    def capture_then_lose_the_answer(self, **kwargs):
        real(self, **kwargs)
        raise GatewayTimeout("lost")

    monkeypatch.setattr(SandboxGateway, "capture", capture_then_lose_the_answer)
    assert services.capture_payment(payment=payment).status == "unknown"
    monkeypatch.undo()

    assert services.reconcile_payment(payment=payment).status == "captured"
    assert services.capture_payment(payment=payment).captured_amount == Decimal("50.00")


def test_a_late_answer_is_applied_even_after_the_payment_was_given_up():
    payment = paid(method="sandbox_timeout")
    Payment.objects.filter(pk=payment.pk).update(status="failed", failure_code="not_processed")

    settled = services.reconcile_payment(payment=payment)

    # The money was taken: recorded, so that the order can refund it.
    assert settled.status == "captured"
    assert settled.failure_code == ""


def test_a_stale_report_does_not_move_a_payment_backwards():
    payment = paid(capture=False)
    services.capture_payment(payment=payment)
    SandboxCharge.objects.update(status="authorized")  # the gateway's view lags behind

    assert services.reconcile_payment(payment=payment).status == "captured"


# --- refunds ----------------------------------------------------------------------------------
def test_partial_then_full_refund(signals):
    payment = paid(amount="30.00")

    first = services.refund_payment(payment=payment, amount=Decimal("10.00"), reason="Damaged", idempotency_key="r1")
    payment.refresh_from_db()
    assert (first.status, payment.status, payment.refunded_amount) == ("succeeded", "partially_refunded", Decimal(10))

    second = services.refund_payment(payment=payment, amount=Decimal("20.00"), reason="Returned", idempotency_key="r2")
    payment.refresh_from_db()
    assert (second.status, payment.status, payment.refunded_amount) == ("succeeded", "refunded", Decimal(30))
    assert SandboxCharge.objects.get().refunded_amount == Decimal(30)
    assert SandboxRefund.objects.count() == 2
    assert [s[:3] for s in signals] == [
        ("payment", "pending", "captured"),
        ("payment", "captured", "partially_refunded"),
        ("refund", "pending", "succeeded"),
        ("payment", "partially_refunded", "refunded"),
        ("refund", "pending", "succeeded"),
    ]
    assert all(inside for *_, inside in signals)


def test_an_over_refund_is_refused_with_what_is_left():
    payment = paid(amount="30.00")
    services.refund_payment(payment=payment, amount=Decimal("25.00"), reason="", idempotency_key="r1")

    with pytest.raises(RefundTooLarge) as exc:
        services.refund_payment(payment=payment, amount=Decimal("5.01"), reason="", idempotency_key="r2")

    assert exc.value.field == "amount"
    assert "€5.00" in exc.value.message
    assert Refund.objects.count() == 1
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal(25)


def test_a_refund_retried_with_its_key_is_not_repeated():
    payment = paid(amount="30.00")
    first = services.refund_payment(payment=payment, amount=Decimal("10.00"), reason="", idempotency_key="r1")

    again = services.refund_payment(payment=payment, amount=Decimal("10.00"), reason="", idempotency_key="r1")

    assert again.pk == first.pk
    assert SandboxRefund.objects.count() == 1
    with pytest.raises(PaymentKeyReused):
        services.refund_payment(payment=payment, amount=Decimal("5.00"), reason="", idempotency_key="r1")


@pytest.mark.parametrize("method", ["sandbox_decline", "sandbox_timeout"])
def test_only_a_captured_payment_can_be_refunded(method):
    payment = paid(method=method)
    with pytest.raises(PaymentStateError):
        services.refund_payment(payment=payment, amount=Decimal("1.00"), reason="", idempotency_key="r")
    authorised = paid(capture=False)
    with pytest.raises(PaymentStateError):
        services.refund_payment(payment=authorised, amount=Decimal("1.00"), reason="", idempotency_key="r")
    assert not Refund.objects.exists()


def test_a_refund_that_times_out_stays_pending_and_counts_until_reconciled(monkeypatch):
    payment = paid(amount="30.00")
    real = SandboxGateway.refund

    def refund_then_lose_the_answer(self, **kwargs):
        real(self, **kwargs)
        raise GatewayTimeout("lost")

    monkeypatch.setattr(SandboxGateway, "refund", refund_then_lose_the_answer)
    refund = services.refund_payment(payment=payment, amount=Decimal("20.00"), reason="", idempotency_key="r1")
    monkeypatch.undo()

    assert refund.status == "pending"
    with pytest.raises(RefundTooLarge):  # the pending 20 counts
        services.refund_payment(payment=payment, amount=Decimal("15.00"), reason="", idempotency_key="r2")
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=5))

    assert reconcile_stale_payments()["checked"] == 1

    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.status == "succeeded"
    assert SandboxRefund.objects.count() == 1
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal(20))


def test_a_refund_the_gateway_refuses_is_recorded_as_failed(monkeypatch):
    payment = paid(amount="30.00")
    monkeypatch.setattr(SandboxGateway, "refund", lambda self, **kw: (_ for _ in ()).throw(GatewayError("no")))

    with pytest.raises(PaymentGatewayFailed):
        services.refund_payment(payment=payment, amount=Decimal("5.00"), reason="", idempotency_key="r1")

    assert Refund.objects.get().status == "failed"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("captured", 0)


def test_payment_methods_are_the_sandbox_test_cards():
    codes = [m.code for m in services.payment_methods()]
    assert codes == ["sandbox_card", "sandbox_decline", "sandbox_insufficient_funds", "sandbox_timeout"]
    assert all(m.test for m in services.payment_methods())


def test_history_records_every_status():
    payment = paid(capture=False)
    services.capture_payment(payment=payment)
    services.refund_payment(payment=payment, amount=Decimal("50.00"), reason="", idempotency_key="r")

    assert list(PaymentEvent.objects.filter(payment=payment).values_list("status", "source")) == [
        ("pending", "start"),
        ("authorized", "start"),
        ("captured", "capture"),
        ("refunded", "refund"),
    ]


def test_a_refund_made_while_the_payment_was_unknown_is_recorded_after_the_capture(signals):
    payment = paid(amount="30.00", method="sandbox_timeout")
    charge = SandboxCharge.objects.get()
    # Refunded at the gateway before Agora learnt of the charge (an operator at the provider, say).
    SandboxGateway().refund(
        reference=charge.reference,
        amount=Decimal("10.00"),
        currency="EUR",
        reason="",
        refund_id="",
        idempotency_key="x",
    )

    settled = services.reconcile_payment(payment=payment)

    assert (settled.status, settled.refunded_amount) == ("partially_refunded", Decimal("10.00"))
    assert [s[:3] for s in signals] == [
        ("payment", "pending", "unknown"),
        ("payment", "unknown", "captured"),
        ("payment", "captured", "partially_refunded"),
        ("refund", "pending", "succeeded"),
    ]
    assert Refund.objects.get().reason.startswith("Refunded outside Agora")
