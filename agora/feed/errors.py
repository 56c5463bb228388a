from agora.core.errors import NotFound, ValidationFailed


class CursorInvalid(ValidationFailed):
    code = "cursor_invalid"


class FeedBackendUnknown(ValidationFailed):
    code = "feed_backend_unknown"


class HashtagNotFound(NotFound):
    code = "hashtag_not_found"
