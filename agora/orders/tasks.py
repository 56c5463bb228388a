"""Background work of orders: telling people what happened, expiring unpaid orders, settling stray payments."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from agora.core.money import format_money
from agora.orders.models import Order, OrderEvent, OrderStatus
from agora.shops.models import Membership
from agora.shops.permissions import ShopAction, role_allows

S = OrderStatus

# What the shopper is told at each status (the title; the body adds the order's details).
BUYER_TITLES: dict[str, str] = {
    S.PAID: gettext_noop("Order %(number)s confirmed"),
    S.SHIPPED: gettext_noop("Order %(number)s has shipped"),
    S.DELIVERED: gettext_noop("Order %(number)s was delivered"),
    S.CANCELLED: gettext_noop("Order %(number)s was cancelled"),
    S.EXPIRED: gettext_noop("Order %(number)s expired unpaid"),
    S.PARTIALLY_REFUNDED: gettext_noop("Part of order %(number)s was refunded"),
    S.REFUNDED: gettext_noop("Order %(number)s was refunded"),
    S.RETURNED: gettext_noop("Your return of order %(number)s was accepted"),
    S.REFUND_REQUESTED: gettext_noop("Refund requested for order %(number)s"),
    S.RETURN_REQUESTED: gettext_noop("Return requested for order %(number)s"),
}


def _url(name: str, fallback: str, **kwargs: str) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return fallback


def order_url(order: Order) -> str:
    """The shopper's page of the order (the web engineer names it "web:order")."""
    return _url("web:order", f"/orders/{order.number}/", number=order.number)


def staff_order_url(order: Order) -> str:
    return _url(
        "web:dashboard_order",
        f"/dashboard/s/{order.shop.slug}/orders/{order.number}/",
        slug=order.shop.slug,
        number=order.number,
    )


def claim_url(token: str) -> str:
    return settings.SITE_URL + _url("web:order_claim", f"/orders/claim/{token}/", token=token)


def _title(status: str, order: Order) -> str:
    template = BUYER_TITLES.get(status, "Order %(number)s: %(status)s")
    return _(template) % {"number": order.number, "status": S(status).label}


def _body(order: Order, event: OrderEvent) -> str:
    lines = [
        f"{line.quantity} × {line.title}" + (f" ({line.variant_name})" if line.variant_name else "")
        for line in order.lines.all()
    ]  # type: ignore[attr-defined]
    total = format_money(order.total, order.currency)
    parts = [_("%(shop)s — total %(total)s") % {"shop": order.shop.name, "total": total}]
    parts.extend(lines)
    if event.to_status == S.SHIPPED and order.tracking_number:
        parts.append(_("Tracking number: %(tracking)s") % {"tracking": order.tracking_number})
    if event.amount:
        parts.append(_("Amount: %(amount)s") % {"amount": format_money(event.amount, order.currency)})
    if event.note:
        parts.append(event.note)
    return "\n".join(parts)


@shared_task(name="orders.notify_order_event")
def notify_order_event(event_id: int) -> None:
    """Tell the shopper about a status change: in-app and by e-mail when signed in, by e-mail when a guest."""
    from agora.notifications.services import notify, send_email
    from agora.orders.services import claim_token

    event = (
        OrderEvent.objects.select_related("order", "order__shop", "order__buyer", "order__checkout")
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.to_status not in BUYER_TITLES:
        return
    order = event.order
    buyer = order.buyer
    language = buyer.language if buyer is not None else settings.LANGUAGE_CODE
    with translation.override(language):
        title, body = _title(event.to_status, order), _body(order, event)
        if buyer is not None:
            notify(
                buyer,
                f"order.{event.to_status}",
                title=title,
                body=body,
                url=order_url(order),
                actor=event.actor,
                email=True,
                # Celery may deliver the task twice (acks_late): the second run refreshes, it does not repeat.
                dedupe_key=f"order-event:{event.pk}",
            )
            return
        if event.to_status == S.PAID:
            link = claim_url(claim_token(order.checkout))
            body += "\n\n" + _(
                "Keep track of this order: sign in or sign up with this e-mail address and open %(link)s"
            ) % {"link": link}
        send_email(order.email, title, body)


def _staff_of(order: Order, action: ShopAction) -> list[Membership]:
    members = Membership.objects.filter(shop_id=order.shop_id).select_related("user")
    return [m for m in members if role_allows(m.role, action) and m.user.is_active]


@shared_task(name="orders.notify_shop_new_order")
def notify_shop_new_order(order_id: int) -> None:
    """A paid order reached the shop: its staff who see orders get "new order" (the owner by e-mail too)."""
    from agora.notifications.services import notify

    order = Order.objects.select_related("shop").filter(pk=order_id).first()
    if order is None:
        return
    for member in _staff_of(order, ShopAction.VIEW_ORDERS):
        with translation.override(member.user.language):
            notify(
                member.user,
                "order.new",
                title=_("New order %(number)s: %(total)s")
                % {"number": order.number, "total": format_money(order.total, order.currency)},
                body=_("%(shop)s has a new paid order to ship.") % {"shop": order.shop.name},
                url=staff_order_url(order),
                email=member.role == "owner",
            )


@shared_task(name="orders.notify_shop_request")
def notify_shop_request(order_id: int, kind: str) -> None:
    """A shopper asked for a refund or a return: the staff who may refund hear about it."""
    from agora.notifications.services import notify

    order = Order.objects.select_related("shop", "buyer").filter(pk=order_id).first()
    if order is None:
        return
    for member in _staff_of(order, ShopAction.REFUND_ORDERS):
        with translation.override(member.user.language):
            title = (
                _("Refund requested for order %(number)s")
                if kind == "refund"
                else _("Return requested for order %(number)s")
            ) % {"number": order.number}
            notify(
                member.user,
                f"order.{kind}_requested",
                title=title,
                body=order.request_reason,
                url=staff_order_url(order),
                actor=order.buyer,
            )


@shared_task(name="orders.expire_unpaid")
def expire_unpaid() -> int:
    """Every minute: cancel unpaid orders past their reservation and return their stock (and forget guest carts
    nobody touched for weeks)."""
    from agora.orders.services import expire_unpaid_orders, purge_stale_guest_carts

    expired = expire_unpaid_orders()
    purge_stale_guest_carts()
    return expired


@shared_task(name="orders.refund_unclaimed_payment", autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def refund_unclaimed_payment(payment_id: int) -> None:
    from agora.orders.services import refund_unclaimed

    refund_unclaimed(payment_id)


@shared_task(name="orders.void_unclaimed_payment", autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def void_unclaimed_payment(payment_id: int) -> None:
    # Nothing enqueues it any more (voids go by ``void_unclaimed_payments``); kept for messages queued before.
    from agora.orders.services import void_unclaimed

    void_unclaimed(payment_id)


@shared_task(name="orders.void_unclaimed_payments", autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def void_unclaimed_payments(payment_ids: list[int]) -> None:
    from agora.orders.services import void_unclaimed_payments as void

    void(payment_ids)
