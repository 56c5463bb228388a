"""Payment gateways: ``get_gateway()`` returns the configured one (``AGORA_PAYMENT_GATEWAY``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from agora.payments.gateways.base import PaymentGateway

GATEWAYS = ("sandbox", "stripe")


def get_gateway(name: str | None = None) -> PaymentGateway:
    """The gateway called ``name``, or the configured one. A payment keeps using the gateway it started with."""
    name = name or settings.AGORA_PAYMENT_GATEWAY
    if name == "sandbox":
        from agora.payments.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "stripe":
        from agora.payments.gateways.stripe import StripeGateway

        return StripeGateway.from_settings()
    raise ImproperlyConfigured(f"AGORA_PAYMENT_GATEWAY must be one of {', '.join(GATEWAYS)}, not {name!r}")
