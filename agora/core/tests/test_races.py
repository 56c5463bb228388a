"""Races on PostgreSQL: threads released together by a barrier hit one service, and the database is checked after.

The services keep their promises under concurrency through unique constraints (an ``IntegrityError`` becomes a
409), conditional updates and row locks. A race test is only meaningful with many writers at once, so these run
on PostgreSQL only; on SQLite one writer at a time would make every one of them pass trivially (docs/adr/0001).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from agora.accounts import services as accounts
from agora.accounts.errors import EmailTaken, UsernameTaken
from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.catalog import services as catalog
from agora.catalog.errors import ProductInvalid, ProductSlugTaken, SkuTaken
from agora.catalog.models import Product, ProductImage, Tag, Variant
from agora.catalog.tests.factories import ProductFactory, VariantFactory
from agora.shops import services as shops
from agora.shops.errors import LastOwner, SlugTaken
from agora.shops.models import Membership, Role, Shop
from agora.shops.selectors import ShopPermissionDenied
from agora.shops.tests.factories import MembershipFactory, shop_with_owner

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a race needs concurrent writers: PostgreSQL only (ADR 0001)"),
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "a sturdy pass phrase 42"
Outcome = Any  # what the raced call returned, or the exception it raised


def race(n: int, prepare: Callable[[int], Callable[[], Any]]) -> list[Outcome]:
    """Run ``prepare(i)()`` in ``n`` threads; the calls start together, after every thread has prepared.

    ``prepare`` does the per-thread reads (fresh model instances: nothing is shared between threads), so that
    only the service call itself races. Each thread closes its own database connection when done.
    """
    barrier = threading.Barrier(n, timeout=30)
    outcomes: list[Outcome] = [None] * n

    def worker(i: int) -> None:
        try:
            try:
                call = prepare(i)
            except BaseException:
                barrier.abort()  # the others would wait for this thread in vain
                raise
            barrier.wait()
            outcomes[i] = call()
        except BaseException as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"race-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a raced call hung (deadlock?)"
    broken = [o for o in outcomes if isinstance(o, threading.BrokenBarrierError)]
    assert not broken, f"a thread failed before the race started: {outcomes}"
    return outcomes


def split(outcomes: list[Outcome]) -> tuple[list[Any], list[BaseException]]:
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    return [o for o in outcomes if not isinstance(o, BaseException)], errors


def assert_only(errors: list[BaseException], *allowed: type[BaseException]) -> None:
    """Every loser got one of the service's own errors: never an IntegrityError, a deadlock or a crash."""
    unexpected = [e for e in errors if not isinstance(e, allowed)]
    assert not unexpected, f"unexpected exceptions: {unexpected!r}"


# --- duplicates: the unique constraint decides, the loser gets a 409 ---------------------------
def test_concurrent_signups_with_one_username_make_one_user() -> None:
    # Different letter cases: the name is unique whatever the case, in the database too.
    names = ["Racer", "racer", "RACER", "rAcEr"]
    for round_ in range(3):

        def prepare(i: int, round_: int = round_) -> Callable[[], Any]:
            username = f"{names[i % len(names)]}{round_}"
            return lambda: accounts.signup(username=username, email=f"racer{round_}-{i}@example.com", password=PASSWORD)

        winners, errors = split(race(16, prepare))

        assert len(winners) == 1
        assert_only(errors, UsernameTaken)
        assert all(e.status == 409 for e in errors)  # type: ignore[attr-defined]
        assert User.objects.filter(username__iexact=f"racer{round_}").count() == 1


def test_concurrent_signups_with_one_email_make_one_user() -> None:
    for round_ in range(3):

        def prepare(i: int, round_: int = round_) -> Callable[[], Any]:
            email = f"Same{round_}@Example.com" if i % 2 else f"same{round_}@example.com"
            return lambda: accounts.signup(username=f"mail{round_}x{i}", email=email, password=PASSWORD)

        winners, errors = split(race(16, prepare))

        assert len(winners) == 1
        # The pre-check says which field clashed; a loser that passed it learns of the clash from the constraint.
        assert_only(errors, EmailTaken, UsernameTaken)
        assert User.objects.filter(email__iexact=f"same{round_}@example.com").count() == 1


def test_concurrent_create_shop_with_one_slug_makes_one_shop_with_one_owner() -> None:
    owners = UserFactory.create_batch(16)
    for round_ in range(3):
        slug = f"race-shop-{round_}"

        def prepare(i: int, slug: str = slug) -> Callable[[], Any]:
            owner = User.objects.get(pk=owners[i].pk)
            return lambda: shops.create_shop(owner=owner, name=f"Shop {i}", slug=slug, currency="EUR", country="LV")

        outcomes = race(16, prepare)
        winners, errors = split(outcomes)

        assert len(winners) == 1
        assert_only(errors, SlugTaken)
        winner = owners[outcomes.index(winners[0])]
        shop = Shop.objects.get(slug=slug)
        assert list(Membership.objects.filter(shop=shop).values_list("user_id", "role")) == [(winner.pk, Role.OWNER)]
    assert Shop.objects.count() == 3
    assert Membership.objects.count() == 3


