"""Team purchases: a shop's group deal, the teams shoppers start on it, and who is in each team.

A team's lower price is unlocked only when enough real people have paid (authorised) for it. Seats are taken
when a member starts paying (``seats_taken`` never exceeds ``max_members``); a member counts towards the
minimum and the price tiers once their payment is authorised (``members_count``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.catalog.models import Product, Variant
from agora.core.money import CURRENCY_CHOICES
from agora.shops.models import Shop


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    # At least one member of each team must be placing their first order on Agora.
    NEW_CUSTOMERS = "new_customers", _("New customers only")


class GroupDeal(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="group_deals")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="group_deals")
    # Empty: every variant of the product.
    variants = models.ManyToManyField(Variant, blank=True, related_name="group_deals")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    # The team price per unit once the team has its minimum; tiers lower it further.
    group_price = models.DecimalField(max_digits=12, decimal_places=3)
    min_members = models.PositiveSmallIntegerField(default=2)
    max_members = models.PositiveSmallIntegerField(default=2)
    fill_hours = models.PositiveSmallIntegerField(default=24)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Units the deal may sell in all (taken when a member starts paying, given back when they leave).
    stock_allotted = models.PositiveIntegerField()
    units_taken = models.PositiveIntegerField(default=0)
    per_user_limit = models.PositiveSmallIntegerField(default=1)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["product", "is_active", "ends_at"]),
            models.Index(fields=["shop", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(units_taken__lte=F("stock_allotted")), name="group_deal_units_within"),
            models.CheckConstraint(condition=Q(group_price__gte=0), name="group_deal_price_not_negative"),
            models.CheckConstraint(condition=Q(max_members__gte=F("min_members")), name="group_deal_max_ge_min"),
            models.CheckConstraint(condition=Q(min_members__gte=2), name="group_deal_min_two"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="group_deal_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"group deal {self.pk} on {self.product_id}"


class DealTier(models.Model):
    """From ``members`` authorised members on, everyone in the team pays ``price`` per unit."""

    deal = models.ForeignKey(GroupDeal, on_delete=models.CASCADE, related_name="tiers")
    members = models.PositiveSmallIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=3)

    class Meta:
        ordering = ["members"]
        constraints = [models.UniqueConstraint(fields=["deal", "members"], name="deal_tier_unique_members")]

    def __str__(self) -> str:
        return f"{self.members}+ members: {self.price}"


class TeamStatus(models.TextChoices):
    PENDING = "pending", _("Starting (the first payment is being authorised)")
    OPEN = "open", _("Open")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed (not enough members in time)")
    CANCELLED = "cancelled", _("Cancelled (the first payment did not go through)")


class Team(models.Model):
    deal = models.ForeignKey(GroupDeal, on_delete=models.PROTECT, related_name="teams")
    code = models.CharField(max_length=12, unique=True)
    leader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_teams")
    status = models.CharField(max_length=16, choices=TeamStatus.choices, default=TeamStatus.PENDING)
    min_members = models.PositiveSmallIntegerField()
    max_members = models.PositiveSmallIntegerField()
    # Members paying or paid (never above max_members), and those whose payment is authorised or captured.
    seats_taken = models.PositiveSmallIntegerField(default=0)
    members_count = models.PositiveSmallIntegerField(default=0)
    # The price per unit of the tier reached (the group price until the minimum is reached).
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    created_at = models.DateTimeField(default=timezone.now)
    # The clock starts when the leader's payment is authorised.
    started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    last_place_announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["deal", "status", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(seats_taken__lte=F("max_members")), name="team_seats_within_max"),
            models.CheckConstraint(condition=Q(members_count__lte=F("seats_taken")), name="team_members_within_seats"),
        ]

    def __str__(self) -> str:
        return f"team {self.code}"

    @property
    def places_left(self) -> int:
        return max(self.max_members - self.seats_taken, 0)


class MemberStatus(models.TextChoices):
    PAYING = "paying", _("Paying")
    AUTHORISED = "authorised", _("Payment authorised")
    CAPTURING = "capturing", _("Being charged")
    CAPTURED = "captured", _("Charged")
    # Left the team: the payment was declined, the order was cancelled, or the team failed.
    RELEASED = "released", _("Left the team")


# A member in one of these holds a seat.
HOLDING = (MemberStatus.PAYING, MemberStatus.AUTHORISED, MemberStatus.CAPTURING, MemberStatus.CAPTURED)


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="team_memberships")
    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    quantity = models.PositiveSmallIntegerField(default=1)
    order = models.OneToOneField(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="team_member"
    )
    status = models.CharField(max_length=16, choices=MemberStatus.choices, default=MemberStatus.PAYING)
    is_leader = models.BooleanField(default=False)
    is_new_customer = models.BooleanField(default=False)
    # The unit price authorised when joining, and the unit price actually charged (lowered by later tiers).
    authorised_price = models.DecimalField(max_digits=12, decimal_places=3)
    charged_price = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    joined_at = models.DateTimeField(default=timezone.now)
    authorised_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        indexes = [models.Index(fields=["user", "status"]), models.Index(fields=["team", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"],
                condition=Q(status__in=["paying", "authorised", "capturing", "captured"]),
                name="team_member_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id}"

    @property
    def amount_saved(self) -> Decimal:
        return Decimal(0) if self.charged_price is None else self.authorised_price - self.charged_price
