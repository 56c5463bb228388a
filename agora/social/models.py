"""The social graph (follows, requests, blocks), posts with photos and product tags, engagement, share links, polls.

Visibility rules live in ``agora.social.selectors`` (``visible_posts``/``can_view_post``); every read goes through them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.catalog.models import Product, Variant
from agora.shops.models import Shop


# --- graph ----------------------------------------------------------------------------
class Follow(models.Model):
    """An approved follow of a user or of a shop (exactly one target). Pending requests are FollowRequest rows."""

    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set")
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="follower_set"
    )
    target_shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="follower_set")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(target_user__isnull=False) & Q(target_shop__isnull=True))
                | (Q(target_user__isnull=True) & Q(target_shop__isnull=False)),
                name="follow_exactly_one_target",
            ),
            models.CheckConstraint(condition=~Q(follower=F("target_user")), name="follow_not_self"),
            models.UniqueConstraint(
                fields=["follower", "target_user"], condition=Q(target_user__isnull=False), name="follow_user_unique"
            ),
            models.UniqueConstraint(
                fields=["follower", "target_shop"], condition=Q(target_shop__isnull=False), name="follow_shop_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["target_user", "-created_at"], name="follow_target_user_idx"),
            models.Index(fields=["target_shop", "-created_at"], name="follow_target_shop_idx"),
            models.Index(fields=["follower", "-created_at"], name="follow_follower_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.target_user_id or f'shop {self.target_shop_id}'}"


class FollowRequest(models.Model):
    """A request to follow a private account, waiting for its owner to approve or decline it."""

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_requests")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["requester", "target"], name="follow_request_unique"),
            models.CheckConstraint(condition=~Q(requester=F("target")), name="follow_request_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.requester_id} ? {self.target_id}"


class Block(models.Model):
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} ⊘ {self.blocked_id}"


class UserStats(models.Model):
    """Denormalised counters of a user's graph, changed with F() next to the rows they count."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="social_stats"
    )
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    posts_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"stats of {self.user_id}"


class ShopStats(models.Model):
    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, primary_key=True, related_name="social_stats")
    followers_count = models.PositiveIntegerField(default=0)
    posts_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"stats of shop {self.shop_id}"


# --- posts ----------------------------------------------------------------------------
class Post(models.Model):
    """A post by a user, or by a shop (``shop`` set; ``author`` is the staff member who wrote it).

    A repost has ``repost_of`` (always an original, never a repost) and an optional comment in ``text``.
    Deleting is soft (``deleted_at``) so reposts, share links and their attribution survive; hidden posts were
    taken down by a moderator. Neither is shown to anyone.
    """

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="posts")
    text = models.TextField(_("text"), blank=True)
    repost_of = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="reposts")
    # "Paid partnership with <sponsor>": set by the author; see docs/social.md for who may name which shop.
    sponsor = models.ForeignKey(Shop, on_delete=models.SET_NULL, null=True, blank=True, related_name="sponsored_posts")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    likes_count = models.PositiveIntegerField(default=0)
    comments_count = models.PositiveIntegerField(default=0)
    reposts_count = models.PositiveIntegerField(default=0)
    shares_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live repost of a post per person (reposting again returns the existing one).
            models.UniqueConstraint(
                fields=["author", "repost_of"],
                condition=Q(repost_of__isnull=False, deleted_at__isnull=True, shop__isnull=True),
                name="post_one_repost_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["author", "-created_at", "-id"], name="post_author_idx"),
            models.Index(fields=["shop", "-created_at", "-id"], name="post_shop_idx"),
            models.Index(fields=["-created_at", "-id"], name="post_created_idx"),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} by {self.author_id}"

    @property
    def is_live(self) -> bool:
        return self.hidden_at is None and self.deleted_at is None

    @property
    def is_repost(self) -> bool:
        return self.repost_of_id is not None


