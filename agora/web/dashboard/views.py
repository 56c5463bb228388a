"""The seller dashboard: forms parse, the shops and catalog services decide, templates show.

Every view finds the shop through ``shop_for_staff`` (which checks the caller's role) and every
product, variant or photo through the shop in the URL, so an id from another shop is a 404.
HTMX requests get the fragment they replace; plain form posts get a redirect or the full page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from agora.accounts.models import User
from agora.catalog import selectors as catalog_selectors
from agora.catalog import services as catalog_services
from agora.catalog.errors import ProductNotFound, VariantNotFound
from agora.catalog.models import Product, ProductStatus, Variant
from agora.core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from agora.core.money import CURRENCIES
from agora.shops import selectors as shop_selectors
from agora.shops import services as shop_services
from agora.shops.models import Role, Shop
from agora.shops.permissions import ROLE_ACTIONS, ShopAction
from agora.web.dashboard.forms import (
    InviteForm,
    LogoForm,
    PhotoUploadForm,
    ProductCreateForm,
    ProductEditForm,
    RoleForm,
    ShopCreateForm,
    ShopSettingsForm,
    StockForm,
    VariantForm,
    format_options,
)
from agora.web.errors import apply_domain_error

PRODUCTS_PER_PAGE = 20
VARIANTS_PER_PAGE = 50
LOW_STOCK = 5
INVALID = 422

ACTION_LABELS: dict[ShopAction, Any] = {
    ShopAction.VIEW_DRAFTS: gettext_lazy("See draft products, stock and the staff list"),
    ShopAction.MANAGE_PRODUCTS: gettext_lazy("Create, edit, publish and delete products; count stock"),
    ShopAction.EDIT_SHOP: gettext_lazy("Edit the shop's name, address, description, currency and logo"),
    ShopAction.MANAGE_STAFF: gettext_lazy("Invite and remove staff, change roles, open or close the shop"),
}


# --- helpers ---------------------------------------------------------------------------
def _user(request: HttpRequest) -> User:
    # @login_required guarantees a signed-in user; services take a User.
    assert isinstance(request.user, User)
    return request.user


def _shop(request: HttpRequest, slug: str, action: ShopAction = ShopAction.VIEW_DRAFTS) -> Shop:
    return shop_selectors.shop_for_staff(slug, viewer=request.user, action=action)


def _product(request: HttpRequest, shop: Shop, product_id: int) -> Product:
    product = catalog_selectors.get_product(product_id=product_id, viewer=request.user)
    # A published product of another shop is visible to anyone: the shop in the URL must be its own.
    if product.shop_id != shop.pk:
        raise ProductNotFound(_("This shop has no product %(id)s.") % {"id": product_id})
    return product


def _variant(request: HttpRequest, shop: Shop, variant_id: int, product: Product | None = None) -> Variant:
    variant = catalog_selectors.get_variant(variant_id=variant_id, viewer=request.user)
    if variant.shop_id != shop.pk or (product is not None and variant.product_id != product.pk):
        raise VariantNotFound(_("This shop has no variant %(id)s.") % {"id": variant_id})
    return variant


def _rights(request: HttpRequest, shop: Shop) -> dict[str, Any]:
    """What the viewer may do here, so that templates show only the buttons that work."""
    user = request.user
    role = shop_selectors.role_of(user, shop)
    return {
        "role": role,
        "role_label": dict(Role.choices).get(role or "", ""),
        "manage_products": shop_selectors.can(user, shop, ShopAction.MANAGE_PRODUCTS),
        "edit_shop": shop_selectors.can(user, shop, ShopAction.EDIT_SHOP),
        "manage_staff": shop_selectors.can(user, shop, ShopAction.MANAGE_STAFF),
    }


def _context(request: HttpRequest, shop: Shop, section: str, **extra: Any) -> dict[str, Any]:
    return {"shop": shop, "rights": _rights(request, shop), "section": section, "low_stock": LOW_STOCK, **extra}


def _form_error(form: forms.BaseForm, exc: DomainError) -> int:
    """Show a service's refusal on the form and return the status to answer with.

    Refusals about the caller (not signed in, not allowed, object elsewhere) are not form errors:
    they propagate to the error middleware.
    """
    if isinstance(exc, NotAuthenticated | PermissionDenied) or (isinstance(exc, NotFound) and not exc.field):
        raise exc
    apply_domain_error(form, exc)
    return exc.status


def _price_input(amount: Decimal, currency: str) -> str:
    """A stored price (three decimals) as the seller typed it: 19.900 EUR -> 19.90."""
    exponent = CURRENCIES.get(currency, (2, ""))[0]
    return str(amount.quantize(Decimal(1).scaleb(-exponent)))


def _variant_initial(variant: Variant, currency: str) -> dict[str, Any]:
    return {
        "sku": variant.sku,
        "name": variant.name,
        "options": format_options(variant.options),
        "price": _price_input(variant.price, currency),
        "stock_quantity": variant.stock_quantity,
        "weight_grams": variant.weight_grams,
    }


# --- my shops --------------------------------------------------------------------------
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    memberships = shop_selectors.shops_of(_user(request))
    return render(request, "web/dashboard/home.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def shop_create(request: HttpRequest) -> HttpResponse:
    form = ShopCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.is_valid():
            try:
                shop = shop_services.create_shop(owner=_user(request), **form.cleaned_data)
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(
                    request, _("Your shop %(name)s is open. Add your first product.") % {"name": shop.name}
                )
                return redirect("web:shop_dashboard", slug=shop.slug)
    return render(request, "web/dashboard/shop_create.html", {"form": form}, status=status)


# --- one shop --------------------------------------------------------------------------
@login_required
def shop_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug)
    status = request.GET.get("status", "")
    status = status if status in ProductStatus.values else ""
    q = request.GET.get("q", "").strip()[:200]
    products = catalog_selectors.staff_products(shop=shop, viewer=request.user, status=status, q=q)
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    summary = catalog_selectors.shop_catalog_summary(shop=shop, viewer=request.user, low=LOW_STOCK)
    context = _context(
        request,
        shop,
        "products",
        page_obj=page,
        products=page.object_list,
        summary=summary,
        status_filter=status,
        q=q,
        statuses=ProductStatus.choices,
    )
    return render(request, "web/dashboard/shop_dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def shop_settings(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.EDIT_SHOP)
    initial = {f: getattr(shop, f) for f in ("name", "slug", "description", "currency")}
    initial["country"] = shop.country.code
    form = ShopSettingsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.is_valid():
            try:
                shop = shop_services.update_shop(actor=_user(request), shop=shop, **form.cleaned_data)
            except DomainError as exc:
                status = _form_error(form, exc)
                # The refused values never reached the database; show the shop as it is.
                shop = _shop(request, slug, ShopAction.EDIT_SHOP)
            else:
                messages.success(request, _("Settings saved."))
                return redirect("web:shop_settings", slug=shop.slug)
    return _render_settings(request, shop, form=form, status=status)


def _render_settings(
    request: HttpRequest,
    shop: Shop,
    *,
    form: ShopSettingsForm | None = None,
    logo_form: LogoForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        form = ShopSettingsForm(
            initial={
                "name": shop.name,
                "slug": shop.slug,
                "description": shop.description,
                "currency": shop.currency,
                "country": shop.country.code,
            }
        )
    context = _context(
        request, shop, "settings", form=form, logo_form=logo_form or LogoForm(), has_products=shop.products.exists()
    )
    return render(request, "web/dashboard/shop_settings.html", context, status=status)


@login_required
@require_POST
def shop_logo(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.EDIT_SHOP)
    form = LogoForm(request.POST, request.FILES)
    status = INVALID
    if form.is_valid():
        try:
            shop_services.set_logo(actor=_user(request), shop=shop, upload=form.cleaned_data["logo"])
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("Logo updated."))
            return redirect("web:shop_settings", slug=shop.slug)
    return _render_settings(request, shop, logo_form=form, status=status)


@login_required
@require_POST
def shop_set_active(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_STAFF)
    is_active = request.POST.get("is_active") == "1"
    shop_services.update_shop(actor=_user(request), shop=shop, is_active=is_active)
    if is_active:
        messages.success(request, _("The shop is open: its published products are visible again."))
    else:
        messages.success(request, _("The shop is closed: only its staff can see it now."))
    return redirect("web:shop_settings", slug=shop.slug)


# --- staff -----------------------------------------------------------------------------
def _render_staff(
    request: HttpRequest,
    shop: Shop,
    *,
    invite_form: InviteForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    rights = _rights(request, shop)
    staff = list(shop_selectors.list_staff(viewer=request.user, shop=shop))
    invitations = []
    if rights["manage_staff"]:
        invitations = [i for i in shop_selectors.list_invitations(viewer=request.user, shop=shop) if i.is_pending]
    roles = [(value, label) for value, label in Role.choices]
    role_table = [
        (label, [action in ROLE_ACTIONS[value] for value, _label in roles]) for action, label in ACTION_LABELS.items()
    ]
    context = {
        "shop": shop,
        "rights": rights,
        "section": "staff",
        "staff": staff,
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "role_choices": Role.choices,
        "roles": roles,
        "role_table": role_table,
        "error": error,
    }
    return render(request, "web/dashboard/shop_staff.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def shop_staff(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug)
    if request.method != "POST":
        return _render_staff(request, shop)
    shop_selectors.require(request.user, shop, ShopAction.MANAGE_STAFF)
    form = InviteForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            invitation = shop_services.invite_staff(actor=_user(request), shop=shop, **form.cleaned_data)
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("web:shop_staff", slug=shop.slug)
    return _render_staff(request, shop, invite_form=form, status=status)


@login_required
@require_POST
def staff_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_STAFF)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _render_staff(request, shop, error=_("Choose a role."), status=INVALID)
    try:
        member = shop_services.change_role(
            actor=_user(request), shop=shop, user_id=user_id, role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
            raise
        return _render_staff(request, shop, error=exc.message, status=exc.status)
    messages.success(
        request,
        _("%(name)s is now %(role)s.") % {"name": member.user.public_name, "role": member.get_role_display()},
    )
    return redirect("web:shop_staff", slug=shop.slug)


@login_required
@require_POST
def staff_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    # Any member may leave; removing somebody else is checked by the service (owners only).
    shop = _shop(request, slug)
    leaving = user_id == request.user.pk
    try:
        shop_services.remove_staff(actor=_user(request), shop=shop, user_id=user_id)
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
            raise
        return _render_staff(request, shop, error=exc.message, status=exc.status)
    if leaving:
        messages.success(request, _("You left %(shop)s.") % {"shop": shop.name})
        return redirect("web:dashboard")
    messages.success(request, _("Removed from the staff."))
    return redirect("web:shop_staff", slug=shop.slug)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_STAFF)
    try:
        invitation = shop_services.revoke_invitation(actor=_user(request), shop=shop, invitation_id=invitation_id)
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
            raise
        return _render_staff(request, shop, error=exc.message, status=exc.status)
    messages.success(request, _("The invitation to %(email)s is revoked.") % {"email": invitation.email})
    return redirect("web:shop_staff", slug=shop.slug)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone holding the link; accepting needs the invited address signed in."""
    invite = shop_selectors.get_invitation(token)
    error, status = "", 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            membership = shop_services.accept_invitation(user=_user(request), token=token)
        except DomainError as exc:
            if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
                raise
            error, status = exc.message, exc.status
        else:
            messages.success(
                request,
                _("Welcome to the staff of %(shop)s, as %(role)s.")
                % {"shop": membership.shop.name, "role": membership.get_role_display()},
            )
            return redirect("web:shop_dashboard", slug=membership.shop.slug)
    user = request.user
    here = quote(request.get_full_path())
    context = {
        "invitation": invite,
        "inviter": invite.invited_by,
        "is_pending": invite.is_pending,
        "is_invited_user": user.is_authenticated and user.email.lower() == invite.email.lower(),
        "login_url": f"{reverse('web:login')}?next={here}",
        "signup_url": f"{reverse('web:signup')}?next={here}",
        "error": error,
    }
    return render(request, "web/dashboard/invitation.html", context, status=status)


