"""What agora.social tells the rest of Agora (the feed first of all).

Every signal is sent by a service right after its write, inside the write's transaction: a receiver that does
slow work (Redis, Celery) must wrap it in ``transaction.on_commit``. ``sender`` is the model class named below.

    post_published(sender=Post, post: Post)
        A post (or a repost) became visible: created. Not sent for edits.
    post_removed(sender=Post, post: Post)
        A post disappeared for everyone: deleted by its author or hidden by a moderator.
    follow_started(sender=Follow, follower_id: int, target_user_id: int | None, target_shop_id: int | None)
        An approved follow now exists (direct follow, or a follow request approved).
    follow_ended(sender=Follow, follower_id: int, target_user_id: int | None, target_shop_id: int | None)
        An approved follow was removed (unfollow, remove-a-follower, or a block).
    user_blocked(sender=Block, blocker_id: int, blocked_id: int)
        Sent after the follows both ways were removed (each of those also sent follow_ended).
    user_unblocked(sender=Block, blocker_id: int, blocked_id: int)
    post_liked(sender=Like, post: Post, user_id: int)           # only when a new like was stored
    post_unliked(sender=Like, post: Post, user_id: int)
    post_commented(sender=Comment, post: Post, comment: Comment)
    post_shared(sender=Post | ShareLink, post: Post | None, product_id: int | None, user_id: int, kind: str)
        kind "repost" (sender=Post, the new repost is ``repost``) or "link" (sender=ShareLink, ``link``).
        ``post`` is None for a share link to a product.
    account_privacy_changed(sender=User, user_id: int, is_private: bool)
        A person's account turned private or public (``services.set_private``). Going public first approved the
        pending follow requests (each sent follow_started).
"""

from __future__ import annotations

from django.dispatch import Signal

post_published = Signal()
post_removed = Signal()
follow_started = Signal()
follow_ended = Signal()
user_blocked = Signal()
user_unblocked = Signal()
post_liked = Signal()
post_unliked = Signal()
post_commented = Signal()
post_shared = Signal()
account_privacy_changed = Signal()
