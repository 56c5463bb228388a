"""The payments endpoints under /api/v1/."""

# No `from __future__ import annotations` here: ninja reads the parameter annotations at import time.
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from agora.api.auth import OPTIONAL_AUTH, OPTIONAL_SECURITY, user_of
from agora.api.schemas import Text, responses
from agora.core.errors import PermissionDenied
from agora.payments import selectors, services
from agora.payments.models import Payment
from agora.payments.schemas import PaymentMethodsOut, PaymentOut

router = Router(tags=["payments"])
PUBLIC: dict[str, Any] = {"auth": OPTIONAL_AUTH, "openapi_extra": OPTIONAL_SECURITY}


def _shown_to(payment: Payment, user: Any) -> Payment:
    # The client secret lets its holder confirm the payment: only the payer's browser needs it.
    if payment.payer_id != user.pk:
        payment.client_secret = ""
    return payment


@router.get("payments/methods", **PUBLIC, response=responses({200: PaymentMethodsOut}))
def payment_methods(request: HttpRequest) -> dict[str, Any]:
    """The payment methods checkout offers (`code` goes into the checkout's `payment_method`).

    With the sandbox gateway these are test cards that approve, decline or time out; with Stripe, a card
    with the publishable key for Stripe.js.
    """
    return {"gateway": settings.AGORA_PAYMENT_GATEWAY, "methods": services.payment_methods()}


@router.get("payments/{public_id}", response=responses({200: PaymentOut}))
def get_payment(request: HttpRequest, public_id: Text) -> Payment:
    """A payment of yours: status, amounts, refunds. Stripe: `client_secret` while it waits for you."""
    user = user_of(request)
    return _shown_to(selectors.get_payment(public_id=public_id[:40], viewer=user), user)


@router.post("payments/{public_id}/reconcile", response=responses({200: PaymentOut}))
def reconcile_payment(request: HttpRequest, public_id: Text) -> Payment:
    """The operator asks the gateway what really happened to a payment and records it (also pending refunds)."""
    user = user_of(request)
    payment = selectors.get_payment(public_id=public_id[:40], viewer=user)
    if not selectors.is_operator(user):
        raise PermissionDenied(_("Only the operator's staff can reconcile payments."))
    services.reconcile_payment(payment=payment)
    return _shown_to(selectors.get_payment(public_id=payment.public_id, viewer=user), user)
