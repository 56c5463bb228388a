"""Flash deals: creating them, the live window and early access, limits, selling out, and units given back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.errors import NotAuthenticated
from agora.ledger.selectors import ledger_is_balanced
from agora.orders import services as order_services
from agora.orders.errors import PaymentDeclined
from agora.orders.models import Order, OrderLine, OrderStatus
from agora.orders.tests.factories import buy, selling_shop, variant_for_sale
from agora.payments.models import Payment, PaymentStatus
from agora.promotions import selectors, services
from agora.promotions.errors import FlashDealInvalid, FlashDealNotLive, FlashLimitReached
from agora.promotions.models import FlashClaim, FlashDeal
from agora.promotions.tests.factories import buy_deal, flash_deal
from agora.shops.models import Role
from agora.shops.selectors import ShopPermissionDenied
from agora.shops.tests.factories import MembershipFactory
from agora.social import services as social_services

pytestmark = pytest.mark.django_db


def _deal(deal: FlashDeal) -> FlashDeal:
    return FlashDeal.objects.get(pk=deal.pk)


# --- creating --------------------------------------------------------------------------
def test_create_checks_the_rules_and_the_role():
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00", stock=3)
    start = timezone.now() + timedelta(hours=1)
    ok = {
        "variant_id": variant.pk,
        "deal_price": "15.00",
        "quantity": 10,
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
    }

    def create(actor=owner, **changes):  # type: ignore[no-untyped-def]
        return services.create_flash_deal(actor=actor, shop=shop, **{**ok, **changes})

    for changes, field in [
        ({"deal_price": "20.00"}, "deal_price"),  # not lower than the usual price
        ({"deal_price": "0"}, "deal_price"),
        ({"quantity": 0}, "quantity"),
        ({"ends_at": start}, "ends_at"),
        ({"early_access": "followers"}, "early_minutes"),  # how early is required
        ({"early_access": "friends", "early_minutes": 5}, "early_access"),
        ({"early_access": "followers", "early_minutes": 1441}, "early_minutes"),
        ({"variant_id": variant_for_sale(price="20.00").pk}, "variant_id"),  # another shop's variant
    ]:
        with pytest.raises(FlashDealInvalid) as err:
            create(**changes)
        assert err.value.field == field, changes
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    with pytest.raises(ShopPermissionDenied):
        create(actor=support)
    with pytest.raises(ShopPermissionDenied):
        create(actor=UserFactory())
    assert not FlashDeal.objects.exists()

    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    # Quantity above the stock is allowed: the stock may be counted up before the deal starts.
    deal = create(actor=manager, early_access="followers", early_minutes=15)
    assert (deal.deal_price, deal.quantity, deal.currency, deal.early_minutes) == (Decimal("15.00"), 10, "EUR", 15)
    # Overlapping the early window of the first deal on the same variant is refused; after it ends is fine.
    with pytest.raises(FlashDealInvalid) as err:
        create(
            starts_at=start + timedelta(hours=1, minutes=10),
            ends_at=start + timedelta(hours=3),
            early_access="followers",
            early_minutes=15,
        )
    assert err.value.code == "flash_deal_overlaps"
    create(starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=2))


def test_update_and_end():
    deal = flash_deal(quantity=5)
    owner = deal.created_by
    buy_deal(UserFactory(), deal, 1)
    with pytest.raises(FlashDealInvalid):
        services.update_flash_deal(actor=owner, deal=deal, quantity=0)  # below the unit sold
    with pytest.raises(ShopPermissionDenied):
        services.update_flash_deal(actor=UserFactory(), deal=deal, quantity=9)
    updated = services.update_flash_deal(actor=owner, deal=deal, quantity=9, deal_price="11.00")
    assert (_deal(deal).quantity, _deal(deal).deal_price, _deal(deal).sold) == (9, Decimal("11.00"), 1)
    assert updated.quantity == 9
    services.end_flash_deal(actor=owner, deal=deal)
    services.end_flash_deal(actor=owner, deal=deal)  # twice is fine
    assert not _deal(deal).is_active
    with pytest.raises(FlashDealNotLive):
        buy_deal(UserFactory(), deal)
    with pytest.raises(FlashDealNotLive):
        services.update_flash_deal(actor=owner, deal=deal, quantity=10)


# --- buying ----------------------------------------------------------------------------
def test_buy_pays_the_deal_price_and_the_ledger_balances():
    deal = flash_deal(price="20.00", deal_price="12.50", stock=10, quantity=5, per_user_limit=3)
    buyer = UserFactory()
    checkout = buy_deal(buyer, deal, 2)
    order = Order.objects.get(checkout=checkout)
    line = OrderLine.objects.get(order=order)
    assert order.status == OrderStatus.PAID and checkout.purpose == "flash" and not checkout.authorise_only
    assert (line.unit_price, line.quantity, line.price_note) == (Decimal("12.50"), 2, "Flash deal")
    assert order.total == Decimal("25.00") + order.delivery_cost
    payment = Payment.objects.get(pk=order.payment_id)
    assert payment.status == PaymentStatus.CAPTURED and payment.amount == order.total
    assert (_deal(deal).sold, Variant.objects.get(pk=deal.variant_id).stock_quantity) == (2, 8)
    assert FlashClaim.objects.get(order=order).quantity == 2
    assert ledger_is_balanced()
    with pytest.raises(NotAuthenticated):
        services.buy_flash_deal(actor=None, deal=deal, quantity=1, address={}, payment_method="sandbox_card")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("starts_in", "lasts", "code"),
    [
        (timedelta(minutes=10), timedelta(hours=1), "flash_deal_not_started"),
        (timedelta(hours=-2), timedelta(hours=1), "flash_deal_over"),
    ],
)
def test_nothing_is_sold_outside_the_window(starts_in, lasts, code):
    deal = flash_deal(quantity=3)
    # Move the window (the service refuses a past end at creation; the clock moves on in real life).
    FlashDeal.objects.filter(pk=deal.pk).update(
        starts_at=timezone.now() + starts_in, ends_at=timezone.now() + starts_in + lasts
    )
    with pytest.raises(FlashDealNotLive) as err:
        buy_deal(UserFactory(), _deal(deal))
    assert err.value.code == code and err.value.status == 409
    assert not Order.objects.exists() and _deal(deal).sold == 0


@pytest.mark.parametrize("kind", ["followers", "best_customers"])
def test_early_access_opens_only_for_followers_or_best_customers(kind):
    shop, owner = selling_shop()
    deal = flash_deal(
        shop=shop, owner=owner, starts_in=timedelta(minutes=10), early_access=kind, early_minutes=15, quantity=5
    )
    insider, outsider = UserFactory(), UserFactory()
    if kind == "followers":
        social_services.follow_shop(actor=insider, shop=shop)
        buy(outsider, (variant_for_sale(shop), 1))
        buy(outsider, (variant_for_sale(shop), 1))  # a good customer, but not a follower
    else:
        other = variant_for_sale(shop, price="5.00")
        buy(insider, (other, 1))
        buy(insider, (other, 1))  # AGORA_BEST_CUSTOMER_MIN_ORDERS = 2
        buy(outsider, (other, 1))
        social_services.follow_shop(actor=outsider, shop=shop)  # a follower, not a best customer
    assert selectors.deal_state(deal, insider).status == selectors.EARLY
    assert selectors.deal_state(deal, insider).can_buy
    state = selectors.deal_state(deal, outsider)
    assert not state.can_buy and state.starts_in is not None and state.code == "flash_deal_early_access"

    with pytest.raises(FlashDealNotLive) as err:
        buy_deal(outsider, deal)
    assert err.value.code == "flash_deal_early_access"
    checkout = buy_deal(insider, deal)
    assert Order.objects.get(checkout=checkout).status == OrderStatus.PAID

    # Before the early window nobody gets in.
    FlashDeal.objects.filter(pk=deal.pk).update(starts_at=timezone.now() + timedelta(minutes=30))
    with pytest.raises(FlashDealNotLive) as err:
        buy_deal(insider, _deal(deal))
    assert err.value.code == "flash_deal_not_started"
    # At the start everyone does.
    FlashDeal.objects.filter(pk=deal.pk).update(starts_at=timezone.now() - timedelta(seconds=1))
    buy_deal(outsider, _deal(deal))
    assert _deal(deal).sold == 2


def test_limit_per_buyer_counts_what_they_hold():
    deal = flash_deal(quantity=10, per_user_limit=2)
    buyer = UserFactory()
    with pytest.raises(FlashLimitReached):
        buy_deal(buyer, deal, 3)
    buy_deal(buyer, deal, 1)
    with pytest.raises(FlashLimitReached) as err:
        buy_deal(buyer, deal, 2)
    assert err.value.status == 409 and err.value.extra["may_still_buy"] == 1
    buy_deal(buyer, deal, 1)
    assert _deal(deal).sold == 2 and Order.objects.filter(buyer=buyer).count() == 2


def test_sold_out_at_the_deal_price_while_stock_remains():
    deal = flash_deal(stock=10, quantity=2, per_user_limit=2)
    buy_deal(UserFactory(), deal, 1)
    with pytest.raises(FlashDealNotLive) as err:
        buy_deal(UserFactory(), deal, 2)
    assert err.value.code == "sold_out" and err.value.extra["left"] == 1
    buy_deal(UserFactory(), deal, 1)
    with pytest.raises(FlashDealNotLive) as err:
        buy_deal(UserFactory(), deal, 1)
    assert err.value.code == "sold_out"
    assert Variant.objects.get(pk=deal.variant_id).stock_quantity == 8  # the rest sells at the usual price
    assert Order.objects.count() == 2
    assert selectors.deal_state(_deal(deal)).status == selectors.SOLD_OUT


def test_an_order_closed_unpaid_gives_its_units_back_once(balanced):
    deal = flash_deal(stock=5, quantity=2, per_user_limit=2)
    buyer = UserFactory()
    with pytest.raises(PaymentDeclined):
        buy_deal(buyer, deal, 2, method="sandbox_decline")
    assert _deal(deal).sold == 0
    assert FlashClaim.objects.get().released
    assert Variant.objects.get(pk=deal.variant_id).stock_quantity == 5
    # An order left unpaid (the gateway did not answer) holds its units until it is cancelled.
    checkout = buy_deal(buyer, deal, 2, method="sandbox_timeout")
    order = Order.objects.get(checkout=checkout)
    assert order.status == OrderStatus.PLACED and _deal(deal).sold == 2
    assert order_services.cancel_placed_order(order, note="test")
    assert not order_services.cancel_placed_order(order, note="again")
    assert _deal(deal).sold == 0 and Variant.objects.get(pk=deal.variant_id).stock_quantity == 5
    # The released claims no longer count against the buyer's limit.
    buy_deal(buyer, deal, 2)
    assert _deal(deal).sold == 2
