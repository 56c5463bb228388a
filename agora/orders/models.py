"""Carts, checkouts, orders and what happened to them.

A ``Checkout`` is one placement: the orders placed (and paid) together, one ``Order`` per shop. Lines keep
snapshots of what was bought (title, SKU, unit price) so that later catalogue edits do not rewrite history.
Status changes go through ``agora.orders.states`` only, and each one leaves an ``OrderEvent``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agora.catalog.models import Product, Variant
from agora.core.money import CURRENCY_CHOICES
from agora.shops.models import Shop


# --- cart -----------------------------------------------------------------------------
class Cart(models.Model):
    """A signed-in shopper's cart (one per user) or a guest's, known by an opaque token only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="carts"
    )
    token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    coupon_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(user__isnull=False), name="cart_one_per_user"),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(token__isnull=False), name="cart_has_owner_or_token"
            ),
        ]

    def __str__(self) -> str:
        return f"cart of {self.user}" if self.user_id else f"guest cart {self.pk}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    # Kept (emptied) when the variant is deleted, so that the cart can say what was removed.
    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    quantity = models.PositiveIntegerField()
    # The price the shopper last saw: a different current price is reported as a change.
    seen_price = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    title = models.CharField(max_length=330)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["cart", "variant"], name="cart_item_unique_variant")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


# --- checkout and orders --------------------------------------------------------------
class Checkout(models.Model):
    """One placement: groups the orders placed and paid together (one per shop)."""

    public_id = models.CharField(max_length=32, unique=True)
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="checkouts"
    )
    email = models.EmailField()
    # The guest cart's token: a guest proves with it that the checkout is theirs.
    guest_token = models.CharField(max_length=64, blank=True, db_index=True)
    cart = models.ForeignKey(Cart, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    shipping_address = models.JSONField(default=dict)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    total = models.DecimalField(max_digits=12, decimal_places=3)
    payment_method = models.CharField(max_length=40)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="checkouts"
    )
    # Each try at paying is a new payment with its own idempotency key; only the current one may pay the orders.
    payment_attempt = models.PositiveIntegerField(default=0)
    reserved_until = models.DateTimeField()
    # Deals (team purchases) pay in two steps: the payment is only authorised now and captured later.
    authorise_only = models.BooleanField(default=False)
    # What the checkout was for: "" (the cart), "team" or "flash".
    purpose = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"checkout {self.public_id}"


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed, awaiting payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired unpaid")
    REFUND_REQUESTED = "refund_requested", _("Refund requested")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    RETURN_REQUESTED = "return_requested", _("Return requested")
    RETURNED = "returned", _("Returned")


class Order(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.PROTECT, related_name="orders")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    email = models.EmailField()
    number = models.CharField(max_length=16, unique=True)
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    # Where a refund or return request came from, so that declining it puts the order back.
    status_before_request = models.CharField(max_length=24, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    subtotal = models.DecimalField(max_digits=12, decimal_places=3)
    delivery_cost = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    total = models.DecimalField(max_digits=12, decimal_places=3)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    commission_rate = models.DecimalField(max_digits=5, decimal_places=4)
    commission = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    delivery_method_id = models.BigIntegerField(null=True, blank=True)
    delivery_method_name = models.CharField(max_length=120, blank=True)
    delivery_min_days = models.PositiveIntegerField(null=True, blank=True)
    delivery_max_days = models.PositiveIntegerField(null=True, blank=True)
    # The payment that paid this order (a checkout's orders share one).
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    tracking_number = models.CharField(max_length=80, blank=True)
    request_reason = models.TextField(blank=True)
    reserved_until = models.DateTimeField()
    placed_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-placed_at"]),
            models.Index(fields=["shop", "status", "-placed_at"]),
            models.Index(fields=["status", "reserved_until"]),
            models.Index(fields=["status", "paid_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=Decimal(0)), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("total")), name="order_refund_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.number}"

    @property
    def refundable_amount(self) -> Decimal:
        return self.total - self.refunded_amount


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=120, blank=True)
    sku = models.CharField(max_length=64)
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    # Why the price differs from the catalogue's ("Team price", "Flash deal"), shown next to the line.
    price_note = models.CharField(max_length=80, blank=True)
    quantity = models.PositiveIntegerField()
    refunded_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["product", "order"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=models.F("quantity")), name="order_line_refund_within_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def refundable_quantity(self) -> int:
        return self.quantity - self.refunded_quantity


class OrderEvent(models.Model):
    """One status change (or a note on the order): who, when, from what to what."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    # "buyer", "staff" or "system": who acted, kept even if the account goes.
    actor_role = models.CharField(max_length=16)
    note = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order}: {self.from_status} → {self.to_status}"


class ShopSalesPolicy(models.Model):
    """How a shop sells: its return window, and the operator's commission rate when it differs from the default."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="sales_policy")
    # Empty: settings.AGORA_RETURN_WINDOW_DAYS.
    return_window_days = models.PositiveIntegerField(null=True, blank=True)
    # Set by the operator's staff only; empty: settings.AGORA_COMMISSION_RATE.
    commission_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("shop sales policies")

    def __str__(self) -> str:
        return f"sales policy of {self.shop}"


class RefundRecord(models.Model):
    """One refund of an order through the gateway, and which lines (and how many) it covered.

    Written "pending" before the gateway is called and "done" once the order, stock and ledger reflect it, so a
    crash in between leaves a record that ``services.complete_refund`` finishes (with the same idempotency key).
    """

    PENDING, DONE, FAILED = "pending", "done", "failed"
    STATUSES = [(PENDING, _("Pending")), (DONE, _("Done")), (FAILED, _("Failed"))]

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    commission_back = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    reason = models.TextField(blank=True)
    lines = models.JSONField(default=dict)  # {line id: quantity}
    restock = models.BooleanField(default=False)
    # The status the order takes once refunded ("cancelled", "returned"); empty: refunded / partially_refunded.
    final_status = models.CharField(max_length=24, blank=True)
    payment_refund_id = models.BigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    role = models.CharField(max_length=16, default="staff")
    # A caller's key for a system refund (a team's price difference): the same key never refunds twice.
    idempotency_key = models.CharField(max_length=120, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=~Q(idempotency_key=""), name="refund_record_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.order}"
