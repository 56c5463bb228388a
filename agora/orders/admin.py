"""Orders in the operator's admin: to look, not to edit (status changes go through the services)."""

from django.contrib import admin

from agora.orders.models import Checkout, Order, OrderEvent, OrderLine, RefundRecord, ShopSalesPolicy


class OrderLineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderLine
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "title",
        "variant_name",
        "sku",
        "unit_price",
        "price_note",
        "quantity",
        "refunded_quantity",
    )


class OrderEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "actor_role", "note", "amount")


class RefundInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RefundRecord
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "created_at",
        "status",
        "amount",
        "commission_back",
        "reason",
        "lines",
        "restock",
        "actor",
        "idempotency_key",
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["number", "shop", "buyer", "email", "status", "total", "currency", "placed_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number", "email", "buyer__username", "shop__name", "tracking_number"]
    raw_id_fields = ["checkout", "shop", "buyer", "payment"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline, RefundInline]

    def get_readonly_fields(self, request: object, obj: object = None) -> list[str]:
        return [field.name for field in Order._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["public_id", "buyer", "email", "total", "currency", "purpose", "authorise_only", "created_at"]
    list_filter = ["purpose", "authorise_only"]
    search_fields = ["public_id", "email", "buyer__username"]
    raw_id_fields = ["buyer", "cart", "payment"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ShopSalesPolicy)
class ShopSalesPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["shop", "return_window_days", "commission_rate", "updated_at"]
    raw_id_fields = ["shop"]
