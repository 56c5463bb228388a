"""Demo orders for `manage.py demo`: the demo shopper has orders in every state of the journey, and other
people have bought things (so "friends who bought this" and trending have something to show).

Everything goes through the real services (cart, checkout with the sandbox card, shipping, delivery), quietly:
no notification or e-mail is sent for demo data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

from django.db.models import Q

from agora.accounts.models import User
from agora.catalog.models import ProductStatus, Variant
from agora.core.errors import DomainError
from agora.orders import services
from agora.orders.models import Checkout, Order, OrderEvent
from agora.shops.models import Membership, Role, Shop

Progress = Callable[[str, int, int], None]
SEED = 7
CARD = "sandbox_card"
ADDRESSES = [
    {"name": "Demo Shopper", "line1": "Brivibas iela 10", "city": "Riga", "postcode": "LV-1010", "country": "LV"},
    {"name": "Demo Shopper", "line1": "Torstrasse 5", "city": "Berlin", "postcode": "10119", "country": "DE"},
    {"name": "Demo Shopper", "line1": "12 Market Street", "city": "Leeds", "postcode": "LS1 6DT", "country": "GB"},
]


def _owner(shop: Shop) -> User | None:
    membership = Membership.objects.select_related("user").filter(shop=shop, role=Role.OWNER).order_by("id").first()
    return membership.user if membership is not None else None


def _variants_of(shop: Shop) -> list[Variant]:
    return list(
        Variant.objects.filter(
            Q(shop=shop, is_active=True, stock_quantity__gte=3, product__status=ProductStatus.PUBLISHED)
        )
        .select_related("product")
        .order_by("id")[:40]
    )


def _buy(user: User, variants: list[Variant], rng: random.Random) -> Checkout | None:
    cart = services.get_cart(user=user, create=True)
    assert cart is not None
    services.clear_cart(cart)
    try:
        for variant in rng.sample(variants, k=min(len(variants), rng.randint(1, 2))):
            services.add_item(cart, variant_id=variant.pk, quantity=rng.randint(1, 2))
        return services.place_checkout(actor=user, cart=cart, address=rng.choice(ADDRESSES), payment_method=CARD)
    except DomainError:
        # A demo shop that does not deliver somewhere or ran out: skip that purchase.
        services.clear_cart(cart)
        return None


def _age(checkout: Checkout, days: int) -> None:
    """Move a demo checkout's history into the past, keeping its order."""
    shift = timedelta(days=days)
    for order in Order.objects.filter(checkout=checkout):
        Order.objects.filter(pk=order.pk).update(
            placed_at=order.placed_at - shift,
            paid_at=order.paid_at - shift if order.paid_at else None,
            reserved_until=order.reserved_until - shift,
        )
        for event in OrderEvent.objects.filter(order=order):
            OrderEvent.objects.filter(pk=event.pk).update(created_at=event.created_at - shift)
    Checkout.objects.filter(pk=checkout.pk).update(created_at=checkout.created_at - shift)


def seed(*, shops: Sequence[Shop], users: Sequence[User], progress: Progress) -> None:
    """Paid, shipped and delivered orders for the demo user; a purchase or two for some other people."""
    rng = random.Random(SEED)
    people = list(users)
    catalogue = [(shop, _variants_of(shop)) for shop in shops]
    catalogue = [(shop, variants) for shop, variants in catalogue if variants]
    if not people or not catalogue:
        return
    demo, others = people[0], people[1:]
    total = 1 + min(len(others), 20)
    with services.quietly():
        # The demo shopper: one order delivered, one shipped, one just paid.
        for step, (shop, variants) in enumerate(catalogue[:3]):
            checkout = _buy(demo, variants, rng)
            owner = _owner(shop)
            if checkout is None or owner is None:
                continue
            order = checkout.orders.get()
            if step < 2:
                order = services.ship_order(actor=owner, order=order, tracking_number=f"DEMO{order.pk:06d}")
            if step == 0:
                services.mark_delivered(actor=owner, order=order)
            _age(checkout, days=(3 - step) * 4)
        progress("orders", 1, total)
        for done, person in enumerate(others[: total - 1], start=2):
            for _ in range(rng.randint(1, 2)):
                shop, variants = rng.choice(catalogue)
                checkout = _buy(person, variants, rng)
                if checkout is not None and rng.random() < 0.5:
                    _age(checkout, days=rng.randint(1, 20))
            progress("orders", done, total)