# --- products --------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    form = ProductCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = INVALID
        if form.is_valid():
            data = form.cleaned_data
            try:
                product = catalog_services.create_product(
                    actor=_user(request),
                    shop=shop,
                    title=data["title"],
                    description=data["description"],
                    category_id=data["category_id"],
                    tags=data["tags"],
                    variants=[form.variant_data()],
                )
            except DomainError as exc:
                status = _form_error(form, exc)
            else:
                messages.success(request, _("Draft saved. Add photos, then publish it when it is ready."))
                return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)
    context = _context(request, shop, "products", form=form)
    return render(request, "web/dashboard/product_create.html", context, status=status)


def _edit_form(product: Product, data: Any = None) -> ProductEditForm:
    return ProductEditForm(
        data,
        initial={
            "title": product.title,
            "slug": product.slug,
            "description": product.description,
            "category_id": str(product.category_id or ""),
            "tags": ", ".join(tag.name for tag in product.tags.all()),
        },
    )


def _render_product(
    request: HttpRequest,
    shop: Shop,
    product: Product,
    *,
    form: ProductEditForm | None = None,
    photo_form: PhotoUploadForm | None = None,
    variant_form: VariantForm | None = None,
    variant_error: str = "",
    status: int = 200,
) -> HttpResponse:
    rights = _rights(request, shop)
    form = form or _edit_form(product)
    if not rights["manage_products"]:
        for field in form.fields.values():
            field.disabled = True
    context = _context(
        request,
        shop,
        "products",
        product=product,
        form=form,
        photo_form=photo_form or PhotoUploadForm(),
        variant_form=variant_form or VariantForm(),
        variant_error=variant_error,
        photos=list(product.images.all()),
        variants=list(product.variants.all()),
        public_url=reverse("web:product", args=[shop.slug, product.slug]),
    )
    return render(request, "web/dashboard/product_edit.html", context, status=status)


