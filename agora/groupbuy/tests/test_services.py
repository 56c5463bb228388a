"""Team purchases through the services: start, join, success at the tier price, failure at expiry, bad input.

Authorisations are voided after commit (and a late authorisation is confirmed after commit), so the tests run the
on-commit callbacks with ``django_capture_on_commit_callbacks(execute=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Variant
from agora.core.errors import NotAuthenticated
from agora.groupbuy import services
from agora.groupbuy.errors import (
    AlreadyInTeam,
    DealInvalid,
    DealNotLive,
    LimitReached,
    NewCustomersOnly,
    TeamClosed,
    TeamOrderCharging,
)
from agora.groupbuy.models import Audience, GroupDeal, MemberStatus, Team, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import (
    ADDRESS,
    CARD,
    DECLINE,
    expire,
    group_deal,
    join,
    start,
    team_of,
)
from agora.ledger.selectors import ledger_is_balanced
from agora.notifications.models import Notification
from agora.orders import services as orders
from agora.orders.errors import PaymentDeclined
from agora.orders.models import Order, OrderStatus
from agora.orders.tests.factories import buy, selling_shop, variant_for_sale
from agora.payments import services as payments
from agora.payments.models import Payment, PaymentEvent, PaymentStatus, Refund
from agora.shops.selectors import ShopPermissionDenied

pytestmark = pytest.mark.django_db

M, T = MemberStatus, TeamStatus


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[[], AbstractContextManager[Any]]:
    """``with commit():`` runs what waits for the commit (voids, late confirmations) at the end of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def balanced() -> Iterator[None]:
    yield
    assert ledger_is_balanced()


def kinds(user: Any) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def stock(deal: GroupDeal) -> int:
    return Variant.objects.get(product_id=deal.product_id).stock_quantity


def member(pk: int) -> TeamMember:
    return TeamMember.objects.select_related("order").get(pk=pk)


def test_start_authorises_only_and_starts_the_clock() -> None:
    deal = group_deal(stock=10, fill_hours=6)
    leader = start(deal)
    team = team_of(leader)

    assert leader.status == M.AUTHORISED and leader.is_leader and leader.is_new_customer
    assert team.status == T.OPEN and team.seats_taken == team.members_count == 1
    assert len(team.code) == 8 and set(team.code) <= set(services.CODE_ALPHABET)
    assert team.started_at is not None and team.expires_at == team.started_at + timedelta(hours=6)
    assert team.unit_price == Decimal("15.00") and (team.min_members, team.max_members) == (2, 2)
    order = leader.order
    assert order is not None and order.status == OrderStatus.PLACED and order.total == Decimal("19.90")
    line = order.lines.get()
    assert line.unit_price == Decimal("15.00") and line.price_note == "Team price"
    assert order.checkout.purpose == "team" and order.checkout.authorise_only
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.AUTHORIZED and payment.amount == Decimal("19.90")
    assert not payment.capture and payment.captured_amount == 0
    # The reservation outlives the clock, so the sweep (not the unpaid-order expiry) closes a failed team.
    assert order.reserved_until > team.expires_at
    assert stock(deal) == 9 and GroupDeal.objects.get(pk=deal.pk).units_taken == 1


def test_join_completes_the_team_and_both_are_charged(commit: Any, balanced: None) -> None:
    deal = group_deal()
    leader = start(deal)
    with commit():
        joiner = join(team_of(leader))

    team = team_of(leader)
    assert team.status == T.SUCCEEDED and team.succeeded_at is not None
    assert team.members_count == team.seats_taken == 2
    for m in (member(leader.pk), member(joiner.pk)):
        assert m.status == M.CAPTURED and m.charged_price == Decimal("15.00") and m.captured_at is not None
        assert m.order is not None and m.order.status == OrderStatus.PAID
        payment = m.order.payment
        assert payment is not None and payment.status == PaymentStatus.CAPTURED
        assert payment.captured_amount == Decimal("19.90")
    assert "team_joined" in kinds(leader.user) and "team_succeeded" in kinds(leader.user)
    assert kinds(joiner.user).count("team_succeeded") == 1 and "team_joined" not in kinds(joiner.user)
    assert Notification.objects.filter(kind="team_succeeded", url=services.team_url(team)).count() == 2
    # Running the settlement again (a redelivered task, the sweep) charges nobody twice.
    services.settle_team(team.pk)
    services.sweep()
    assert Payment.objects.filter(status=PaymentStatus.CAPTURED).count() == 2
    assert not Refund.objects.exists()


