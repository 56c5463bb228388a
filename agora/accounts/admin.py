"""The operator's back office for people and their API tokens."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from agora.accounts.models import ApiToken, User
from agora.accounts.services import revoke_all_tokens, revoke_token


class AgoraUserCreationForm(AdminUserCreationForm):  # type: ignore[misc]
    class Meta(AdminUserCreationForm.Meta):  # type: ignore[name-defined,misc]
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        # The database index is case-sensitive; sign-up and sign-in are not, so neither is this check.
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address exists."))
        return email


class AgoraUserChangeForm(UserChangeForm):  # type: ignore[misc]
    class Meta(UserChangeForm.Meta):  # type: ignore[name-defined,misc]
        model = User

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("An account with this e-mail address exists."))
        return email


class ApiTokenInline(admin.TabularInline):  # type: ignore[type-arg]
    """A user's tokens, read-only: tokens are issued through the API, and their secret is never stored."""

    model = ApiToken
    fields = ("prefix", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).select_related("user")  # each row's title names its user


@admin.register(User)
class AgoraUserAdmin(UserAdmin):  # type: ignore[type-arg]
    form = AgoraUserChangeForm
    add_form = AgoraUserCreationForm
    list_display = ("username", "email", "display_name", "date_joined", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "language", "currency", "date_joined")
    search_fields = ("username", "email", "display_name")
    ordering = ("-date_joined", "-id")
    readonly_fields = ("avatar_preview", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Profile"),
            {"fields": ("email", "display_name", "first_name", "last_name", "bio", "avatar_preview")},
        ),
        (_("Preferences"), {"fields": ("language", "currency")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "email", "usable_password", "password1", "password2")},
        ),
    )
    inlines = (ApiTokenInline,)
    actions = ("revoke_api_tokens",)

    def get_inline_instances(self, request: HttpRequest, obj: User | None = None) -> list[Any]:
        return super().get_inline_instances(request, obj) if obj is not None else []  # no tokens before the user

    @admin.display(description=_("avatar"))
    def avatar_preview(self, obj: User) -> str:
        if not obj.avatar_thumbnail:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="80" height="80" style="border-radius:50%">', obj.avatar_thumbnail.url
        )

    @admin.action(description=_("Revoke all API tokens of the selected people"), permissions=["change"])
    def revoke_api_tokens(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(revoke_all_tokens(user=user) for user in queryset)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )


class TokenStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("active", pgettext_lazy("API token state", "Active")),
            ("revoked", pgettext_lazy("API token state", "Revoked")),
            ("expired", pgettext_lazy("API token state", "Expired")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked_at", "active")
    list_filter = (TokenStateFilter, "created_at")
    search_fields = ("prefix", "name", "user__username", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    fields = ("user", "prefix", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued through the API, which shows the secret once

    @admin.display(description=_("active"), boolean=True)
    def active(self, obj: ApiToken) -> bool:
        return obj.is_active

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            revoke_token(user=token.user, token_id=token.pk)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count},
            messages.SUCCESS,
        )
