"""Demo social life for `manage.py demo`: follows (and a few private accounts), posts with product photos and
tags, shop posts, a sponsored post, likes, comments and replies, reposts, share links and a poll.

Called after the catalog exists. Everything goes through the services, as the person who would do it; the only
raw writes spread the posts' times over the last two weeks (no service backdates) and clear the rate-limit
counters the demo people would otherwise hit (they do in a second what people do over days).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.utils import timezone

from agora.accounts.models import User
from agora.accounts.services import update_profile
from agora.catalog.models import Product, ProductImage, ProductStatus
from agora.core.errors import DomainError
from agora.core.ratelimit import reset
from agora.shops.models import Membership, Role, Shop
from agora.social import services
from agora.social.models import Post, PostHashtag

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
SEED = 4

CAPTIONS = [
    "Finally got my hands on this one #newin #haul",
    "Obsessed with the colour #ootd",
    "Gift idea for anyone who has everything #giftideas",
    "Week two and I still love it #honestreview",
    "Small shops, big quality #shopsmall",
    "Found this gem today, had to share #treasure",
    "Unboxing! Packaging was lovely #unboxing #shopsmall",
    "This is how I style it #styleinspo",
]
SHOP_CAPTIONS = [
    "Fresh from the workshop: tap the tags to shop #newarrivals",
    "Back in stock, and the first batch went in a day #restock",
    "Behind the scenes of our latest piece #handmade #makersgonnamake",
]
COMMENTS = [
    "Love this!",
    "Where did you get it?",
    "The colour is perfect",
    "Adding to my wishlist",
    "How is the size?",
    "Gorgeous",
    "I have the same one, no regrets",
    "Need this in my life",
]
REPLIES = ["Tap the tag on the photo!", "True to size for me", "Thank you!", "Same here", "Highly recommend"]


def _owner(shop: Shop) -> User | None:
    membership = Membership.objects.select_related("user").filter(shop=shop, role=Role.OWNER).order_by("id").first()
    return membership.user if membership is not None else None


def _calm(user: User) -> None:
    for action in ("post", "comment", "follow"):
        reset(f"social.{action}", str(user.pk))


def _photo(image: ProductImage) -> ContentFile[bytes]:
    with image.image.open("rb") as source:
        return ContentFile(source.read(), name="demo-post.jpg")


def _first_image(product: Product) -> ProductImage:
    return min(product.images.all(), key=lambda image: (image.position, image.pk))  # prefetched: no query


def _try(call: Callable[..., T], **kwargs: Any) -> T | None:
    # A demo rule hit (a block, a private account) is part of life: skip that one action, keep the rest.
    try:
        return call(**kwargs)
    except DomainError:
        return None


def seed(*, shops: Sequence[Shop], users: Sequence[User], progress: Progress) -> None:
    rng = random.Random(SEED)
    people = list(users)
    if len(people) < 3:
        return
    products = list(
        Product.objects.filter(status=ProductStatus.PUBLISHED, shop__in=list(shops), images__isnull=False)
        .select_related("shop")
        .prefetch_related("images", "variants")
        .distinct()
        .order_by("id")
    )
    if not products:
        return
    demo, others = people[0], people[1:]
    stages = 6

    # 1. A few private accounts, and the graph: everyone follows some people and some shops.
    for person in rng.sample(others, k=max(1, len(others) // 8)):
        update_profile(user=person, is_private=True)
    for person in people:
        count = min(len(people) - 1, 25 if person is demo else rng.randint(3, 9))
        for target in rng.sample([p for p in people if p.pk != person.pk], k=count):
            services.follow_user(actor=person, target=target)
        for shop in rng.sample(list(shops), k=min(len(shops), rng.randint(1, 3))):
            services.follow_shop(actor=person, shop=shop)
        _calm(person)
    for person in people:
        if person.is_private:
            for pending in list(person.follow_requests.all()[:6]):  # type: ignore[attr-defined]
                services.approve_request(actor=person, requester=pending.requester)
    progress("social", 1, stages)

    # 2. People post a product they love, with its photo and a tag on it.
    posts: list[Post] = []
    for person in others[: min(len(others), 30)]:
        for _ in range(rng.randint(1, 2)):
            product = rng.choice(products)
            variants = [v for v in product.variants.all() if v.is_active]
            tag = {"product_id": product.pk, "photo": 0, "x": round(rng.uniform(0.3, 0.7), 2), "y": 0.55}
            if variants:
                tag["variant_id"] = rng.choice(variants).pk
            post = _try(
                services.create_post,
                actor=person,
                text=rng.choice(CAPTIONS),
                photos=[_photo(_first_image(product))],
                tags=[tag],
            )
            if post is not None:
                posts.append(post)
        _calm(person)
    progress("social", 2, stages)

    # 3. Shops post their products; one person's post is a paid partnership with a shop.
    for shop in shops:
        owner = _owner(shop)
        mine = [p for p in products if p.shop_id == shop.pk][:3]
        if owner is None or not mine:
            continue
        photos = [_photo(_first_image(p)) for p in mine]
        tags = [{"product_id": p.pk, "photo": i, "x": 0.5, "y": 0.5} for i, p in enumerate(mine)]
        post = services.create_post(actor=owner, shop=shop, text=rng.choice(SHOP_CAPTIONS), photos=photos, tags=tags)
        posts.append(post)
        _calm(owner)
    if shops and others:
        sponsor = shops[0]
        product = next((p for p in products if p.shop_id == sponsor.pk), products[0])
        creator = others[-1]
        posts.append(
            services.create_post(
                actor=creator,
                text=f"Teaming up with {sponsor.name} this month. Honest thoughts below! #ad",
                photos=[_photo(_first_image(product))],
                tags=[{"product_id": product.pk, "photo": 0, "x": 0.5, "y": 0.6}],
                sponsor=sponsor,
            )
        )
    progress("social", 3, stages)

    # 4. A poll: which of these should the first shop make more of?
    poll_post: Post | None = None
    first_owner = _owner(shops[0]) if shops else None
    candidates = [p for p in products if shops and p.shop_id == shops[0].pk][:3]
    if first_owner is not None and len(candidates) >= 2:
        poll_post = services.create_post(
            actor=first_owner,
            shop=shops[0],
            text="Help us plan the next batch #poll",
            poll={
                "question": "Which one should we make more of?",
                "options": [{"product_id": p.pk} for p in candidates],
                "closes_at": timezone.now() + timedelta(days=3),
            },
        )
        posts.append(poll_post)
    progress("social", 4, stages)

    # 5. Likes, comments and replies, reposts and share links.
    now = timezone.now()
    for person in people:
        for post in rng.sample(posts, k=min(len(posts), rng.randint(3, 12))):
            _try(services.like_post, actor=person, post=post)
        _calm(person)
    for post in rng.sample(posts, k=min(len(posts), 25)):
        commenter = rng.choice(people)
        comment = _try(services.add_comment, actor=commenter, post=post, text=rng.choice(COMMENTS))
        if comment is not None and rng.random() < 0.5:
            _try(services.add_comment, actor=post.author, post=post, text=rng.choice(REPLIES), parent_id=comment.pk)
        _calm(commenter)
        _calm(post.author)
    for post in rng.sample(posts, k=min(len(posts), 8)):
        reposter = rng.choice(people)
        _try(services.repost, actor=reposter, post=post, text="Look at this")
        _try(services.create_share_link, actor=reposter, post=post)
        _calm(reposter)
    if poll_post is not None:
        poll = poll_post.poll  # type: ignore[attr-defined]
        options = list(poll.options.all())
        for person in people[: min(len(people), 15)]:
            _try(services.vote, actor=person, poll=poll, option_id=rng.choice(options).pk)
    progress("social", 5, stages)

    # 6. Spread the posts over the last two weeks, newest last as they were made.
    ordered = list(Post.objects.filter(author__in=people).order_by("id"))
    for index, post in enumerate(ordered):
        post.created_at = now - timedelta(hours=(len(ordered) - index) * 336 / max(len(ordered), 1))
    Post.objects.bulk_update(ordered, ["created_at"], batch_size=200)
    for post in ordered:
        PostHashtag.objects.filter(post=post).update(created_at=post.created_at)
    progress("social", 6, stages)
