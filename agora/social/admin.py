"""The operator's back office for the social side: moderating posts and comments, looking at the graph.

Hiding goes through the services (as the signed-in operator), so counters and the feed's signals stay right.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agora.social import services
from agora.social.models import (
    Block,
    Comment,
    Follow,
    FollowRequest,
    Hashtag,
    Poll,
    PollOption,
    Post,
    PostPhoto,
    ProductTag,
    ShareLink,
)


class PostPhotoInline(admin.TabularInline):
    model = PostPhoto
    extra = 0
    fields = ("image", "width", "height", "alt", "position")
    readonly_fields = ("image", "width", "height")


class ProductTagInline(admin.TabularInline):
    model = ProductTag
    extra = 0
    raw_id_fields = ("product", "variant", "photo")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "shop", "short_text", "created_at", "likes_count", "comments_count", "hidden_at")
    list_select_related = ("author", "shop")
    list_filter = ("hidden_at", "deleted_at")
    search_fields = ("text", "author__username", "shop__name")
    raw_id_fields = ("author", "shop", "sponsor", "repost_of")
    readonly_fields = ("likes_count", "comments_count", "reposts_count", "shares_count", "created_at", "edited_at")
    inlines = [PostPhotoInline, ProductTagInline]
    actions = ["hide_posts"]

    @admin.display(description=_("text"))
    def short_text(self, obj: Post) -> str:
        return obj.text[:80]

    @admin.action(description=_("Hide the selected posts"))
    def hide_posts(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        count = 0
        for post in queryset:
            services.hide_post(actor=request.user, post=post)  # type: ignore[arg-type]
            count += 1
        self.message_user(
            request, ngettext("%(n)d post hidden.", "%(n)d posts hidden.", count) % {"n": count}, messages.SUCCESS
        )


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "author", "text", "created_at", "hidden_at", "deleted_at")
    list_select_related = ("author", "post")
    search_fields = ("text", "author__username")
    raw_id_fields = ("post", "author", "parent", "hidden_by")
    actions = ["hide_comments"]

    @admin.action(description=_("Hide the selected comments"))
    def hide_comments(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment in queryset.select_related("post"):
            services.hide_comment(actor=request.user, comment=comment)  # type: ignore[arg-type]
        self.message_user(request, _("Hidden."), messages.SUCCESS)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "target_user", "target_shop", "created_at")
    list_select_related = ("follower", "target_user", "target_shop")
    raw_id_fields = ("follower", "target_user", "target_shop")


@admin.register(FollowRequest)
class FollowRequestAdmin(admin.ModelAdmin):
    list_display = ("requester", "target", "created_at")
    list_select_related = ("requester", "target")
    raw_id_fields = ("requester", "target")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    raw_id_fields = ("blocker", "blocked")


@admin.register(Hashtag)
class HashtagAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


class PollOptionInline(admin.TabularInline):
    model = PollOption
    extra = 0
    raw_id_fields = ("product", "variant")
    readonly_fields = ("votes_count",)


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ("question", "post", "closes_at", "votes_count", "closed_notified_at")
    raw_id_fields = ("post",)
    inlines = [PollOptionInline]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("code", "sharer", "post", "product", "channel", "opens_count", "created_at")
    list_select_related = ("sharer", "product")
    search_fields = ("code", "sharer__username")
    raw_id_fields = ("sharer", "post", "product")
