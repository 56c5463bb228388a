"""The operator's back office for shops, their staff and invitations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_countries.filters import CountryFilter

from agora.core.errors import DomainError
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.services import change_role, check_slug, remove_staff, revoke_invitation


class ShopAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Shop
        fields = ("name", "slug", "description", "currency", "country", "is_active")

    def clean_slug(self) -> str:
        try:
            slug = check_slug(self.cleaned_data["slug"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return slug

    def clean_currency(self) -> str:
        currency: str = self.cleaned_data["currency"]
        shop = self.instance
        if shop.pk and currency != shop.currency and shop.products.exists():  # type: ignore[attr-defined]
            # The same rule as update_shop: prices are in the shop's currency; changing it would change them.
            raise forms.ValidationError(
                _("The currency cannot change once the shop has products: their prices are in %(currency)s.")
                % {"currency": shop.currency}
            )
        return currency


class MembershipFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        owners = sum(
            1
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("role") == Role.OWNER
        )
        if owners == 0:
            raise forms.ValidationError(_("A shop needs at least one owner."))


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    """The staff and their roles. People join through invitations; here the operator changes roles or removes."""

    model = Membership
    formset = MembershipFormSet
    fields = ("user", "role", "created_at")
    readonly_fields = ("user", "created_at")
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("shop", "user")


class InvitationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Invitation
    fields = ("email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # invitations are sent by the shop's owners, with a mail

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return super().get_queryset(request).select_related("shop", "invited_by")


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ShopAdminForm
    list_display = ("name", "slug", "country", "currency", "is_active", "product_count", "created_at")
    list_filter = (("country", CountryFilter), "currency", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("logo_preview", "created_at", "updated_at")
    inlines = (MembershipInline, InvitationInline)
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a shop is opened on the site by its owner, who becomes its first member

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        # Role changes first, then removals, each through the service that keeps the last-owner rule.
        formset.save(commit=False)
        shop: Shop = form.instance
        try:
            for member, changed in formset.changed_objects:
                if "role" in changed:
                    change_role(actor=request.user, shop=shop, user_id=member.user_id, role=member.role)  # type: ignore[arg-type]
            for member in formset.deleted_objects:
                remove_staff(actor=request.user, shop=shop, user_id=member.user_id)  # type: ignore[arg-type]
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    fields = ("name", "slug", "description", "logo_preview", "currency", "country", "is_active", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Shop]:
        return super().get_queryset(request).annotate(product_count=Count("products", distinct=True))

    @admin.display(description=_("products"), ordering="product_count")
    def product_count(self, obj: Shop) -> int:
        return obj.product_count  # type: ignore[attr-defined,no-any-return]

    @admin.display(description=_("logo"))
    def logo_preview(self, obj: Shop) -> str:
        if not obj.logo_thumbnail:
            return "—"
        return format_html('<img src="{}" alt="" width="80" height="80">', obj.logo_thumbnail.url)


class MembershipAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Membership
        fields = ("shop", "user", "role")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        member = self.instance
        if member.pk and member.role == Role.OWNER and data.get("role") not in (None, Role.OWNER):
            others = Membership.objects.filter(shop_id=member.shop_id, role=Role.OWNER).exclude(pk=member.pk)
            if not others.exists():
                raise forms.ValidationError(_("A shop needs at least one owner. Make someone else owner first."))
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = MembershipAdminForm
    list_display = ("user", "shop", "role", "created_at")
    list_filter = ("role", "shop")
    search_fields = ("user__username", "user__email", "shop__name", "shop__slug")
    list_select_related = ("user", "shop")
    raw_id_fields = ("user", "shop")

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple[str, ...]:
        # Moving a membership to another person or shop is an invitation's job, not an edit.
        return ("shop", "user", "created_at") if obj is not None else ("created_at",)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, so the last-owner rule is kept
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None and obj.role == Role.OWNER:
            others = Membership.objects.filter(shop_id=obj.shop_id, role=Role.OWNER).exclude(pk=obj.pk)
            if not others.exists():
                return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if change and "role" in form.changed_data:
            try:
                change_role(actor=request.user, shop=obj.shop, user_id=obj.user_id, role=obj.role)  # type: ignore[arg-type]
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            return
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        remove_staff(actor=request.user, shop=obj.shop, user_id=obj.user_id)  # type: ignore[arg-type]


class InvitationStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("pending", _("Pending")),
            ("accepted", _("Accepted")),
            ("revoked", _("Revoked")),
            ("expired", _("Expired")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
        now = timezone.now()
        open_ = queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        if self.value() == "pending":
            return open_.filter(expires_at__gt=now)
        if self.value() == "accepted":
            return queryset.filter(accepted_at__isnull=False)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return open_.filter(expires_at__lte=now)
        return queryset


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("email", "shop", "role", "invited_by", "created_at", "expires_at", "state")
    list_filter = (InvitationStateFilter, "role", "shop")
    search_fields = ("email", "shop__name", "shop__slug")
    list_select_related = ("shop", "invited_by", "accepted_by")
    fields = (
        "shop",
        "email",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("state"))
    def state(self, obj: Invitation) -> str:
        if obj.accepted_at:
            return str(_("Accepted"))
        if obj.revoked_at:
            return str(_("Revoked"))
        return str(_("Pending")) if obj.is_pending else str(_("Expired"))

    @admin.action(description=_("Revoke the selected invitations"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = 0
        for invitation in queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True).select_related("shop"):
            try:
                revoke_invitation(actor=request.user, shop=invitation.shop, invitation_id=invitation.pk)  # type: ignore[arg-type]
            except DomainError as exc:
                self.message_user(request, f"{invitation.email}: {exc.message}", messages.ERROR)
                continue
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d invitation revoked.", "%(count)d invitations revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
