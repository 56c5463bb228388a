from agora.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class PostNotFound(NotFound):
    code = "post_not_found"


class CommentNotFound(NotFound):
    code = "comment_not_found"


class ShareLinkNotFound(NotFound):
    code = "share_link_not_found"


class PollNotFound(NotFound):
    code = "poll_not_found"


class FollowRequestNotFound(NotFound):
    code = "follow_request_not_found"


class CannotFollowSelf(ValidationFailed):
    code = "cannot_follow_self"


class CannotBlockSelf(ValidationFailed):
    code = "cannot_block_self"


class BlockedError(PermissionDenied):
    """One of the two people blocked the other."""

    code = "blocked"


class PostInvalid(ValidationFailed):
    code = "post_invalid"


class TooManyPhotos(ValidationFailed):
    code = "too_many_photos"


class TooManyTags(ValidationFailed):
    code = "too_many_tags"


class ProductNotTaggable(ValidationFailed):
    code = "product_not_taggable"


class SponsorInvalid(ValidationFailed):
    code = "sponsor_invalid"


class PostRemoved(Conflict):
    """The post was deleted or hidden: nothing more can be added to it."""

    code = "post_removed"


class CannotRepost(ValidationFailed):
    code = "cannot_repost"


class NotYourPost(PermissionDenied):
    code = "not_your_post"


class CommentInvalid(ValidationFailed):
    code = "comment_invalid"


class NotYourComment(PermissionDenied):
    code = "not_your_comment"


class CommentRemoved(Conflict):
    code = "comment_removed"


class PollInvalid(ValidationFailed):
    code = "poll_invalid"


class PollClosed(Conflict):
    code = "poll_closed"


class AlreadyVoted(Conflict):
    code = "already_voted"


class ShareInvalid(ValidationFailed):
    code = "share_invalid"
