from agora.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class ShopNotFound(NotFound):
    code = "shop_not_found"


class ShopPermissionDenied(PermissionDenied):
    code = "shop_permission_denied"


class SlugTaken(Conflict):
    code = "slug_taken"


class ShopInvalid(ValidationFailed):
    code = "shop_invalid"


class InvitationInvalid(ValidationFailed):
    code = "invitation_invalid"


class LastOwner(Conflict):
    code = "last_owner"
