from django.contrib import admin

from agora.ledger.models import LedgerEntry, LedgerTransaction


class LedgerEntryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "shop", "amount", "currency"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "kind", "shop", "order_id", "currency", "memo"]
    list_filter = ["kind", "currency"]
    search_fields = ["key", "memo", "shop__name"]
    readonly_fields = ["kind", "key", "shop", "order_id", "currency", "memo", "created_at"]
    inlines = [LedgerEntryInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