def _fresh_product(request: HttpRequest, shop: Shop, product_id: int) -> Product:
    # Prefetched photos and variants are stale after a write; read the product again.
    return _product(request, shop, product_id)


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    shop = _shop(request, slug)
    product = _product(request, shop, product_id)
    if request.method != "POST":
        return _render_product(request, shop, product)
    shop_selectors.require(request.user, shop, ShopAction.MANAGE_PRODUCTS)
    form = _edit_form(product, request.POST)
    status = INVALID
    if form.is_valid():
        data = form.cleaned_data
        try:
            catalog_services.update_product(
                actor=_user(request),
                product=product,
                title=data["title"],
                slug=data["slug"],
                description=data["description"],
                category_id=data["category_id"],
                tags=data["tags"],
            )
        except DomainError as exc:
            status = _form_error(form, exc)
            product = _fresh_product(request, shop, product_id)
        else:
            messages.success(request, _("Product saved."))
            return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)
    return _render_product(request, shop, product, form=form, status=status)


@login_required
@require_POST
def product_publish(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    """Publish (``action=publish``) or unpublish a product; HTMX gets the dashboard row back."""
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    error = ""
    try:
        if request.POST.get("action") == "publish":
            catalog_services.publish_product(actor=_user(request), product=product)
        else:
            catalog_services.unpublish_product(actor=_user(request), product=product)
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
            raise
        error = exc.message
    if request.htmx:  # type: ignore[attr-defined]
        row = catalog_selectors.staff_products(shop=shop, viewer=request.user).get(pk=product.pk)
        context = _context(request, shop, "products", product=row, row_error=error)
        return render(request, "web/dashboard/_product_row.html", context, status=INVALID if error else 200)
    if error:
        messages.error(request, error)
    elif product.is_published:
        messages.success(request, _("%(title)s is published.") % {"title": product.title})
    else:
        messages.success(
            request, _("%(title)s is back to draft: shoppers no longer see it.") % {"title": product.title}
        )
    if request.POST.get("back") == "dashboard":
        return redirect("web:shop_dashboard", slug=shop.slug)
    return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)


