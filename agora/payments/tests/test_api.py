"""Payments over the API (methods, a payer's payment, the operator's reconcile) and in the back office."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.payments import services
from agora.payments.models import Payment, SandboxCharge
from agora.payments.tests.factories import paid

pytestmark = pytest.mark.django_db


def test_methods_are_public_and_list_the_sandbox_test_cards(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(0):
        response = api.call("GET", "payments/methods")

    assert response.status_code == 200
    body = response.json()
    assert body["gateway"] == "sandbox"
    assert [m["code"] for m in body["methods"]] == [
        "sandbox_card",
        "sandbox_decline",
        "sandbox_insufficient_funds",
        "sandbox_timeout",
    ]
    assert body["methods"][0] == {
        "code": "sandbox_card",
        "label": "Test card",
        "description": "Always approved. No money moves.",
        "gateway": "sandbox",
        "test": True,
        "publishable_key": None,
    }


def test_the_payer_sees_their_payment_with_its_refunds(api_as, django_assert_max_num_queries):
    shopper = UserFactory()
    payment = paid(amount="30.00", payer=shopper)
    services.refund_payment(payment=payment, amount=Decimal("10.00"), reason="Damaged", idempotency_key="r1")
    client = api_as(shopper)

    with django_assert_max_num_queries(6):
        response = client.call("GET", f"payments/{payment.public_id}")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body[k] for k in ("id", "status", "amount", "captured_amount", "refunded_amount", "currency")} == {
        "id": payment.public_id,
        "status": "partially_refunded",
        "amount": "30.00",
        "captured_amount": "30.00",
        "refunded_amount": "10.00",
        "currency": "EUR",
    }
    assert body["client_secret"] is None
    assert [(r["amount"], r["status"], r["reason"]) for r in body["refunds"]] == [("10.00", "succeeded", "Damaged")]


def test_nobody_else_sees_a_payment(api, api_as):
    payment = paid(payer=UserFactory())

    assert api_as(UserFactory()).call("GET", f"payments/{payment.public_id}").status_code == 404
    assert api.call("GET", f"payments/{payment.public_id}").status_code == 401
    assert api_as(UserFactory()).call("GET", "payments/pay_nope").json()["code"] == "payment_not_found"
    guest = paid(payer=None)
    assert api_as(UserFactory()).call("GET", f"payments/{guest.public_id}").status_code == 404


def test_the_operator_reconciles_a_payment_and_others_cannot(api_as):
    shopper = UserFactory()
    payment = paid(method="sandbox_timeout", payer=shopper)
    operator = UserFactory(is_staff=True)

    assert api_as(shopper).call("POST", f"payments/{payment.public_id}/reconcile").status_code == 403
    assert api_as(UserFactory()).call("POST", f"payments/{payment.public_id}/reconcile").status_code == 404
    payment.refresh_from_db()
    assert payment.status == "unknown"

    response = api_as(operator).call("POST", f"payments/{payment.public_id}/reconcile")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "captured"
    assert api_as(operator).call("GET", f"payments/{payment.public_id}").json()["status"] == "captured"


def test_the_client_secret_is_shown_only_to_the_payer_while_it_waits(api_as):
    shopper = UserFactory()
    payment = paid(payer=shopper)
    Payment.objects.filter(pk=payment.pk).update(status="requires_action", client_secret="pi_1_secret_2")

    assert api_as(shopper).call("GET", f"payments/{payment.public_id}").json()["client_secret"] == "pi_1_secret_2"
    operator = UserFactory(is_staff=True)
    assert api_as(operator).call("GET", f"payments/{payment.public_id}").json()["client_secret"] is None


# --- back office ----------------------------------------------------------------------------------
@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_back_office_lists_payments_read_only_with_filters(operator_client, django_assert_max_num_queries):
    for _ in range(5):
        paid(payer=UserFactory())
    paid(method="sandbox_decline")

    with django_assert_max_num_queries(12):
        page = operator_client.get("/admin/payments/payment/")
    assert page.status_code == 200
    assert page.content.count(b"pay_") >= 6
    failed = operator_client.get("/admin/payments/payment/?status__exact=failed")
    assert failed.content.count(b'class="field-public_id"') == 1
    payment = Payment.objects.first()
    detail = operator_client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert detail.status_code == 200
    assert b"client_secret" not in detail.content
    assert operator_client.get("/admin/payments/payment/add/").status_code == 403
    for path in ("refund", "stripeevent", "sandboxcharge", "paymentevent"):
        response = operator_client.get(f"/admin/payments/{path}/")
        assert response.status_code in (200, 404), path
    assert operator_client.get("/admin/idempotency/idempotencyrecord/").status_code == 200


def test_the_back_office_reconciles_selected_payments(operator_client):
    payment = paid(method="sandbox_timeout")

    response = operator_client.post(
        "/admin/payments/payment/", {"action": "reconcile", "_selected_action": [payment.pk]}, follow=True
    )

    assert response.status_code == 200
    assert b"1 payment reconciled." in response.content
    payment.refresh_from_db()
    assert payment.status == "captured"
    assert SandboxCharge.objects.count() == 1