def test_a_higher_tier_refunds_earlier_members_the_difference_once(commit: Any, balanced: None) -> None:
    shop, owner = selling_shop()
    deal = group_deal(shop=shop, owner=owner, min_members=2, max_members=4, tiers=[{"members": 3, "price": "12.00"}])
    leader = start(deal)
    team = team_of(leader)
    with commit():
        second = join(team)
    assert member(second.pk).charged_price == Decimal("15.00")
    with commit():
        third = join(team_of(leader))

    team = team_of(leader)
    assert team.unit_price == Decimal("12.00") and team.members_count == 3
    # The third authorised 15.00 (+4.90) and is captured at the tier price: partial capture.
    third = member(third.pk)
    assert third.status == M.CAPTURED and third.authorised_price == Decimal("15.00")
    assert third.charged_price == Decimal("12.00") and third.amount_saved == Decimal("3.00")
    assert third.order is not None and third.order.total == Decimal("16.90")
    assert third.order.payment is not None and third.order.payment.captured_amount == Decimal("16.90")
    for early in (leader, second):
        m = member(early.pk)
        assert m.charged_price == Decimal("12.00")
        assert m.order is not None and m.order.refunded_amount == Decimal("3.00")
        assert m.order.status == OrderStatus.PARTIALLY_REFUNDED
    assert Refund.objects.count() == 2
    services.settle_team(team.pk)
    services.sweep()
    assert Refund.objects.count() == 2
    assert ledger_is_balanced()

    # A team order refunded later (the rest of it) keeps the books balanced too.
    order = member(leader.pk).order
    assert order is not None
    orders.refund_order(actor=owner, order=order, reason="Changed my mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_amount == order.total


def test_a_team_that_does_not_fill_fails_and_releases_everything(commit: Any, balanced: None) -> None:
    deal = group_deal(min_members=3, max_members=3, stock=10, stock_allotted=5)
    leader = start(deal)
    with commit():
        joiner = join(team_of(leader))
    assert stock(deal) == 8 and GroupDeal.objects.get(pk=deal.pk).units_taken == 2
    assert "team_last_place" in kinds(leader.user)
    expire(team_of(leader))

    with commit():
        assert services.expire_due_teams() == 1
        assert services.expire_due_teams() == 0

    team = team_of(leader)
    assert team.status == T.FAILED and team.closed_at is not None
    assert team.seats_taken == team.members_count == 0
    for m in (member(leader.pk), member(joiner.pk)):
        assert m.status == M.RELEASED and m.released_at is not None
        assert m.order is not None and m.order.status == OrderStatus.CANCELLED
        assert kinds(m.user).count("team_failed") == 1
        # The team's message says it all: no second "order cancelled" notice for the same event.
        assert "order.cancelled" not in kinds(m.user)
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.VOIDED}
    for payment in Payment.objects.all():
        assert PaymentEvent.objects.filter(payment=payment, status=PaymentStatus.VOIDED).count() == 1
    assert stock(deal) == 10 and GroupDeal.objects.get(pk=deal.pk).units_taken == 0
    with pytest.raises(TeamClosed) as failed:
        join(team)
    assert failed.value.code == "team_failed"


def test_an_authorisation_arriving_after_the_clock_ran_out_fails_the_team_and_is_voided(commit: Any) -> None:
    deal = group_deal(min_members=2, max_members=3)
    leader = start(deal)
    # The joiner's gateway does not answer in time: the member waits, paying.
    late = join(team_of(leader), method="sandbox_timeout")
    assert late.status == M.PAYING and team_of(leader).seats_taken == 2
    expire(team_of(leader))
    payment = Payment.objects.get(payer=late.user)
    assert payment.status == PaymentStatus.UNKNOWN

    # Reconciliation learns it was authorised: the payment signal confirms the member, who is too late.
    with commit():
        payments.reconcile_payment(payment=payment)

    team = team_of(leader)
    assert team.status == T.FAILED
    assert member(late.pk).status == M.RELEASED
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.VOIDED
    assert Order.objects.get(pk=late.order_id).status == OrderStatus.CANCELLED
    # The sweep releases the leader; nobody in a failed team is ever charged.
    with commit():
        services.sweep()
    assert member(leader.pk).status == M.RELEASED
    assert not Payment.objects.filter(status__in=[PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED]).exists()


def test_a_declined_card_gives_the_seat_back(commit: Any) -> None:
    deal = group_deal(max_members=3, stock=10)
    leader = start(deal)
    with commit(), pytest.raises(PaymentDeclined):
        join(team_of(leader), method=DECLINE)
    team = team_of(leader)
    assert team.seats_taken == team.members_count == 1 and team.status == T.OPEN
    assert TeamMember.objects.filter(team=team, status=M.RELEASED).count() == 1
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 1 and stock(deal) == 9
    assert not Payment.objects.filter(status=PaymentStatus.AUTHORIZED).exclude(payer=leader.user).exists()

    # A leader whose card is declined leaves no team behind.
    with commit(), pytest.raises(PaymentDeclined):
        start(deal, method=DECLINE)
    assert Team.objects.filter(status=T.CANCELLED).count() == 1
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 1


