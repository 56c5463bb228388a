"""Stripe through the official package, against a Stripe stand-in served in the test process (never the network)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from agora.payments import services
from agora.payments.errors import PaymentInvalid, PaymentStateError, RefundTooLarge
from agora.payments.gateways import get_gateway
from agora.payments.gateways.stripe import from_minor, to_minor
from agora.payments.models import Payment, Refund, StripeEvent
from agora.payments.signals import payment_status_changed
from agora.payments.tests.conftest import WEBHOOK_SECRET
from agora.payments.tests.factories import paid
from agora.payments.tests.stripe_standin import sign

pytestmark = pytest.mark.django_db
WEBHOOK = "/payments/stripe/webhook"


def post_event(client: Any, payload: bytes, signature: str | None = None) -> Any:
    return client.post(
        WEBHOOK,
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": signature if signature is not None else sign(payload, WEBHOOK_SECRET)},
    )


@pytest.fixture
def status_signals() -> Any:
    sent: list[tuple[str, str]] = []

    def receiver(sender: Any, payment: Payment, previous: str, **kwargs: Any) -> None:
        sent.append((previous, payment.status))

    payment_status_changed.connect(receiver)
    yield sent
    payment_status_changed.disconnect(receiver)


# --- amounts ------------------------------------------------------------------------------------
def test_amounts_are_sent_in_the_smallest_unit_of_the_currency():
    assert to_minor(Decimal("19.90"), "EUR") == 1990
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert from_minor(1990, "eur") == Decimal("19.90")
    assert from_minor(1500, "JPY") == Decimal("1500")


def test_the_stripe_gateway_needs_a_secret_key(settings):
    settings.AGORA_PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        get_gateway()
    settings.AGORA_PAYMENT_GATEWAY = "paypal"
    with pytest.raises(ImproperlyConfigured):
        get_gateway()


# --- charging -----------------------------------------------------------------------------------
def test_an_automatic_capture_with_a_confirmed_card(stripe_standin):
    payment = paid(amount="19.90", method="stripe_card:pm_card_visa", description="Scarf", reference="checkout:9")

    assert payment.status == "captured"
    assert payment.gateway == "stripe"
    assert payment.captured_amount == Decimal("19.90")
    intent = stripe_standin.intents[payment.gateway_reference]
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (1990, "eur", "automatic")
    assert intent["metadata"] == {"payment": payment.public_id, "reference": "checkout:9"}
    assert intent["receipt_email"] == "shopper@example.com"
    [create] = stripe_standin.mutating()
    assert create.headers["idempotency-key"] == f"agora-{payment.public_id}-authorize"
    assert create.headers["authorization"] == "Bearer sk_test_standin"


def test_manual_capture_authorises_first_and_captures_later(stripe_standin, status_signals):
    payment = paid(amount="40.00", method="stripe_card:pm_card_visa", capture=False)
    assert payment.status == "authorized"
    assert stripe_standin.intents[payment.gateway_reference]["capture_method"] == "manual"

    captured = services.capture_payment(payment=payment, amount=Decimal("30.00"))
    again = services.capture_payment(payment=payment)

    assert (captured.status, captured.captured_amount) == ("captured", Decimal("30.00"))
    assert again.captured_amount == Decimal("30.00")
    captures = [r for r in stripe_standin.mutating() if r.path.endswith("/capture")]
    assert len(captures) == 1
    assert captures[0].params["amount_to_capture"] == "3000"
    assert captures[0].headers["idempotency-key"] == f"agora-{payment.public_id}-capture"
    assert status_signals == [("pending", "authorized"), ("authorized", "captured")]


def test_voiding_cancels_the_payment_intent(stripe_standin):
    payment = paid(method="stripe_card:pm_card_visa", capture=False)

    voided = services.void_payment(payment=payment)

    assert voided.status == "voided"
    assert stripe_standin.intents[payment.gateway_reference]["status"] == "canceled"
    assert all("idempotency-key" in r.headers for r in stripe_standin.mutating())


@pytest.mark.parametrize(
    ("card", "code"),
    [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")],
)
def test_a_declined_card_fails_the_payment(stripe_standin, card, code):
    payment = paid(method=f"stripe_card:{card}")

    assert payment.status == "failed"
    assert payment.failure_code == code
    assert payment.failure_message.startswith("Your card")
    assert payment.gateway_reference.startswith("pi_")


def test_a_browser_confirmation_waits_for_the_shopper_with_a_client_secret(stripe_standin):
    payment = paid(method="stripe_card")

    assert payment.status == "requires_action"
    assert payment.client_secret == f"{payment.gateway_reference}_secret_standin"
    three_d_secure = paid(method="stripe_card:pm_card_authenticationRequired")
    assert three_d_secure.status == "requires_action"
    assert three_d_secure.client_secret


def test_a_method_stripe_does_not_offer_is_refused(stripe_standin):
    with pytest.raises(PaymentInvalid) as exc:
        paid(method="sandbox_card")
    assert "stripe_card" in exc.value.message
    with pytest.raises(PaymentInvalid):
        paid(method="stripe_card:tok_visa")
    assert not stripe_standin.requests


def test_methods_offer_a_card_with_the_publishable_key(stripe_standin, api):
    [card] = services.payment_methods()
    assert (card.code, card.publishable_key, card.test) == ("stripe_card", "pk_test_standin", True)
    body = api.call("GET", "payments/methods").json()
    assert body["gateway"] == "stripe"
    assert body["methods"][0]["publishable_key"] == "pk_test_standin"


# --- timeouts -----------------------------------------------------------------------------------
def test_a_timeout_is_unknown_and_reconcile_replays_the_create_with_its_key(stripe_standin):
    stripe_standin.slow_seconds = 2.0  # the client gives up after 1 s

    payment = paid(method="stripe_card:pm_card_slow")

    assert payment.status == "unknown"
    assert payment.gateway_reference == ""
    assert len(stripe_standin.intents) == 1  # Stripe did create and charge it

    settled = services.reconcile_payment(payment=payment)

    assert settled.status == "captured"
    assert settled.gateway_reference in stripe_standin.intents
    assert len(stripe_standin.intents) == 1  # the replay returned the first answer: one charge
    creates = [r for r in stripe_standin.mutating() if r.path == "/v1/payment_intents"]
    assert {r.headers["idempotency-key"] for r in creates} == {f"agora-{payment.public_id}-authorize"}


def test_reconcile_retrieves_a_known_payment_intent(stripe_standin):
    payment = paid(method="stripe_card")
    stripe_standin.intents[payment.gateway_reference].update(status="succeeded", amount_received=5000)

    assert services.reconcile_payment(payment=payment).status == "captured"
    assert stripe_standin.requests[-1].method == "GET"


def test_an_unknown_payment_past_the_key_lifetime_is_not_replayed(stripe_standin):
    payment = Payment.objects.create(
        amount=Decimal("5.00"),
        currency="EUR",
        method="stripe_card",
        gateway="stripe",
        reference="x",
        idempotency_key="old",
        status="unknown",
        created_at=timezone.now() - timedelta(days=2),
    )

    assert services.reconcile_payment(payment=payment).status == "failed"
    assert not stripe_standin.requests


# --- refunds ------------------------------------------------------------------------------------
def test_refunds_go_to_stripe_and_never_beyond_what_was_captured(stripe_standin):
    payment = paid(amount="30.00", method="stripe_card:pm_card_visa")

    refund = services.refund_payment(payment=payment, amount=Decimal("12.50"), reason="Late", idempotency_key="r1")

    assert refund.status == "succeeded"
    stripe_refund = stripe_standin.refunds[refund.gateway_reference]
    assert (stripe_refund["amount"], stripe_refund["metadata"]["refund"]) == (1250, refund.public_id)
    with pytest.raises(RefundTooLarge):
        services.refund_payment(payment=payment, amount=Decimal("17.51"), reason="", idempotency_key="r2")
    services.refund_payment(payment=payment, amount=Decimal("17.50"), reason="", idempotency_key="r3")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("30.00"))
    assert len(stripe_standin.refunds) == 2


def test_capturing_a_declined_payment_is_refused(stripe_standin):
    payment = paid(method="stripe_card:pm_card_chargeDeclined")
    with pytest.raises(PaymentStateError):
        services.capture_payment(payment=payment)


# --- webhooks -----------------------------------------------------------------------------------
def test_a_signed_webhook_settles_a_browser_payment_and_a_replay_changes_nothing(
    stripe_standin, client, status_signals
):
    payment = paid(amount="25.00", method="stripe_card")
    intent = stripe_standin.intents[payment.gateway_reference]
    intent.update(status="succeeded", amount_received=2500)
    payload = stripe_standin.event("payment_intent.succeeded", stripe_standin.intent(intent["id"]), event_id="evt_1")

    response = post_event(client, payload)
    replay = post_event(client, payload)

    assert (response.status_code, response.json()["outcome"]) == (200, "processed")
    assert (replay.status_code, replay.json()["outcome"]) == (200, "duplicate")
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", Decimal("25.00"))
    assert status_signals == [("pending", "requires_action"), ("requires_action", "captured")]
    assert StripeEvent.objects.get().payment == payment
    assert payment.events.last().source == "webhook"


def test_a_bad_signature_is_a_400_and_records_nothing(stripe_standin, client):
    payment = paid(method="stripe_card")
    stripe_standin.intents[payment.gateway_reference].update(status="succeeded", amount_received=5000)
    payload = stripe_standin.event("payment_intent.succeeded", stripe_standin.intent(payment.gateway_reference))

    forged = post_event(client, payload, sign(payload, "whsec_someone_else"))
    missing = post_event(client, payload, "")
    tampered = post_event(client, payload.replace(b"5000", b"9999"), sign(payload, WEBHOOK_SECRET))

    for response in (forged, missing, tampered):
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_signature"
        assert "STRIPE_WEBHOOK_SECRET" in response.json()["detail"]
    payment.refresh_from_db()
    assert payment.status == "requires_action"
    assert not StripeEvent.objects.exists()


def test_a_webhook_older_than_the_tolerance_is_refused(stripe_standin, client):
    payload = stripe_standin.event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    old = sign(payload, WEBHOOK_SECRET, timestamp=int(timezone.now().timestamp()) - 3600)
    assert post_event(client, payload, old).status_code == 400


def test_webhooks_are_not_accepted_without_a_secret(stripe_standin, client, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = stripe_standin.event("payment_intent.succeeded", {"id": "pi_x"})
    response = post_event(client, payload)
    assert response.status_code == 503
    assert client.get(WEBHOOK).status_code == 405


def test_authorisation_failure_and_cancel_webhooks(stripe_standin, client):
    authorised = paid(method="stripe_card")
    pi = stripe_standin.intents[authorised.gateway_reference]
    pi.update(status="requires_capture", amount_capturable=pi["amount"])
    post_event(
        client, stripe_standin.event("payment_intent.amount_capturable_updated", stripe_standin.intent(pi["id"]))
    )
    authorised.refresh_from_db()
    assert authorised.status == "authorized"

    pi.update(status="canceled")
    post_event(client, stripe_standin.event("payment_intent.canceled", stripe_standin.intent(pi["id"])))
    authorised.refresh_from_db()
    assert authorised.status == "voided"

    # A declined attempt in the browser: the shopper may try another card, so the payment still waits.
    waiting = paid(method="stripe_card")
    pi2 = stripe_standin.intents[waiting.gateway_reference]
    pi2["last_payment_error"] = {"code": "card_declined", "decline_code": "do_not_honor", "message": "Declined."}
    post_event(client, stripe_standin.event("payment_intent.payment_failed", stripe_standin.intent(pi2["id"])))
    waiting.refresh_from_db()
    assert (waiting.status, waiting.failure_code) == ("requires_action", "do_not_honor")


def test_a_stale_event_does_not_move_a_captured_payment_back(stripe_standin, client):
    payment = paid(method="stripe_card:pm_card_visa", capture=False)
    authorised_snapshot = stripe_standin.intent(payment.gateway_reference)
    services.capture_payment(payment=payment)

    post_event(client, stripe_standin.event("payment_intent.amount_capturable_updated", authorised_snapshot))

    payment.refresh_from_db()
    assert payment.status == "captured"


def test_a_payment_whose_create_answer_was_lost_is_found_by_its_metadata(stripe_standin, client):
    stripe_standin.slow_seconds = 2.0
    payment = paid(method="stripe_card:pm_card_slow")
    assert payment.gateway_reference == ""
    [intent_id] = stripe_standin.intents

    post_event(client, stripe_standin.event("payment_intent.succeeded", stripe_standin.intent(intent_id)))

    payment.refresh_from_db()
    assert (payment.status, payment.gateway_reference) == ("captured", intent_id)


def test_a_refund_made_in_the_dashboard_arrives_by_webhook(stripe_standin, client):
    payment = paid(amount="30.00", method="stripe_card:pm_card_visa")
    services.refund_payment(payment=payment, amount=Decimal("10.00"), reason="Ours", idempotency_key="r1")
    stripe_standin.refund_outside(payment.gateway_reference, 500)
    charge = stripe_standin.intent(payment.gateway_reference, expand_charge=True)["latest_charge"]

    response = post_event(client, stripe_standin.event("charge.refunded", charge, event_id="evt_refund"))
    post_event(client, stripe_standin.event("charge.refunded", charge, event_id="evt_refund"))

    assert response.json()["outcome"] == "processed"
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("15.00"))
    outside = Refund.objects.exclude(idempotency_key="r1").get()
    assert (outside.amount, outside.status) == (Decimal("5.00"), "succeeded")
    with pytest.raises(RefundTooLarge):
        services.refund_payment(payment=payment, amount=Decimal("15.01"), reason="", idempotency_key="r2")


def test_an_event_about_something_else_is_acknowledged_and_ignored(stripe_standin, client):
    payload = stripe_standin.event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(client, payload)
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert post_event(client, b"not json", sign(b"not json", WEBHOOK_SECRET)).status_code == 400


def test_the_webhook_body_is_json_with_the_event_outcome(stripe_standin, client):
    payload = stripe_standin.event("payment_intent.succeeded", {"id": "pi_unknown", "object": "payment_intent"})
    response = post_event(client, payload)
    assert json.loads(response.content) == {"received": True, "outcome": "ignored"}


def test_a_refund_event_stripe_cannot_be_asked_about_is_left_for_stripe_to_retry(stripe_standin, client, settings):
    payment = paid(amount="30.00", method="stripe_card:pm_card_visa")
    stripe_standin.refund_outside(payment.gateway_reference, 500)
    charge = stripe_standin.intent(payment.gateway_reference, expand_charge=True)["latest_charge"]
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    response = post_event(client, stripe_standin.event("charge.refunded", charge, event_id="evt_later"))

    assert response.status_code == 503
    assert not StripeEvent.objects.exists()  # the redelivery will be applied
    settings.STRIPE_API_BASE = stripe_standin.url
    assert post_event(client, stripe_standin.event("charge.refunded", charge, event_id="evt_later")).status_code == 200
    payment.refresh_from_db()
    assert payment.refunded_amount == Decimal("5.00")
