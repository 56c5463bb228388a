"""The seller dashboard's pages; included into the ``web`` namespace by agora/web/urls.py."""

from django.urls import URLPattern, path

from agora.web.dashboard import views

_shop = "dashboard/s/<slug:slug>/"
_product = _shop + "products/<int:product_id>/"
_variant = _product + "variants/<int:variant_id>/"

urlpatterns: list[URLPattern] = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/shops/new/", views.shop_create, name="shop_create"),
    path(_shop, views.shop_dashboard, name="shop_dashboard"),
    path(_shop + "settings/", views.shop_settings, name="shop_settings"),
    path(_shop + "settings/logo/", views.shop_logo, name="shop_logo"),
    path(_shop + "settings/active/", views.shop_set_active, name="shop_set_active"),
    path(_shop + "staff/", views.shop_staff, name="shop_staff"),
    path(_shop + "staff/<int:user_id>/role/", views.staff_role, name="staff_role"),
    path(_shop + "staff/<int:user_id>/remove/", views.staff_remove, name="staff_remove"),
    path(_shop + "invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path(_shop + "products/new/", views.product_create, name="product_create"),
    path(_product, views.product_edit, name="product_edit"),
    path(_product + "publish/", views.product_publish, name="product_publish"),
    path(_product + "delete/", views.product_delete, name="product_delete"),
    path(_product + "photos/", views.product_photos, name="product_photos"),
    path(_product + "photos/<int:image_id>/remove/", views.photo_remove, name="photo_remove"),
    path(_product + "variants/", views.variant_add, name="variant_add"),
    path(_variant, views.variant_row, name="variant_row"),
    path(_variant + "edit/", views.variant_edit, name="variant_edit"),
    path(_variant + "delete/", views.variant_delete, name="variant_delete"),
    path(_shop + "stock/", views.stock, name="stock"),
    path(_shop + "stock/<int:variant_id>/", views.stock_set, name="stock_set"),
]

# Delivery, orders and money (owned by the orders web pages).
from agora.web.dashboard.orders_urls import urlpatterns as orders_urlpatterns  # noqa: E402

urlpatterns += orders_urlpatterns
