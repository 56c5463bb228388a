from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.core.money import CURRENCY_CHOICES


def _public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def new_payment_id() -> str:
    return _public_id("pay")


def new_refund_id() -> str:
    return _public_id("re")


def new_sandbox_charge_id() -> str:
    return _public_id("sbx_ch")


def new_sandbox_refund_id() -> str:
    return _public_id("sbx_re")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Waiting for the shopper")
    AUTHORIZED = "authorized", _("Authorised")
    CAPTURED = "captured", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    VOIDED = "voided", _("Voided")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")


# Statuses whose outcome the gateway still has to tell us (reconciliation asks it).
UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)
# Money was taken.
PAID = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class Payment(models.Model):
    """One charge attempt through a gateway, for an amount in one currency.

    The row is committed as "pending" before the gateway is called, so a timeout or a crash leaves a record
    that reconciliation can settle. ``refunded_amount`` is always the sum of the succeeded refunds.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_payment_id, editable=False)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=3)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(_("status"), max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    captured_amount = models.DecimalField(_("captured"), default=Decimal(0), max_digits=12, decimal_places=3)
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal(0), max_digits=12, decimal_places=3)
    # False: authorise now, capture later (team purchases).
    capture = models.BooleanField(default=True)
    gateway = models.CharField(_("gateway"), max_length=16)
    gateway_reference = models.CharField(max_length=255, blank=True, db_index=True)
    method = models.CharField(_("method"), max_length=80)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # Stripe: what Stripe.js needs to confirm the payment in the browser. Shown to the payer only.
    client_secret = models.CharField(max_length=255, blank=True)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    payer_email = models.EmailField(blank=True)
    reference = models.CharField(_("reference"), max_length=120, db_index=True)
    description = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    authorized_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__lte=models.F("amount")), name="payment_captured_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("captured_amount")), name="payment_refunded_within_captured"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def refundable_amount(self) -> Decimal:
        return self.captured_amount - self.refunded_amount


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_refund_id, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    gateway_reference = models.CharField(max_length=255, blank=True, db_index=True)
    failure_message = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return self.public_id


class PaymentEvent(models.Model):
    """The history of a payment: each status it took, what moved it there (start, webhook, reconcile...)."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    previous_status = models.CharField(max_length=24, blank=True)
    status = models.CharField(max_length=24)
    source = models.CharField(max_length=24)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.previous_status or '-'} → {self.status}"


class StripeEvent(models.Model):
    """A Stripe webhook event already handled: the unique id makes a replayed delivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    livemode = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


# --- the sandbox gateway's own books ------------------------------------------------------
class SandboxCharge(models.Model):
    """What the sandbox gateway did: it answers ``retrieve`` from here, also after a simulated timeout."""

    reference = models.CharField(max_length=40, unique=True, default=new_sandbox_charge_id)
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=80)
    status = models.CharField(max_length=24)
    captured_amount = models.DecimalField(default=Decimal(0), max_digits=12, decimal_places=3)
    refunded_amount = models.DecimalField(default=Decimal(0), max_digits=12, decimal_places=3)
    decline_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.reference


class SandboxRefund(models.Model):
    reference = models.CharField(max_length=40, unique=True, default=new_sandbox_refund_id)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    # The Agora refund it was made for (Stripe keeps this in the refund's metadata).
    refund_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.reference
