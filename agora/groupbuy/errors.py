from agora.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class DealInvalid(ValidationFailed):
    """A group deal's settings do not hold together (prices, team sizes, tiers, dates, stock)."""

    code = "deal_invalid"


class DealNotFound(NotFound):
    code = "deal_not_found"


class DealNotLive(Conflict):
    """The deal has not started, is over, was ended by the shop, or has no units left."""

    code = "deal_not_live"


class TeamNotFound(NotFound):
    code = "team_not_found"


class TeamClosed(Conflict):
    """The team is full, expired, failed or was cancelled: nobody can join it any more."""

    code = "team_closed"


class AlreadyInTeam(Conflict):
    code = "already_in_team"


class LimitReached(Conflict):
    """Above the deal's per-user limit (counting what the shopper already holds in its teams)."""

    code = "limit_reached"


class NewCustomersOnly(Conflict):
    code = "new_customers_only"


class DealForbidden(PermissionDenied):
    code = "deal_forbidden"


class TeamOrderCharging(Conflict):
    """The member's team is complete and their order is being charged: it cannot be cancelled until it is paid."""

    code = "team_order_charging"
