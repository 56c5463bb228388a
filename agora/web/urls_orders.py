"""Web pages of orders (included from agora.web.urls, namespace "web")."""

from django.urls import URLPattern, path

from agora.web.views import orders

urlpatterns: list[URLPattern] = [
    path("cart/", orders.cart, name="cart"),
    # The prefill link external sites and feeds point to: /cart/add?items=12:2,15:1&coupon=SPRING
    path("cart/add", orders.cart_prefill, name="cart_prefill"),
    path("cart/items/", orders.cart_add, name="cart_add"),
    path("cart/items/<int:variant_id>/", orders.cart_update, name="cart_update"),
    path("cart/items/<int:variant_id>/remove/", orders.cart_remove, name="cart_remove"),
    path("checkout/", orders.checkout, name="checkout"),
    path("checkout/summary/", orders.checkout_summary, name="checkout_summary"),
    path("checkout/<str:public_id>/", orders.checkout_done, name="checkout_done"),
    path("checkout/<str:public_id>/pay/", orders.checkout_pay, name="checkout_pay"),
    path("orders/", orders.orders, name="orders"),
    path("orders/claim/<str:token>/", orders.order_claim, name="order_claim"),
    path("orders/claim/<str:token>/<str:number>/", orders.guest_order, name="guest_order"),
    path("orders/<str:number>/", orders.order, name="order"),
    path("orders/<str:number>/cancel/", orders.order_cancel, name="order_cancel"),
    path("orders/<str:number>/refund/", orders.order_refund, name="order_refund"),
    path("orders/<str:number>/return/", orders.order_return, name="order_return"),
]
