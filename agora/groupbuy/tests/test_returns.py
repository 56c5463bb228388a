"""A team order goes on like any paid order: shipped, delivered, returned, with the books balanced throughout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agora.catalog.models import Variant
from agora.groupbuy.models import MemberStatus, TeamStatus
from agora.groupbuy.tests.factories import group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services as orders
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import selling_shop
from agora.payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db


def test_a_returned_team_order_is_refunded_restocked_and_the_ledger_balances(
    django_capture_on_commit_callbacks: Any,
) -> None:
    shop, owner = selling_shop()
    deal = group_deal(shop=shop, owner=owner, stock=10)
    leader = start(deal)
    with django_capture_on_commit_callbacks(execute=True):
        join(team_of(leader))
    assert team_of(leader).status == TeamStatus.SUCCEEDED
    assert ledger_is_balanced()

    order = Order.objects.get(pk=leader.order_id)
    assert order.status == OrderStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        orders.ship_order(actor=owner, order=order, tracking_number="TRACK-1")
        orders.mark_delivered(actor=owner, order=order)
        orders.request_return(actor=leader.user, order=order, reason="Too small")
        orders.accept_return(actor=owner, order=order)
    assert ledger_is_balanced()

    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED and order.refunded_amount == order.total == Decimal("19.90")
    payment = Payment.objects.get(pk=order.payment_id)
    assert payment.status == PaymentStatus.REFUNDED and payment.refunded_amount == Decimal("19.90")
    # Two units left for the team, one came back.
    assert Variant.objects.get(product_id=deal.product_id).stock_quantity == 9
    # The membership stays charged: the team succeeded, the return is the order's own story.
    leader.refresh_from_db()
    assert leader.status == MemberStatus.CAPTURED
