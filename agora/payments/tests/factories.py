from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

from agora.payments import services
from agora.payments.models import Payment


def paid(*, amount: str = "50.00", currency: str = "EUR", method: str = "sandbox_card", **kwargs: Any) -> Payment:
    """A payment through the services (the configured gateway), with a fresh idempotency key."""
    options: dict[str, Any] = {
        "payer": None,
        "payer_email": "shopper@example.com",
        "reference": "checkout:test",
        "capture": True,
        "idempotency_key": f"test-{uuid4()}",
        **kwargs,
    }
    return services.start_payment(amount=Decimal(amount), currency=currency, method=method, **options)
