from agora.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class FlashDealInvalid(ValidationFailed):
    code = "flash_deal_invalid"


class FlashDealNotFound(NotFound):
    code = "flash_deal_not_found"


class FlashDealNotLive(Conflict):
    """Not started yet (or early access only for others), over, ended by the shop, or sold out."""

    code = "flash_deal_not_live"


class FlashLimitReached(Conflict):
    code = "limit_reached"


class FlashDealForbidden(PermissionDenied):
    code = "flash_deal_forbidden"
