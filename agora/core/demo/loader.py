"""Writes a demo plan to the database through the services, in one transaction.

Everything a user could do on the site goes through the service that does it (sign-up checks, create_shop,
invite_staff + accept_invitation, create_product, add_image, publish_product, set_avatar, set_logo), so the
demo data obeys the same rules as real data. Raw writes are kept to what no service offers: one shared
password hash for all demo people (hashing fifty argon2 passwords would take seconds) and backdated
timestamps and popularity, so that "newest" and "popular" have something to sort.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from agora.accounts.models import User
from agora.accounts.services import check_username, normalize_email, set_avatar
from agora.catalog.models import Category, Product
from agora.catalog.selectors import forget_category_tree
from agora.catalog.services import add_image, create_category, create_product, publish_product
from agora.core.demo.images import render
from agora.core.demo.plan import ADMIN_PASSWORD, ADMIN_USERNAME, DEMO_PASSWORD, EMAIL_DOMAIN, DemoPlan, ImageSpec
from agora.core.text import clean_text
from agora.shops.models import Shop
from agora.shops.services import accept_invitation, create_shop, invite_staff, set_logo

Progress = Callable[[str, int, int], None]


class DemoError(Exception):
    pass


@dataclass(frozen=True)
class LoadResult:
    users: int
    shops: int
    products: int
    published: int
    photos: int
    admin_created: bool


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _upload(spec: ImageSpec, data: bytes | None = None, name: str = "demo.jpg") -> ContentFile[bytes]:
    return ContentFile(data if data is not None else render(spec), name=name)


def _operator() -> tuple[User, bool]:
    admin = User.objects.filter(username__iexact=ADMIN_USERNAME).first()
    if admin is not None:
        if not admin.is_staff:
            raise DemoError(f"A user '{ADMIN_USERNAME}' exists and is not staff; cannot build the category tree.")
        return admin, False
    admin = User.objects.create_superuser(
        ADMIN_USERNAME, f"{ADMIN_USERNAME}@{EMAIL_DOMAIN}", ADMIN_PASSWORD, display_name="Agora Operator"
    )
    return admin, True


def _categories(plan: DemoPlan, admin: User) -> dict[str, Category]:
    by_slug = {c.slug: c for c in Category.objects.all()}
    for position, (name, slug, children) in enumerate(plan.categories):
        if slug not in by_slug:
            by_slug[slug] = create_category(actor=admin, name=name, slug=slug)
            # No service sets a position: the curated order reads better than the alphabet.
            Category.objects.filter(pk=by_slug[slug].pk).update(position=position)
        for child_name, child_slug in children:
            if child_slug not in by_slug:
                by_slug[child_slug] = create_category(
                    actor=admin, name=child_name, slug=child_slug, parent_id=by_slug[slug].pk
                )
    return by_slug


def _free_names(plan: DemoPlan) -> list[tuple[str, str]]:
    """Usernames and e-mail addresses for the plan's people, renamed where the database already has them."""
    taken_names = set(User.objects.annotate(n=Lower("username")).values_list("n", flat=True))
    taken_emails = set(User.objects.annotate(e=Lower("email")).values_list("e", flat=True))
    names = []
    for person in plan.users:
        username, n = person.username, 2
        while username.lower() in taken_names or f"{username}@{EMAIL_DOMAIN}".lower() in taken_emails:
            username, n = f"{person.username}{n}", n + 1
        taken_names.add(username.lower())
        taken_emails.add(f"{username}@{EMAIL_DOMAIN}".lower())
        names.append((username, f"{username}@{EMAIL_DOMAIN}"))
    return names


def _users(plan: DemoPlan, progress: Progress) -> list[User]:
    # Hashed once with the real (argon2) hasher and shared: fifty hashes would take seconds.
    password = make_password(DEMO_PASSWORD)
    now = timezone.now()
    people = []
    for person, (username, email) in zip(plan.users, _free_names(plan), strict=True):
        people.append(
            User(
                username=check_username(username),
                email=normalize_email(email),
                password=password,
                display_name=clean_text(person.display_name, field="display_name", max_length=80),
                bio=clean_text(person.bio, field="bio", max_length=500),
                language=person.language,
                currency=person.currency,
                date_joined=now - timedelta(days=person.joined_days_ago),
            )
        )
    User.objects.bulk_create(people)
    by_name = {u.username: u for u in User.objects.filter(username__in=[p.username for p in people])}
    users = [by_name[p.username] for p in people]
    total = len(users)
    for done, (user, person) in enumerate(zip(users, plan.users, strict=True), start=1):
        if person.avatar is not None:
            set_avatar(user=user, upload=_upload(person.avatar, name="avatar.jpg"))
        progress("users", done, total)
    return users


