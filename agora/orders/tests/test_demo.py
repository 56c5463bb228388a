"""Demo orders: the demo shopper has orders in several states, other people bought things, nothing was sent."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.management import call_command

from agora.accounts.models import User
from agora.core.demo.plan import DEMO_USERNAME
from agora.ledger.selectors import ledger_is_balanced
from agora.notifications.models import Notification
from agora.orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


def test_demo_places_orders_quietly(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=io.StringIO(), stderr=io.StringIO(), products=40, users=8, seed=3)
    demo = User.objects.get(username__iexact=DEMO_USERNAME)
    statuses = set(Order.objects.filter(buyer=demo).values_list("status", flat=True))
    assert {OrderStatus.DELIVERED, OrderStatus.SHIPPED, OrderStatus.PAID} <= statuses
    assert Order.objects.exclude(buyer=demo).filter(status=OrderStatus.PAID).exists()
    # Team orders wait, authorised, for their teams to fill; nothing else is left unpaid.
    assert not Order.objects.filter(status=OrderStatus.PLACED).exclude(checkout__purpose="team").exists()
    assert ledger_is_balanced()
    assert not Notification.objects.filter(kind__startswith="order.").exists()
    assert not [m for m in mail.outbox if "rder" in m.subject]
