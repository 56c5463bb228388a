from agora.core.errors import NotFound, ValidationFailed


class DeliveryUnavailable(ValidationFailed):
    """The chosen delivery method cannot be used for this shop and country."""

    code = "delivery_unavailable"


class DeliveryInvalid(ValidationFailed):
    code = "delivery_invalid"


class ZoneNotFound(NotFound):
    code = "delivery_zone_not_found"


class MethodNotFound(NotFound):
    code = "delivery_method_not_found"
