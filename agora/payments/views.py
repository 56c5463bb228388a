"""The Stripe webhook: ``POST /payments/stripe/webhook`` (plain Django view: Stripe signs the raw body)."""

from __future__ import annotations

import logging

import stripe
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agora.payments.gateways.base import GatewayError
from agora.payments.services import handle_stripe_event

logger = logging.getLogger("agora.payments")


def _error(message: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code}, status=status)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify the Stripe-Signature header, then apply the event once (replays of an event id are no-ops)."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return _error(_("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET is empty)."), "not_configured", 503)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(request.body.decode("utf-8"), signature, secret)
    except (ValueError, UnicodeDecodeError):
        return _error(_("The body is not a Stripe event (invalid JSON)."), "invalid_payload", 400)
    except stripe.SignatureVerificationError:
        return _error(
            _("The Stripe-Signature header does not match the body: check STRIPE_WEBHOOK_SECRET."),
            "invalid_signature",
            400,
        )
    data = event.to_dict()
    obj = (data.get("data") or {}).get("object") or {}
    try:
        outcome = handle_stripe_event(
            event_id=str(data.get("id", "")),
            event_type=str(data.get("type", "")),
            obj=obj,
            livemode=bool(data.get("livemode")),
        )
    except GatewayError as exc:
        # Stripe delivers the event again later; nothing of it was recorded.
        logger.warning("stripe_webhook_gateway_error", extra={"event": data.get("id"), "error": exc.message})
        return _error(_("Stripe did not answer while the event was handled. It will be retried."), "gateway_error", 503)
    return JsonResponse({"received": True, "outcome": outcome})