def test_concurrent_add_variant_with_one_sku_makes_one_variant() -> None:
    shop, owner = shop_with_owner()
    products = [ProductFactory(shop=shop), ProductFactory(shop=shop)]
    for round_ in range(3):
        sku = f"RACE-{round_}"

        def prepare(i: int, sku: str = sku) -> Callable[[], Any]:
            actor = User.objects.get(pk=owner.pk)
            # Two products of one shop: the SKU is unique per shop, not per product, and whatever its case.
            product = Product.objects.select_related("shop").get(pk=products[i % 2].pk)
            code = sku if i % 4 < 2 else sku.lower()
            return lambda: catalog.add_variant(actor=actor, product=product, sku=code, price="9.90", stock_quantity=1)

        winners, errors = split(race(16, prepare))

        assert len(winners) == 1
        assert_only(errors, SkuTaken)
        assert Variant.objects.filter(shop=shop, sku__iexact=sku).count() == 1


def test_concurrent_create_product_with_one_slug_makes_one_product() -> None:
    shop, owner = shop_with_owner()
    for round_ in range(3):
        slug = f"race-product-{round_}"

        def prepare(i: int, slug: str = slug, round_: int = round_) -> Callable[[], Any]:
            actor = User.objects.get(pk=owner.pk)
            shop_ = Shop.objects.get(pk=shop.pk)
            return lambda: catalog.create_product(
                actor=actor,
                shop=shop_,
                title=f"Thing {i}",
                slug=slug,
                variants=[{"sku": f"P{round_}-{i}", "price": "5.00"}],
            )

        winners, errors = split(race(16, prepare))

        assert len(winners) == 1
        assert_only(errors, ProductSlugTaken)
        product = Product.objects.get(shop=shop, slug=slug)
        # The loser's variants went with its product: nothing half-made stays.
        assert list(product.variants.values_list("sku", flat=True)) == [winners[0].variants.get().sku]
    assert Product.objects.filter(shop=shop).count() == 3
    assert Variant.objects.filter(shop=shop).count() == 3


def test_concurrent_products_sharing_new_tags_all_succeed() -> None:
    shop, owner = shop_with_owner()
    for round_ in range(3):
        tags = [f"linen{round_}", f"summer{round_}", f"handmade{round_}"]

        def prepare(i: int, round_: int = round_, tags: list[str] = tags) -> Callable[[], Any]:
            actor = User.objects.get(pk=owner.pk)
            shop_ = Shop.objects.get(pk=shop.pk)
            # Half of the sellers list the tags the other way round.
            names = tags if i % 2 else list(reversed(tags))
            return lambda: catalog.create_product(actor=actor, shop=shop_, title=f"Dress {round_}-{i}", tags=names)

        winners, errors = split(race(12, prepare))

        assert errors == []
        assert len(winners) == 12
        assert sorted(Tag.objects.filter(name__in=tags).values_list("name", flat=True)) == sorted(tags)
        for product in winners:
            assert sorted(product.tags.values_list("name", flat=True)) == sorted(tags)


# --- stock: a conditional update never sells what is not there -------------------------------
def test_concurrent_adjust_stock_never_goes_below_zero() -> None:
    variant = VariantFactory(stock_quantity=10)
    for _round in range(5):
        Variant.objects.filter(pk=variant.pk).update(stock_quantity=10)

        outcomes = race(30, lambda i: lambda: catalog.adjust_stock(variant_id=variant.pk, delta=-1))

        assert all(isinstance(o, bool) for o in outcomes), outcomes
        assert outcomes.count(True) == 10
        assert outcomes.count(False) == 20
        variant.refresh_from_db()
        assert variant.stock_quantity == 0


def test_concurrent_stock_moves_in_both_directions_add_up() -> None:
    variant = VariantFactory(stock_quantity=100)
    for _round in range(3):
        Variant.objects.filter(pk=variant.pk).update(stock_quantity=100)

        outcomes = race(20, lambda i: lambda: catalog.adjust_stock(variant_id=variant.pk, delta=3 if i % 2 else -5))

        assert outcomes == [True] * 20
        variant.refresh_from_db()
        assert variant.stock_quantity == 100 + 10 * 3 - 10 * 5


