"""The seller dashboard's delivery, orders and money pages; appended to agora/web/dashboard/urls.py."""

from django.urls import URLPattern, path

from agora.web.dashboard import delivery, orders

_shop = "dashboard/s/<slug:slug>/"
_zone = _shop + "delivery/zones/<int:zone_id>/"
_method = _shop + "delivery/methods/<int:method_id>/"
_order = _shop + "orders/<str:number>/"

urlpatterns: list[URLPattern] = [
    path(_shop + "delivery/", delivery.delivery, name="delivery"),
    path(_zone, delivery.delivery_zone, name="delivery_zone"),
    path(_zone + "edit/", delivery.delivery_zone_edit, name="delivery_zone_edit"),
    path(_zone + "delete/", delivery.delivery_zone_delete, name="delivery_zone_delete"),
    path(_zone + "methods/", delivery.delivery_method_add, name="delivery_method_add"),
    path(_method, delivery.delivery_method_row, name="delivery_method_row"),
    path(_method + "edit/", delivery.delivery_method_edit, name="delivery_method_edit"),
    path(_method + "delete/", delivery.delivery_method_delete, name="delivery_method_delete"),
    path(_shop + "orders/", orders.shop_orders, name="shop_orders"),
    path(_order, orders.dashboard_order, name="dashboard_order"),
    path(_order + "ship/", orders.order_ship, name="dashboard_order_ship"),
    path(_order + "deliver/", orders.order_deliver, name="dashboard_order_deliver"),
    path(_order + "refund/", orders.order_refund, name="dashboard_order_refund"),
    path(_order + "return/accept/", orders.order_accept_return, name="dashboard_order_accept_return"),
    path(_order + "decline/", orders.order_decline, name="dashboard_order_decline"),
    path(_order + "cancel/", orders.order_cancel, name="dashboard_order_cancel"),
    path(_shop + "sales-policy/", orders.sales_policy, name="sales_policy"),
    path(_shop + "balance/", orders.shop_balance, name="shop_balance"),
]
