"""Demo flash deals: one on now, one coming with early access that the demo shopper (a follower) has."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from agora.accounts.models import User
from agora.core.demo.plan import DEMO_USERNAME
from agora.promotions import selectors

pytestmark = pytest.mark.django_db


def test_demo_makes_a_live_and_an_upcoming_deal():
    call_command("demo", stdout=io.StringIO(), stderr=io.StringIO(), products=30, users=4, seed=5)
    demo = User.objects.get(username__iexact=DEMO_USERNAME)
    live, upcoming = selectors.live_flash_deals(), selectors.upcoming_flash_deals()
    assert len(live) == 1 and len(upcoming) == 1
    assert selectors.deal_state(live[0], demo).can_buy
    state = selectors.deal_state(upcoming[0], demo)
    assert state.status == selectors.UPCOMING and state.early_for_viewer
    assert upcoming[0].early_access == "followers" and upcoming[0].deal_price < upcoming[0].variant.price
