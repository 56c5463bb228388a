"""Where a shop delivers and what it costs: zones of countries, each with its delivery methods."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.shops.models import Shop


class DeliveryZone(models.Model):
    """A group of countries a shop delivers to the same way (e.g. "Domestic", "EU").

    ``countries`` holds ISO 3166 alpha-2 codes; a country is in at most one zone of a shop (the services keep
    it so). A zone with ``everywhere_else`` also covers every country that no other zone of the shop lists
    ("rest of the world"); a shop has at most one such zone.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="delivery_zones")
    name = models.CharField(_("name"), max_length=80)
    countries = models.JSONField(_("countries"), default=list, blank=True)
    everywhere_else = models.BooleanField(_("everywhere else"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop"], condition=Q(everywhere_else=True), name="delivery_zone_one_everywhere_else"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop} · {self.name}"


class DeliveryMethod(models.Model):
    """A way to deliver into a zone, priced in the shop's currency; free from ``free_over`` (shop subtotal) on."""

    zone = models.ForeignKey(DeliveryZone, on_delete=models.CASCADE, related_name="methods")
    # Copied from the zone so that a shop's methods are one indexed filter away (and checks need no join).
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="delivery_methods")
    name = models.CharField(_("name"), max_length=80)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=3)
    free_over = models.DecimalField(_("free over"), max_digits=12, decimal_places=3, null=True, blank=True)
    min_days = models.PositiveSmallIntegerField(_("min days"), default=1)
    max_days = models.PositiveSmallIntegerField(_("max days"), default=5)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=Decimal("0")), name="delivery_price_not_negative"),
            models.CheckConstraint(
                condition=Q(free_over__isnull=True) | Q(free_over__gte=Decimal("0")),
                name="delivery_free_over_not_negative",
            ),
            models.CheckConstraint(condition=Q(min_days__lte=F("max_days")), name="delivery_days_in_order"),
        ]
        indexes = [models.Index(fields=["shop", "is_active"])]

    def __str__(self) -> str:
        return f"{self.zone} · {self.name}"

    @property
    def currency(self) -> str:
        return self.shop.currency
