"""Web pages of social (included from agora.web.urls, namespace "web").

Post pages live at /p/<id>/ for good: notifications and share links point there.
"""

from django.urls import URLPattern, path, register_converter

from agora.web.views import social, social_discover, social_people


class _Segment:
    """A path segment like ``str`` but without NUL: PostgreSQL refuses NUL in a query, so such an address is a
    404 here rather than a 500 further down."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(_Segment, "segment")

_post = "p/<int:post_id>/"
_user = "u/<segment:username>/"
_shop = "s/<slug:shop_slug>/"

urlpatterns: list[URLPattern] = [
    # the home feed and the composer
    path("feed/", social.feed, name="feed"),
    path("feed/post/", social.post_create, name="post_create"),
    path("feed/products/", social.tag_products, name="tag_products"),
    # one post
    path(_post, social.post_detail, name="post"),
    path(_post + "delete/", social.post_delete, name="post_delete"),
    path(_post + "edit/", social.post_edit, name="post_edit"),
    path(_post + "sponsor/remove/", social.post_unsponsor, name="post_unsponsor"),
    path(_post + "like/", social.post_like, name="post_like"),
    path(_post + "unlike/", social.post_unlike, name="post_unlike"),
    path(_post + "comments/", social.post_comments, name="post_comments"),
    path(_post + "repost/", social.post_repost, name="post_repost"),
    path(_post + "share/", social.post_share, name="post_share"),
    path(_post + "poll/", social.post_poll, name="post_poll"),
    path(_post + "vote/", social.poll_vote, name="poll_vote"),
    path("comments/<int:comment_id>/edit/", social.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", social.comment_delete, name="comment_delete"),
    path("comments/<int:comment_id>/hide/", social.comment_hide, name="comment_hide"),
    path("comments/<int:comment_id>/unhide/", social.comment_unhide, name="comment_unhide"),
    # share links
    path("products/<int:product_id>/share/", social.product_share, name="product_share"),
    path("products/<int:product_id>/friends/", social.product_friends, name="product_friends"),
    path("l/<segment:code>", social.share_open, name="share"),
    path("l/<segment:code>/", social.share_open, name="share_slash"),
    # discovery
    path("explore/", social_discover.explore, name="explore"),
    path("tags/<segment:name>/", social_discover.hashtag, name="hashtag"),
    # people
    path(_user + "posts/", social_people.profile_posts, name="profile_posts"),
    path(_user + "followers/", social_people.followers, name="followers"),
    path(_user + "following/", social_people.following, name="following"),
    path(_user + "follow/", social_people.follow_user, name="follow_user"),
    path(_user + "unfollow/", social_people.unfollow_user, name="unfollow_user"),
    path(_user + "block/", social_people.block_user, name="block_user"),
    path(_user + "unblock/", social_people.unblock_user, name="unblock_user"),
    path(_user + "remove-follower/", social_people.remove_follower, name="remove_follower"),
    path("follow-requests/", social_people.follow_requests, name="follow_requests"),
    path("follow-requests/<int:request_id>/approve/", social_people.follow_request_approve, name="follow_approve"),
    path("follow-requests/<int:request_id>/decline/", social_people.follow_request_decline, name="follow_decline"),
    path("accounts/blocked/", social_people.blocked_users, name="blocked_users"),
    path("accounts/privacy/", social_people.privacy, name="privacy"),
    # shops
    path(_shop + "posts/", social_people.shop_posts, name="shop_posts"),
    path(_shop + "followers/", social_people.shop_followers, name="shop_followers"),
    path(_shop + "follow/", social_people.follow_shop, name="follow_shop"),
    path(_shop + "unfollow/", social_people.unfollow_shop, name="unfollow_shop"),
]
