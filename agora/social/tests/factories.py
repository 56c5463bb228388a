from __future__ import annotations

import factory

from agora.accounts.tests.factories import UserFactory
from agora.social.models import Post


class PostFactory(factory.django.DjangoModelFactory):
    """A bare post row (no photos, hashtags or signals): for reads. Writes under test use the services."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"Post number {n}")
