from __future__ import annotations

import factory

from agora.accounts.tests.factories import UserFactory
from agora.shops.models import Membership, Role, Shop


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    description = "Hand-made things."
    currency = "EUR"
    country = "LV"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


def shop_with_owner(**kwargs):  # type: ignore[no-untyped-def]
    """A shop and its owner."""
    membership = MembershipFactory(role=Role.OWNER, shop=ShopFactory(**kwargs))
    return membership.shop, membership.user