class PostPhoto(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="posts/%Y/%m/")
    thumbnail_small = models.ImageField(upload_to="posts/thumbs/%Y/%m/")
    thumbnail_medium = models.ImageField(upload_to="posts/thumbs/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    alt = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.post_id} photo #{self.position}"


class ProductTag(models.Model):
    """A post points at a product (or one of its variants), optionally at a spot (x, y in 0..1) on one photo."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="product_tags")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="post_tags")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, null=True, blank=True, related_name="post_tags")
    photo = models.ForeignKey(PostPhoto, on_delete=models.CASCADE, null=True, blank=True, related_name="tags")
    # Positions on a picture, not money: floats are fine.
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(x__isnull=True) & Q(y__isnull=True))
                | (Q(x__gte=0) & Q(x__lte=1) & Q(y__gte=0) & Q(y__lte=1) & Q(photo__isnull=False)),
                name="product_tag_position_on_photo",
            ),
        ]
        indexes = [models.Index(fields=["product", "-post"], name="product_tag_product_idx")]

    def __str__(self) -> str:
        return f"{self.post_id} → product {self.product_id}"


class Hashtag(models.Model):
    name = models.CharField(max_length=100, unique=True)  # lower case, without "#"
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"#{self.name}"


class PostHashtag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_hashtags")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="post_hashtags")
    # The post's own time, copied, so a hashtag page is one index range scan.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "hashtag"], name="post_hashtag_unique")]
        indexes = [models.Index(fields=["hashtag", "-created_at"], name="post_hashtag_recent_idx")]

    def __str__(self) -> str:
        return f"{self.post_id} #{self.hashtag_id}"


class Mention(models.Model):
    """@username in a post (comment null) or in a comment on it."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mentions")
    comment = models.ForeignKey("Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "user"], condition=Q(comment__isnull=True), name="mention_unique_in_post"
            ),
            models.UniqueConstraint(
                fields=["comment", "user"], condition=Q(comment__isnull=False), name="mention_unique_in_comment"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="mention_user_idx")]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.post_id}"


# --- engagement -----------------------------------------------------------------------
class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_unique")]
        indexes = [models.Index(fields=["post", "-created_at"], name="like_post_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.post_id}"


class Comment(models.Model):
    """A comment on a post, or a reply to a top-level comment (one level of threading)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["post", "parent", "created_at"], name="comment_post_idx")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.post_id}"

    @property
    def is_live(self) -> bool:
        return self.hidden_at is None and self.deleted_at is None


class ShareTarget(models.TextChoices):
    POST = "post", _("Post")
    PRODUCT = "product", _("Product")


class ShareLink(models.Model):
    """A short link to a post or a product, made by a person: opens (and later purchases) are attributed to it."""

    code = models.CharField(max_length=16, unique=True)
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, blank=True, related_name="share_links")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="share_links")
    channel = models.CharField(max_length=32, blank=True)  # where the sharer said they shared it ("whatsapp", ...)
    created_at = models.DateTimeField(default=timezone.now)
    opens_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(post__isnull=False) & Q(product__isnull=True))
                | (Q(post__isnull=True) & Q(product__isnull=False)),
                name="share_link_exactly_one_target",
            ),
            # "Copy link" twice (or two taps at once) gives one link per sharer, target and channel.
            models.UniqueConstraint(
                fields=["sharer", "post", "channel"], condition=Q(post__isnull=False), name="share_link_unique_post"
            ),
            models.UniqueConstraint(
                fields=["sharer", "product", "channel"],
                condition=Q(product__isnull=False),
                name="share_link_unique_product",
            ),
        ]
        indexes = [models.Index(fields=["sharer", "-created_at"], name="share_link_sharer_idx")]

    def __str__(self) -> str:
        return self.code

    @property
    def target_kind(self) -> str:
        return ShareTarget.POST if self.post_id else ShareTarget.PRODUCT


class ShareOpen(models.Model):
    """One opening of a share link, by a signed-in viewer or an anonymous session."""

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="opens")
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["link", "-opened_at"], name="share_open_link_idx"),
            models.Index(fields=["viewer", "-opened_at"], name="share_open_viewer_idx"),
            models.Index(fields=["session_key", "-opened_at"], name="share_open_session_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.link_id} opened {self.opened_at:%Y-%m-%d %H:%M}"


# --- polls ----------------------------------------------------------------------------
class Poll(models.Model):
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="poll")
    question = models.CharField(_("question"), max_length=200)
    closes_at = models.DateTimeField()
    # Set by the periodic task once the closing was announced, so it is announced once.
    closed_notified_at = models.DateTimeField(null=True, blank=True)
    votes_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["closed_notified_at", "closes_at"], name="poll_due_idx")]

    def __str__(self) -> str:
        return self.question

    @property
    def is_open(self) -> bool:
        return self.closes_at > timezone.now()


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    text = models.CharField(_("text"), max_length=100)
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    position = models.PositiveIntegerField(default=0)
    votes_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class PollVote(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="poll_votes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="poll_one_vote_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id} voted {self.option_id}"
