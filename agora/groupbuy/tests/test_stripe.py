"""Team purchases with the Stripe gateway in manual-capture mode, against the locally served stand-in.

A member's PaymentIntent is created with ``capture_method=manual`` (authorised: "requires_capture"); a succeeded
team captures it for exactly the tier price (a partial capture) and refunds the difference to members charged
more; a failed team cancels the intents. A card that needs 3-D Secure is confirmed in the browser, and the webhook
that follows counts the member.
"""

from __future__ import annotations

from typing import Any

import pytest

from agora.groupbuy import services
from agora.groupbuy.models import MemberStatus, TeamMember, TeamStatus
from agora.groupbuy.tests.factories import expire, group_deal, join, start, team_of
from agora.ledger.selectors import ledger_is_balanced
from agora.orders.models import OrderStatus
from agora.payments.models import Payment, PaymentStatus
from agora.payments.tests.conftest import WEBHOOK_SECRET, stripe_standin  # noqa: F401  (the fixture)
from agora.payments.tests.stripe_standin import sign

pytestmark = pytest.mark.django_db

VISA = "stripe_card:pm_card_visa"
M, T = MemberStatus, TeamStatus


def intent_of(standin: Any, member: TeamMember) -> dict[str, Any]:
    payment = Payment.objects.get(payer=member.user)
    return standin.intents[payment.gateway_reference]


def test_success_captures_the_intents_at_the_tier_price(
    stripe_standin: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    deal = group_deal(min_members=2, max_members=3, tiers=[{"members": 3, "price": "12.00"}])
    with django_capture_on_commit_callbacks(execute=True):
        leader = start(deal, method=VISA)
        assert intent_of(stripe_standin, leader)["status"] == "requires_capture"
        assert intent_of(stripe_standin, leader)["capture_method"] == "manual"
        second = join(team_of(leader), method=VISA)
        third = join(team_of(leader), method=VISA)

    assert team_of(leader).status == T.SUCCEEDED
    # 15.00 + 4.90 authorised each; the third is captured at the tier price: 12.00 + 4.90.
    for member in (leader, second, third):
        intent = intent_of(stripe_standin, member)
        assert intent["status"] == "succeeded" and intent["amount"] == 1990
    assert intent_of(stripe_standin, third)["amount_received"] == 1690
    for early in (leader, second):
        intent = intent_of(stripe_standin, early)
        assert intent["amount_received"] == 1990
        refunds = [r for r in stripe_standin.refunds.values() if r["payment_intent"] == intent["id"]]
        assert [r["amount"] for r in refunds] == [300]
    captures = [r for r in stripe_standin.mutating() if r.path.endswith("/capture")]
    assert sorted(int(r.params["amount_to_capture"]) for r in captures) == [1690, 1990, 1990]
    for member in TeamMember.objects.select_related("order"):
        assert member.status == M.CAPTURED and str(member.charged_price) == "12.000"
        assert member.order is not None and member.order.status in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED)
    # Settling again asks Stripe for nothing more.
    before = len(stripe_standin.mutating())
    services.settle_team(leader.team_id)
    services.sweep()
    assert len(stripe_standin.mutating()) == before
    assert ledger_is_balanced()


def test_failure_cancels_the_intents(
    stripe_standin: Any,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    deal = group_deal(min_members=3, max_members=3)
    with django_capture_on_commit_callbacks(execute=True):
        leader = start(deal, method=VISA)
        second = join(team_of(leader), method=VISA)
    expire(team_of(leader))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.expire_due_teams() == 1
    for member in (leader, second):
        assert intent_of(stripe_standin, member)["status"] == "canceled"
    assert set(Payment.objects.values_list("status", flat=True)) == {PaymentStatus.VOIDED}
    cancels = [r for r in stripe_standin.mutating() if r.path.endswith("/cancel")]
    assert len(cancels) == 2
    assert not any(r.path.endswith("/capture") for r in stripe_standin.mutating())


def test_a_card_confirmed_in_the_browser_counts_when_the_webhook_arrives(
    stripe_standin: Any,  # noqa: F811
    client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deal = group_deal()
    leader = start(deal, method="stripe_card")
    assert leader.status == M.PAYING and team_of(leader).status == T.PENDING
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.REQUIRES_ACTION and payment.client_secret
    intent = stripe_standin.intents[payment.gateway_reference]
    intent.update(status="requires_capture", amount_capturable=intent["amount"])
    payload = stripe_standin.event(
        "payment_intent.amount_capturable_updated", stripe_standin.intent(intent["id"]), event_id="evt_team1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/payments/stripe/webhook",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
        )
    assert response.status_code == 200
    assert Payment.objects.get().status == PaymentStatus.AUTHORIZED
    member = TeamMember.objects.get(pk=leader.pk)
    assert member.status == M.AUTHORISED
    team = team_of(leader)
    assert team.status == T.OPEN and team.expires_at is not None and team.members_count == 1
