"""What team purchases do when other apps' things happen (orders closed unpaid, payments settled)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from agora.orders.models import Order
from agora.orders.signals import order_closed_unpaid
from agora.payments.models import Payment, PaymentStatus
from agora.payments.signals import payment_status_changed


@receiver(order_closed_unpaid, dispatch_uid="groupbuy.release_member")
def release_member(
    sender: type[Order], orders: list[Order], status: str = "", role: str = "system", **kwargs: Any
) -> None:
    # Inside the transaction that cancels or expires the orders: the seats and the deals' units come back with
    # their stock, or not at all. A buyer or staff cancelling a member's order that its complete team is charging
    # is refused (TeamOrderCharging rolls the cancel back).
    from agora.groupbuy.services import release_members_for_orders

    release_members_for_orders(orders=orders, status=status, by_system=role == "system")


@receiver(payment_status_changed, dispatch_uid="groupbuy.confirm_member")
def confirm_on_authorisation(sender: Any, payment: Payment, previous: str = "", **kwargs: Any) -> None:
    # Only team purchases authorise without capturing. The member is confirmed after the payment's transaction
    # commits (orders links the payment to its checkout in that same transaction), so an authorisation that
    # arrives late (Stripe's confirmation in the browser, then the webhook; a reconciliation) counts too.
    if payment.capture or payment.status != PaymentStatus.AUTHORIZED:
        return
    payment_id = payment.pk

    def confirm() -> None:
        from agora.groupbuy import services

        found = Payment.objects.filter(pk=payment_id).first()
        if found is None:
            return
        for member_id in services.member_ids_for_payment(found):
            services.confirm_member(member_id)

    transaction.on_commit(confirm, robust=True)
