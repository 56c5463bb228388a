"""Flash deals: a variant at a lower price, for a few units and a short time (with early access for some)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.catalog.models import Variant
from agora.core.money import CURRENCY_CHOICES
from agora.shops.models import Shop


class EarlyAccess(models.TextChoices):
    NONE = "none", _("Nobody: everyone at the start")
    FOLLOWERS = "followers", _("The shop's followers")
    BEST_CUSTOMERS = "best_customers", _("The shop's best customers")


class FlashDeal(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="flash_deals")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="flash_deals")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    deal_price = models.DecimalField(max_digits=12, decimal_places=3)
    quantity = models.PositiveIntegerField()
    # Units held by orders placed at the deal price (given back when such an order closes unpaid).
    sold = models.PositiveIntegerField(default=0)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    per_user_limit = models.PositiveSmallIntegerField(default=1)
    early_access = models.CharField(max_length=16, choices=EarlyAccess.choices, default=EarlyAccess.NONE)
    early_minutes = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["is_active", "ends_at"]), models.Index(fields=["variant", "is_active"])]
        constraints = [
            models.CheckConstraint(condition=Q(sold__lte=F("quantity")), name="flash_deal_sold_within_quantity"),
            models.CheckConstraint(condition=Q(deal_price__gte=0), name="flash_deal_price_not_negative"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="flash_deal_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"flash deal {self.pk} on variant {self.variant_id}"

    @property
    def left(self) -> int:
        return max(self.quantity - self.sold, 0)


class FlashClaim(models.Model):
    """Units of a flash deal held by one order (per-user limits count the claims still held)."""

    deal = models.ForeignKey(FlashDeal, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flash_claims")
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="flash_claim")
    quantity = models.PositiveIntegerField()
    released = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["deal", "user", "released"])]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.deal_id} for {self.user_id}"
