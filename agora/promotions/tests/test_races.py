"""A flash deal under a rush, on PostgreSQL: K units and 200 buyers at once sell exactly K.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/agora_flash``; skipped on SQLite (one writer at a time
would make it pass trivially, ADR 0001).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.tests.test_races import assert_only, race, split
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import Order, OrderStatus
from agora.payments.models import Payment, PaymentStatus, SandboxCharge
from agora.promotions.errors import FlashDealNotLive
from agora.promotions.models import FlashClaim, FlashDeal
from agora.promotions.tests.factories import buy_deal, flash_deal

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]


def test_two_hundred_buyers_for_seven_units() -> None:
    deal = flash_deal(stock=50, quantity=7, price="30.00", deal_price="9.00")
    buyers = UserFactory.create_batch(200)
    deals = [FlashDeal.objects.get(pk=deal.pk) for _ in buyers]  # one instance per thread, read before the race

    def prepare(i: int) -> Callable[[], Any]:
        # No query here: 200 threads share the connection pool, and only the purchase itself should race.
        user, own = buyers[i], deals[i]
        return lambda: buy_deal(user, own, 1)

    winners, errors = split(race(200, prepare))

    assert len(winners) == 7
    assert_only(errors, FlashDealNotLive)
    assert all(e.code == "sold_out" for e in errors)  # type: ignore[attr-defined]
    assert FlashDeal.objects.get(pk=deal.pk).sold == 7
    assert Variant.objects.get(pk=deal.variant_id).stock_quantity == 50 - 7
    assert Order.objects.count() == 7
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert FlashClaim.objects.filter(released=False).count() == 7
    assert len({c.user_id for c in FlashClaim.objects.all()}) == 7
    # Nobody charged without an order: one captured payment per order, none for the others.
    assert Payment.objects.count() == 7 == SandboxCharge.objects.count()
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.CAPTURED}
    assert set(Order.objects.values_list("payment_id", flat=True)) == set(Payment.objects.values_list("pk", flat=True))
    assert ledger_is_balanced()
