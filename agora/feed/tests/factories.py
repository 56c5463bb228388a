"""Rows for feed tests, written straight to the database (no signals): the tests decide when timelines hear
about them. Tests that need the social services' signals call ``agora.social.services`` instead."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from agora.accounts.models import User
from agora.accounts.tests.factories import UserFactory
from agora.shops.models import Shop
from agora.social.models import Block, Follow, Hashtag, Like, Post, PostHashtag


def user(**kwargs: Any) -> User:
    return UserFactory(**kwargs)


def follow(follower: User, target: User | Shop) -> Follow:
    if isinstance(target, Shop):
        return Follow.objects.create(follower=follower, target_shop=target)
    return Follow.objects.create(follower=follower, target_user=target)


def block(blocker: User, blocked: User) -> Block:
    Follow.objects.filter(follower=blocker, target_user=blocked).delete()
    Follow.objects.filter(follower=blocked, target_user=blocker).delete()
    return Block.objects.create(blocker=blocker, blocked=blocked)


def post(
    author: User,
    *,
    shop: Shop | None = None,
    text: str = "hello",
    at: dt.datetime | None = None,
    repost_of: Post | None = None,
    hashtags: tuple[str, ...] = (),
    **kwargs: Any,
) -> Post:
    created = Post.objects.create(
        author=author, shop=shop, text=text, repost_of=repost_of, created_at=at or timezone.now(), **kwargs
    )
    for name in hashtags:
        tag, _ = Hashtag.objects.get_or_create(name=name)
        PostHashtag.objects.create(post=created, hashtag=tag, created_at=created.created_at)
    return created


def like(who: User, target: Post, *, at: dt.datetime | None = None) -> Like:
    return Like.objects.create(user=who, post=target, created_at=at or timezone.now())