def _shops(plan: DemoPlan, users: list[User], progress: Progress) -> list[Shop]:
    shops = []
    now = timezone.now()
    total = len(plan.shops)
    for done, shop_plan in enumerate(plan.shops, start=1):
        niche, owner = shop_plan.niche, users[shop_plan.owner]
        shop = create_shop(
            owner=owner,
            name=niche.shop_name,
            currency=niche.currency,
            country=niche.country,
            description=niche.description,
        )
        set_logo(actor=owner, shop=shop, upload=_upload(shop_plan.logo, name="logo.jpg"))
        for member_index, role in shop_plan.staff:
            member = users[member_index]
            # The way staff join for real; the invitation mail is skipped because it is accepted before commit.
            invitation = invite_staff(actor=owner, shop=shop, email=member.email, role=role)
            accept_invitation(user=member, token=invitation.token)
        Shop.objects.filter(pk=shop.pk).update(created_at=now - timedelta(days=shop_plan.created_days_ago))
        shops.append(shop)
        progress("shops", done, total)
    return shops


def _rendered(plan: DemoPlan) -> Iterator[bytes]:
    """Every product photo of the plan, in order, drawn on a second thread while the first one stores them."""
    specs = [spec for product in plan.products for spec in product.photos]
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-images")
    try:
        yield from pool.map(render, specs)
    finally:
        # On an error, drop the pictures not drawn yet instead of waiting for them.
        pool.shutdown(wait=False, cancel_futures=True)


def _products(
    plan: DemoPlan, shops: list[Shop], users: list[User], categories: dict[str, Category], progress: Progress
) -> tuple[int, int]:
    now = timezone.now()
    photos = _rendered(plan)
    made: list[Product] = []
    published = photo_count = 0
    total = len(plan.products)
    for done, item in enumerate(plan.products, start=1):
        shop, owner = shops[item.shop], users[plan.shops[item.shop].owner]
        product = create_product(
            actor=owner,
            shop=shop,
            title=item.title,
            description=item.description,
            category_id=categories[item.category].pk,
            tags=item.tags,
            variants=[
                {
                    "sku": v.sku,
                    "name": v.name,
                    "options": v.options,
                    "price": v.price,
                    "stock_quantity": v.stock_quantity,
                    "weight_grams": v.weight_grams,
                }
                for v in item.variants
            ],
        )
        for position, spec in enumerate(item.photos):
            alt = item.title if position == 0 else f"{item.title}, photo {position + 1}"
            add_image(actor=owner, product=product, upload=_upload(spec, next(photos), f"{product.slug}.jpg"), alt=alt)
            photo_count += 1
        if item.publish:
            product = publish_product(actor=owner, product=product)
            published += 1
            # No service backdates: spread publication over the last months so "newest" has an order.
            product.published_at = now - timedelta(days=item.published_days_ago, minutes=done)
        product.created_at = now - timedelta(days=item.published_days_ago + 1, minutes=done)
        product.popularity = item.popularity
        made.append(product)
        progress("products", done, total)
    Product.objects.bulk_update(made, ["published_at", "created_at", "popularity"], batch_size=200)
    return published, photo_count


# Apps that add their own demo data on top of the catalog, in this order (orders need delivery methods).
DEMO_EXTENSIONS = [
    "agora.shipping.demo",
    "agora.social.demo",
    "agora.orders.demo",
    "agora.groupbuy.demo",
    "agora.promotions.demo",
]


def _extensions() -> list[Callable[..., None]]:
    return [importlib.import_module(name).seed for name in DEMO_EXTENSIONS if importlib.util.find_spec(name)]


def load_plan(plan: DemoPlan, *, progress: Progress = _no_progress) -> LoadResult:
    """Create everything in ``plan`` in one transaction: all of it, or (on any error) none of it."""
    with transaction.atomic():
        admin, admin_created = _operator()
        categories = _categories(plan, admin)
        users = _users(plan, progress)
        shops = _shops(plan, users, progress)
        published, photos = _products(plan, shops, users, categories, progress)
        for seed in _extensions():
            seed(shops=shops, users=users, progress=progress)
    forget_category_tree()
    return LoadResult(
        users=len(users),
        shops=len(shops),
        products=len(plan.products),
        published=published,
        photos=photos,
        admin_created=admin_created,
    )
