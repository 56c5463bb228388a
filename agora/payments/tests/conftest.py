from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agora.payments.tests.stripe_standin import StripeStandIn, serve

WEBHOOK_SECRET = "whsec_standin_secret"


@pytest.fixture
def stripe_standin(settings: Any) -> Iterator[StripeStandIn]:
    """Stripe's API served locally, and the settings that point the stripe gateway at it."""
    standin, server = serve()
    settings.AGORA_PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_standin"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = standin.url
    settings.STRIPE_TIMEOUT = 1.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    yield standin
    server.shutdown()
    server.server_close()