def test_a_buyer_cancelling_their_team_order_leaves_the_team(commit: Any) -> None:
    deal = group_deal(min_members=3, max_members=3)
    leader = start(deal)
    with commit():
        joiner = join(team_of(leader))
    order = member(joiner.pk).order
    assert order is not None
    with commit():
        orders.cancel_order(actor=joiner.user, order=order, reason="Found it cheaper")
    team = team_of(leader)
    assert member(joiner.pk).status == M.RELEASED
    assert team.seats_taken == team.members_count == 1 and team.status == T.OPEN
    assert Payment.objects.get(payer=joiner.user).status == PaymentStatus.VOIDED
    assert GroupDeal.objects.get(pk=deal.pk).units_taken == 1
    # The place is free again, for anyone (including the one who left).
    with commit():
        again = join(team, joiner.user)
    assert again.status == M.AUTHORISED


def test_a_member_cannot_cancel_while_their_complete_team_is_being_charged(
    commit: Any, monkeypatch: Any, api_as: Any, balanced: None
) -> None:
    waiting: list[int] = []
    monkeypatch.setattr(services, "_enqueue_settle", waiting.append)  # the settlement task has not run yet
    deal = group_deal(min_members=2, max_members=3)
    leader = start(deal)
    with commit():
        joiner = join(team_of(leader))
    team = team_of(leader)
    assert team.status == T.SUCCEEDED and waiting == [team.pk]
    order = member(joiner.pk).order
    assert order is not None and order.status == OrderStatus.PLACED

    with pytest.raises(TeamOrderCharging):
        orders.cancel_order(actor=joiner.user, order=order, reason="Changed my mind")
    response = api_as(joiner.user).call("POST", f"orders/{order.number}/cancel", {"reason": "Changed my mind"})
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "team_order_charging"
    assert f"Team {team.code} is complete" in response.json()["detail"]
    # Nothing moved: the member still counts, the order still waits for its capture, the authorisation stands.
    assert member(joiner.pk).status == M.AUTHORISED and team_of(leader).members_count == 2
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert Payment.objects.get(payer=joiner.user).status == PaymentStatus.AUTHORIZED

    with commit():
        services.settle_team(team.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    # Paid, it is cancelled like any other order: refunded in full.
    with commit():
        orders.cancel_order(actor=joiner.user, order=order, reason="Changed my mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.refunded_amount == order.total


def test_who_cannot_join(commit: Any) -> None:
    deal = group_deal(max_members=2, per_user_limit=2, stock_allotted=20)
    leader = start(deal)
    team = team_of(leader)
    with pytest.raises(AlreadyInTeam):
        join(team, leader.user)
    with pytest.raises(NotAuthenticated):
        services.join_team(
            actor=None,  # type: ignore[arg-type]
            team=team,
            variant_id=None,
            address=ADDRESS,
            payment_method=CARD,
        )
    with commit():
        second = join(team)
    with pytest.raises(AlreadyInTeam):
        join(team, second.user)
    with pytest.raises(TeamClosed) as full:
        join(team)
    assert full.value.code == "team_full"
    # Two units in one team and a third in another: above the deal's limit of 2 per shopper.
    other = team_of(start(deal, UserFactory(), quantity=2))
    greedy = other.leader
    with pytest.raises(LimitReached):
        start(deal, greedy)
    with pytest.raises(LimitReached):
        start(deal, UserFactory(), quantity=3)
    expired = team_of(start(deal))
    expire(expired)
    with pytest.raises(TeamClosed) as late:
        join(expired)
    assert late.value.code == "team_expired"
    assert Team.objects.get(pk=expired.pk).seats_taken == 1
    # Nothing half-done: the refusals left no member, order or payment behind.
    assert TeamMember.objects.count() == 4 == Order.objects.count() == Payment.objects.count()


def test_deals_not_live(commit: Any) -> None:
    shop, owner = selling_shop()
    soon = group_deal(shop=shop, owner=owner, starts_in=timedelta(hours=1))
    with pytest.raises(DealNotLive) as early:
        start(soon)
    assert early.value.code == "deal_not_started"
    ended = group_deal(shop=shop, owner=owner)
    services.end_deal(actor=owner, deal=ended)
    with pytest.raises(DealNotLive):
        start(ended)
    small = group_deal(shop=shop, owner=owner, stock_allotted=1, max_members=3)
    leader = start(small)
    with pytest.raises(DealNotLive) as sold_out:
        start(small)
    assert sold_out.value.code == "deal_sold_out"
    with pytest.raises(DealNotLive):
        join(team_of(leader))
    GroupDeal.objects.filter(pk=small.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(DealNotLive):
        start(GroupDeal.objects.get(pk=small.pk))
    assert Order.objects.count() == 1


def test_new_customers_only_keeps_the_last_place_for_a_new_customer(commit: Any) -> None:
    deal = group_deal(min_members=2, max_members=3, audience=Audience.NEW_CUSTOMERS)
    regulars = UserFactory.create_batch(3)
    elsewhere = variant_for_sale(stock=10)
    for user in regulars:
        buy(user, (elsewhere, 1))
    leader = start(deal, regulars[0])
    assert not leader.is_new_customer
    with commit():
        join(team_of(leader), regulars[1])
    # Two members, both regulars: the minimum is reached but the team does not succeed without a new customer.
    assert team_of(leader).status == T.OPEN
    with pytest.raises(NewCustomersOnly):
        join(team_of(leader), regulars[2])
    with commit():
        newcomer = join(team_of(leader))
    assert newcomer.is_new_customer
    assert team_of(leader).status == T.SUCCEEDED
    assert member(newcomer.pk).status == M.CAPTURED


def test_reminders_once_per_team(commit: Any) -> None:
    deal = group_deal(min_members=3, max_members=4)
    leader = start(deal)
    team = team_of(leader)
    assert team.expires_at is not None
    early = team.expires_at - timedelta(hours=2)
    assert services.send_reminders(now=early) == 0
    soon = team.expires_at - timedelta(minutes=30)
    assert services.send_reminders(now=soon) == 1
    assert services.send_reminders(now=soon) == 0
    assert kinds(leader.user) == ["team_reminder"]
    assert "closes in 30 minutes" in Notification.objects.get(recipient=leader.user).title


def test_create_deal_checks_its_settings() -> None:
    shop, owner = selling_shop()
    variant = variant_for_sale(shop, price="20.00")
    base: dict[str, Any] = {
        "actor": owner,
        "shop": shop,
        "product_id": variant.product_id,
        "group_price": "15.00",
        "ends_at": timezone.now() + timedelta(days=1),
        "stock_allotted": 10,
    }
    wrong = [
        ({"tiers": [{"members": 4, "price": "12.00"}, {"members": 3, "price": "11.00"}], "max_members": 5}, "tiers"),
        ({"tiers": [{"members": 3, "price": "12.00"}, {"members": 4, "price": "13.00"}], "max_members": 5}, "tiers"),
        ({"tiers": [{"members": 3, "price": "16.00"}], "max_members": 5}, "tiers"),
        ({"tiers": [{"members": 2, "price": "12.00"}], "max_members": 5}, "tiers"),
        ({"tiers": [{"members": 6, "price": "12.00"}], "max_members": 5}, "tiers"),
        ({"min_members": 3, "max_members": 2}, "max_members"),
        ({"min_members": 1}, "min_members"),
        ({"group_price": "0"}, "group_price"),
        ({"group_price": "abc"}, "group_price"),
        ({"stock_allotted": 0}, "stock_allotted"),
        ({"ends_at": timezone.now() - timedelta(minutes=1)}, "ends_at"),
        ({"fill_hours": 0}, "fill_hours"),
        ({"audience": "friends"}, "audience"),
        ({"variant_ids": [variant_for_sale().pk]}, "variant_ids"),
        ({"product_id": variant_for_sale().product_id}, "product_id"),
    ]
    for changes, field in wrong:
        with pytest.raises(DealInvalid) as error:
            services.create_deal(**{**base, **changes})
        assert error.value.field == field, (changes, error.value.message)
    assert not GroupDeal.objects.exists()
    with pytest.raises(ShopPermissionDenied):
        services.create_deal(**{**base, "actor": UserFactory()})

    deal = services.create_deal(
        **base, max_members=5, tiers=[{"members": 3, "price": "12.00"}, {"members": 5, "price": "10.00"}]
    )
    assert [(t.members, t.price) for t in deal.tiers.all()] == [(3, Decimal("12.00")), (5, Decimal("10.00"))]
    with pytest.raises(DealInvalid) as overlap:
        services.create_deal(**base)
    assert overlap.value.code == "deal_overlaps"
    updated = services.update_deal(actor=owner, deal=deal, group_price="14.00", max_members=6)
    assert updated.group_price == Decimal("14.00") and updated.max_members == 6
    with pytest.raises(DealInvalid) as tier_above:
        services.update_deal(actor=owner, deal=deal, group_price="11.00")
    assert tier_above.value.field == "tiers"
    with pytest.raises(DealInvalid):
        services.update_deal(actor=owner, deal=deal, colour="red")
    ended = services.end_deal(actor=owner, deal=deal)
    assert not ended.is_active
