"""The operator's view of payments: read-only lists with filters, and "reconcile with the gateway".

Nothing here edits money: statuses and amounts change only through the payments services (the gateway's
word), so the back office cannot make the books disagree with the gateway.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from agora.core.errors import DomainError
from agora.core.money import format_money
from agora.payments import services
from agora.payments.models import Payment, PaymentEvent, Refund, SandboxCharge, StripeEvent


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("public_id", "amount", "status", "reason", "gateway_reference", "failure_message", "created_at")
    readonly_fields = fields


class PaymentEventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = ("created_at", "previous_status", "status", "source", "message")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "created_at",
        "status",
        "amount_shown",
        "refunded_shown",
        "gateway",
        "method",
        "payer_shown",
        "reference",
    )
    list_filter = ("status", "gateway", "currency", "capture", "created_at")
    search_fields = ("public_id", "reference", "gateway_reference", "payer_email", "payer__username")
    list_select_related = ("payer",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Payment._meta.fields if f.name != "client_secret"]
    exclude = ("client_secret",)
    inlines = [RefundInline, PaymentEventInline]
    actions = ["reconcile"]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj: Payment) -> str:
        return format_money(obj.amount, obj.currency)

    @admin.display(description=_("refunded"), ordering="refunded_amount")
    def refunded_shown(self, obj: Payment) -> str:
        return format_money(obj.refunded_amount, obj.currency) if obj.refunded_amount else "—"

    @admin.display(description=_("payer"))
    def payer_shown(self, obj: Payment) -> str:
        return str(obj.payer) if obj.payer else obj.payer_email

    @admin.action(description=_("Reconcile with the gateway"))
    def reconcile(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        done = 0
        for payment in queryset:
            try:
                services.reconcile_payment(payment=payment)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{payment.public_id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(
                request,
                ngettext("%(count)d payment reconciled.", "%(count)d payments reconciled.", done) % {"count": done},
                messages.SUCCESS,
            )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "created_at", "payment", "amount_shown", "status", "reason")
    list_filter = ("status", "currency", "created_at")
    search_fields = ("public_id", "payment__public_id", "gateway_reference", "reason")
    list_select_related = ("payment",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Refund._meta.fields]

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj: Refund) -> str:
        return format_money(obj.amount, obj.currency)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "payment", "livemode", "received_at")
    list_filter = ("type", "livemode")
    search_fields = ("event_id", "payment__public_id")
    list_select_related = ("payment",)
    readonly_fields = [f.name for f in StripeEvent._meta.fields]


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "created_at",
        "method",
        "status",
        "amount",
        "currency",
        "captured_amount",
        "refunded_amount",
    )
    list_filter = ("status", "method")
    search_fields = ("reference", "idempotency_key")
    readonly_fields = [f.name for f in SandboxCharge._meta.fields]