@login_required
@require_http_methods(["GET", "POST"])
def product_delete(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    if request.method == "POST":
        catalog_services.delete_product(actor=_user(request), product=product)
        messages.success(request, _("%(title)s is deleted.") % {"title": product.title})
        return redirect("web:shop_dashboard", slug=shop.slug)
    return render(request, "web/dashboard/product_delete.html", _context(request, shop, "products", product=product))


# --- photos ----------------------------------------------------------------------------
def _render_photos(
    request: HttpRequest, shop: Shop, product: Product, form: PhotoUploadForm, status: int
) -> HttpResponse:
    context = _context(request, shop, "products", product=product, photos=list(product.images.all()), photo_form=form)
    return render(request, "web/dashboard/_photos.html", context, status=status)


@login_required
@require_POST
def product_photos(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    form = PhotoUploadForm(request.POST, request.FILES, existing=len(product.images.all()))
    status = INVALID
    if form.is_valid():
        try:
            for upload in form.cleaned_data["images"]:
                catalog_services.add_image(actor=_user(request), product=product, upload=upload)
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            count = len(form.cleaned_data["images"])
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(
                    request, ngettext("%(count)d photo added.", "%(count)d photos added.", count) % {"count": count}
                )
                return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)
            form, status = PhotoUploadForm(), 200
    product = _fresh_product(request, shop, product_id)
    if request.htmx:  # type: ignore[attr-defined]
        return _render_photos(request, shop, product, form, status)
    return _render_product(request, shop, product, photo_form=form, status=status)


@login_required
@require_POST
def photo_remove(request: HttpRequest, slug: str, product_id: int, image_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    catalog_services.remove_image(actor=_user(request), product=product, image_id=image_id)
    if request.htmx:  # type: ignore[attr-defined]
        return _render_photos(request, shop, _fresh_product(request, shop, product_id), PhotoUploadForm(), 200)
    messages.success(request, _("Photo removed."))
    return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)


# --- variants --------------------------------------------------------------------------
def _render_variants(
    request: HttpRequest,
    shop: Shop,
    product: Product,
    *,
    form: VariantForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = _context(
        request,
        shop,
        "products",
        product=product,
        variants=list(product.variants.all()),
        variant_form=form or VariantForm(),
        variant_error=error,
    )
    return render(request, "web/dashboard/_variants.html", context, status=status)


@login_required
@require_POST
def variant_add(request: HttpRequest, slug: str, product_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    form = VariantForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            catalog_services.add_variant(actor=_user(request), product=product, **form.variant_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, _("Variant added."))
                return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)
            form, status = VariantForm(), 200
    product = _fresh_product(request, shop, product_id)
    if request.htmx:  # type: ignore[attr-defined]
        return _render_variants(request, shop, product, form=form, status=status)
    return _render_product(request, shop, product, variant_form=form, status=status)


def _render_variant_row(
    request: HttpRequest,
    shop: Shop,
    product: Product,
    variant: Variant,
    *,
    form: VariantForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = _context(request, shop, "products", product=product, variant=variant, form=form)
    template = "web/dashboard/_variant_edit_row.html" if form is not None else "web/dashboard/_variant_row.html"
    return render(request, template, context, status=status)


@login_required
def variant_row(request: HttpRequest, slug: str, product_id: int, variant_id: int) -> HttpResponse:
    shop = _shop(request, slug)
    product = _product(request, shop, product_id)
    variant = _variant(request, shop, variant_id, product)
    return _render_variant_row(request, shop, product, variant)


@login_required
@require_http_methods(["GET", "POST"])
def variant_edit(request: HttpRequest, slug: str, product_id: int, variant_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    variant = _variant(request, shop, variant_id, product)
    if request.method != "POST":
        form = VariantForm(initial=_variant_initial(variant, shop.currency))
        return _render_variant_row(request, shop, product, variant, form=form)
    form = VariantForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            # The service writes price, SKU and stock in one transaction.
            catalog_services.update_variant(actor=_user(request), variant=variant, **form.variant_data())
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, _("Variant saved."))
                return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)
            return _render_variant_row(request, shop, product, _variant(request, shop, variant_id, product))
    return _render_variant_row(request, shop, product, variant, form=form, status=status)


@login_required
@require_POST
def variant_delete(request: HttpRequest, slug: str, product_id: int, variant_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    product = _product(request, shop, product_id)
    variant = _variant(request, shop, variant_id, product)
    error = ""
    try:
        catalog_services.delete_variant(actor=_user(request), variant=variant)
    except DomainError as exc:
        if isinstance(exc, NotAuthenticated | PermissionDenied | NotFound):
            raise
        error = exc.message
    if request.htmx:  # type: ignore[attr-defined]
        product = _fresh_product(request, shop, product_id)
        return _render_variants(request, shop, product, error=error, status=INVALID if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Variant deleted."))
    return redirect("web:product_edit", slug=shop.slug, product_id=product.pk)


# --- stock -----------------------------------------------------------------------------
@login_required
def stock(request: HttpRequest, slug: str) -> HttpResponse:
    shop = _shop(request, slug)
    variants = catalog_selectors.stock_report(shop=shop, viewer=request.user, low=LOW_STOCK)
    page = Paginator(variants, VARIANTS_PER_PAGE).get_page(request.GET.get("page"))
    context = _context(request, shop, "stock", page_obj=page, variants=page.object_list)
    return render(request, "web/dashboard/stock.html", context)


@login_required
@require_POST
def stock_set(request: HttpRequest, slug: str, variant_id: int) -> HttpResponse:
    shop = _shop(request, slug, ShopAction.MANAGE_PRODUCTS)
    variant = _variant(request, shop, variant_id)
    form = StockForm(request.POST)
    status = INVALID
    if form.is_valid():
        try:
            variant = catalog_services.set_stock(
                actor=_user(request), variant=variant, quantity=form.cleaned_data["stock_quantity"]
            )
        except DomainError as exc:
            status = _form_error(form, exc)
        else:
            status = 200
    htmx = bool(request.htmx)  # type: ignore[attr-defined]
    if status == 200:
        if not htmx:
            count = variant.stock_quantity
            messages.success(request, _("Stock of %(sku)s set to %(count)d.") % {"sku": variant.sku, "count": count})
            return redirect("web:stock", slug=shop.slug)
        context = _context(request, shop, "stock", variant=variant, form=None)
        return render(request, "web/dashboard/_stock_row.html", context)
    if not htmx:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("web:stock", slug=shop.slug)
    context = _context(request, shop, "stock", variant=variant, form=form)
    return render(request, "web/dashboard/_stock_row.html", context, status=status)
