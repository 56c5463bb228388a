"""What orders does when other apps' things happen: a payment or a refund changed status, a shopper signed in."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from agora.accounts.models import User
from agora.payments.models import Payment, Refund
from agora.payments.signals import payment_status_changed, refund_status_changed


@receiver(payment_status_changed, dispatch_uid="orders.payment_status_changed")
def on_payment_status_changed(sender: Any, payment: Payment, previous: str = "", **kwargs: Any) -> None:
    # Inside the payment's transaction: the orders become paid (or not) together with the payment.
    from agora.orders.services import apply_payment

    apply_payment(payment)


@receiver(refund_status_changed, dispatch_uid="orders.refund_status_changed")
def on_refund_status_changed(sender: Any, refund: Refund, previous: str = "", **kwargs: Any) -> None:
    # Inside the payment's transaction: a refund the gateway settled (or made outside Agora) reaches the orders.
    from agora.orders.services import apply_gateway_refund

    apply_gateway_refund(refund)


@receiver(user_logged_in, dispatch_uid="orders.merge_guest_cart")
def merge_guest_cart_at_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """The guest cart of this browser joins the user's cart when they sign in on the web."""
    from agora.orders.selectors import CART_SESSION_KEY
    from agora.orders.services import merge_carts

    session = getattr(request, "session", None)
    if session is None:
        return
    token = session.get(CART_SESSION_KEY)
    if token:
        merge_carts(user=user, token=str(token))
        session.pop(CART_SESSION_KEY, None)
