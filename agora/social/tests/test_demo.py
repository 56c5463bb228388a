"""The social part of `manage.py demo`: a living graph and shoppable posts, made through the services."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from agora.catalog.models import ProductStatus
from agora.social.models import Comment, Follow, Like, Poll, Post, ProductTag

pytestmark = pytest.mark.django_db


def test_demo_makes_social_life(settings: Any) -> None:
    # The production limits: the demo must stay within them (it clears its people's counters as it goes).
    settings.AGORA_SOCIAL_POST_RATE_LIMIT = 30
    settings.AGORA_SOCIAL_COMMENT_RATE_LIMIT = 30
    settings.AGORA_SOCIAL_FOLLOW_RATE_LIMIT = 100
    out, err = io.StringIO(), io.StringIO()
    call_command("demo", stdout=out, stderr=err, products=30, users=10, seed=1)
    assert "social 6/6" in err.getvalue()
    assert Follow.objects.filter(target_user__isnull=False).count() >= 10
    assert Follow.objects.filter(target_shop__isnull=False).exists()
    posts = Post.objects.filter(repost_of__isnull=True)
    assert posts.filter(shop__isnull=True).count() >= 5 and posts.filter(shop__isnull=False).exists()
    assert posts.filter(sponsor__isnull=False).count() == 1
    assert Post.objects.filter(repost_of__isnull=False).exists()
    tags = ProductTag.objects.select_related("product", "photo")
    assert tags.exists() and all(t.product.status == ProductStatus.PUBLISHED and t.photo for t in tags)
    assert Like.objects.exists() and Comment.objects.filter(parent__isnull=False).exists()
    assert Poll.objects.get().votes_count > 0
    # Post times are spread over the last two weeks.
    newest, oldest = posts.order_by("-created_at")[0].created_at, posts.order_by("created_at")[0].created_at
    assert (newest - oldest).days >= 7
