from agora.core.errors import Conflict, ValidationFailed


class IdempotencyKeyInvalid(ValidationFailed):
    code = "idempotency_key_invalid"


class IdempotencyKeyReused(ValidationFailed):
    """The key was used before for a different request (another body, path or method)."""

    code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    """The first request with this key is still running; the client should retry a little later."""

    code = "idempotency_in_progress"