# --- staff: row locks keep one owner -----------------------------------------------------------
def _two_owner_shop() -> tuple[Shop, User, User]:
    shop, first = shop_with_owner()
    second = MembershipFactory(shop=shop, role=Role.OWNER).user
    return shop, first, second


def test_two_owners_demoting_each_other_leave_one_owner() -> None:
    shop, first, second = _two_owner_shop()
    pairs = [(first, second), (second, first)]
    for _round in range(8):
        Membership.objects.filter(shop=shop).update(role=Role.OWNER)

        def prepare(i: int) -> Callable[[], Any]:
            # Fresh instances each round: role_of caches the role on the user object.
            actor, target = (User.objects.get(pk=u.pk) for u in pairs[i])
            shop_ = Shop.objects.get(pk=shop.pk)
            return lambda: shops.change_role(actor=actor, shop=shop_, user_id=target.pk, role=Role.MANAGER)

        winners, errors = split(race(2, prepare))

        assert len(winners) == 1
        # The loser either met the lock (last owner) or came after it and is no longer an owner at all.
        assert_only(errors, LastOwner, ShopPermissionDenied)
        roles = sorted(Membership.objects.filter(shop=shop).values_list("role", flat=True))
        assert roles == sorted([Role.MANAGER, Role.OWNER])


def test_two_owners_removing_each_other_leave_one_owner() -> None:
    for _round in range(8):
        shop, first, second = _two_owner_shop()
        pairs = [(first, second), (second, first)]

        def prepare(i: int, shop: Shop = shop, pairs: list[tuple[User, User]] = pairs) -> Callable[[], Any]:
            actor, target = (User.objects.get(pk=u.pk) for u in pairs[i])
            shop_ = Shop.objects.get(pk=shop.pk)
            return lambda: shops.remove_staff(actor=actor, shop=shop_, user_id=target.pk)

        winners, errors = split(race(2, prepare))

        assert len(winners) == 1
        assert_only(errors, LastOwner, ShopPermissionDenied)
        assert list(Membership.objects.filter(shop=shop).values_list("role", flat=True)) == [Role.OWNER]


def test_owners_demoting_one_another_in_a_ring_never_leave_the_shop_ownerless() -> None:
    shop, owner = shop_with_owner()
    others = [MembershipFactory(shop=shop, role=Role.OWNER).user for _ in range(5)]
    ring = [owner, *others]
    for _round in range(4):
        Membership.objects.filter(shop=shop).update(role=Role.OWNER)

        def prepare(i: int) -> Callable[[], Any]:
            actor = User.objects.get(pk=ring[i].pk)
            target = ring[(i + 1) % len(ring)]
            shop_ = Shop.objects.get(pk=shop.pk)
            return lambda: shops.change_role(actor=actor, shop=shop_, user_id=target.pk, role=Role.SUPPORT)

        winners, errors = split(race(len(ring), prepare))

        assert winners
        assert_only(errors, LastOwner, ShopPermissionDenied)
        assert Membership.objects.filter(shop=shop, role=Role.OWNER).count() >= 1


# --- photos: the product row lock holds the limit, refused uploads leave no files --------------
def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_concurrent_photo_uploads_stop_at_ten_and_leave_no_orphan_files(image_bytes: Any) -> None:
    shop, owner = shop_with_owner()
    product = ProductFactory(shop=shop)
    picture = image_bytes((32, 24))
    for i in range(8):
        catalog.add_image(actor=owner, product=product, upload=ContentFile(picture, name=f"seed{i}.jpg"))
    products_folder = Path(settings.MEDIA_ROOT) / "products"
    assert len(_files_under(products_folder)) == 8 * 3

    def prepare(i: int) -> Callable[[], Any]:
        actor = User.objects.get(pk=owner.pk)
        product_ = Product.objects.select_related("shop").get(pk=product.pk)
        upload = ContentFile(picture, name=f"race{i}.jpg")
        return lambda: catalog.add_image(actor=actor, product=product_, upload=upload)

    winners, errors = split(race(12, prepare))

    assert len(winners) == 2
    assert_only(errors, ProductInvalid)
    assert all(e.field == "image" for e in errors)  # type: ignore[attr-defined]
    assert ProductImage.objects.filter(product=product).count() == 10
    positions = sorted(ProductImage.objects.filter(product=product).values_list("position", flat=True))
    assert positions == list(range(1, 11))
    files = _files_under(products_folder)
    assert len(files) == 10 * 3, sorted(str(f.relative_to(products_folder)) for f in files)
    stored = {
        name
        for photo in ProductImage.objects.filter(product=product)
        for name in (photo.image.name, photo.thumbnail_small.name, photo.thumbnail_medium.name)
    }
    assert {str(f.relative_to(settings.MEDIA_ROOT)) for f in files} == stored
