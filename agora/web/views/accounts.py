"""Sign-up, sign-in, password reset, profile settings and API tokens on the web."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from agora.accounts import selectors as account_selectors
from agora.accounts import services as account_services
from agora.accounts.models import User
from agora.core.errors import DomainError, RateLimited
from agora.web.errors import apply_domain_error
from agora.web.forms import (
    ApiTokenForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    ProfileForm,
    SetPasswordForm,
    SignupForm,
)
from agora.web.views.common import client_ip, safe_next

AUTH_BACKEND = "agora.accounts.backends.EmailOrUsernameBackend"
# Where the reset token waits between the link in the mail and the form, so that it never sits in
# the address bar (and so never leaks through the Referer header or browser history).
RESET_SESSION_KEY = "_password_reset_token"
RESET_URL_TOKEN = "set-password"  # noqa: S105 (a URL placeholder, not a secret)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
                client_ip=client_ip(request),
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            auth_login(request, user, backend=AUTH_BACKEND)
            messages.success(request, _("Welcome to Agora, %(name)s!") % {"name": user.public_name})
            return redirect(safe_next(request, reverse("web:home")))
    return render(request, "web/accounts/signup.html", {"form": form, "next": request.GET.get("next", "")})


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            user = account_services.authenticate(
                identifier=form.cleaned_data["identifier"],
                password=form.cleaned_data["password"],
                client_ip=client_ip(request),
            )
        except DomainError as exc:
            # Never attached to a field: which of the two was wrong is not told.
            form.add_error(None, exc.message)
            status = 429 if isinstance(exc, RateLimited) else 200
        else:
            auth_login(request, user, backend=AUTH_BACKEND)
            return redirect(safe_next(request, reverse(settings.LOGIN_REDIRECT_URL)))
    next_url = request.POST.get("next") or request.GET.get("next", "")
    return render(request, "web/accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    messages.info(request, _("You have signed out."))
    return redirect(safe_next(request, reverse("web:home")))


@csrf_protect
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.request_password_reset(email=form.cleaned_data["email"], client_ip=client_ip(request))
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            return redirect("web:password_reset_sent")
    return render(request, "web/accounts/password_reset.html", {"form": form})


@require_http_methods(["GET"])
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "web/accounts/password_reset_sent.html")


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    if token != RESET_URL_TOKEN:
        # The link from the mail: keep the token in the session and continue on a token-free address.
        request.session[RESET_SESSION_KEY] = token
        return HttpResponseRedirect(reverse("web:password_reset_confirm", args=[uidb64, RESET_URL_TOKEN]))
    real_token = str(request.session.get(RESET_SESSION_KEY, ""))
    try:
        account_services.user_for_reset_link(uidb64=uidb64, token=real_token)
    except DomainError as exc:
        return render(request, "web/accounts/password_reset_confirm.html", {"invalid_message": exc.message}, status=400)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.reset_password(uidb64=uidb64, token=real_token, new_password=form.cleaned_data["password"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            request.session.pop(RESET_SESSION_KEY, None)
            messages.success(request, _("Your password has been changed. Sign in with the new one."))
            return redirect("web:login")
    return render(request, "web/accounts/password_reset_confirm.html", {"form": form})


@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    initial = {
        "display_name": user.display_name,
        "bio": user.bio,
        "language": user.language,
        "currency": user.currency,
    }
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            # One transaction: a rejected avatar leaves the rest of the profile as it was.
            with transaction.atomic():
                account_services.update_profile(
                    user=user,
                    display_name=data["display_name"],
                    bio=data["bio"],
                    language=data["language"],
                    currency=data["currency"],
                )
                if data.get("avatar"):
                    account_services.set_avatar(user=user, upload=data["avatar"])
        except DomainError as exc:
            user.refresh_from_db()
            apply_domain_error(form, exc)
        else:
            translation.activate(user.language)
            messages.success(request, _("Your profile has been saved."))
            response = redirect("web:account_settings")
            # The language cookie wins over the profile (LocaleMiddleware reads it first): keep them in step.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
            return response
    return render(request, "web/accounts/settings.html", {"form": form})


@sensitive_post_parameters("old_password", "password", "password_confirm")
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.change_password(
                user=user, old_password=form.cleaned_data["old_password"], new_password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            # Keeps this session signed in; other sessions of the account end with the old password.
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password has been changed."))
            return redirect("web:account_settings")
    return render(request, "web/accounts/password_change.html", {"form": form})


@login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ApiTokenForm(request.POST or None)
    new_secret = ""
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = account_services.issue_token(user=user, name=form.cleaned_data["name"])
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            form = ApiTokenForm()
    tokens = list(account_selectors.list_tokens(user=user))
    # The secret is rendered once, in this response, and stored nowhere (never_cache keeps it out of caches).
    return render(request, "web/accounts/api_tokens.html", {"form": form, "tokens": tokens, "new_secret": new_secret})


@login_required
@require_POST
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = account_services.revoke_token(user=_user(request), token_id=token_id)
    messages.success(request, _("The token %(prefix)s… has been revoked.") % {"prefix": token.prefix})
    return redirect("web:api_tokens")
