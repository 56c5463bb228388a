from django.urls import path

from agora.web.dashboard.urls import urlpatterns as dashboard_urlpatterns
from agora.web.urls_flash import urlpatterns as flash_urlpatterns
from agora.web.urls_notifications import urlpatterns as notifications_urlpatterns
from agora.web.urls_orders import urlpatterns as orders_urlpatterns
from agora.web.urls_social import urlpatterns as social_urlpatterns
from agora.web.urls_teams import urlpatterns as teams_urlpatterns
from agora.web.views import accounts, storefront

app_name = "web"

urlpatterns = [
    path("", storefront.home, name="home"),
    path("robots.txt", storefront.robots_txt, name="robots_txt"),
    path("search/", storefront.search, name="search"),
    path("c/<slug:slug>/", storefront.category, name="category"),
    path("s/", storefront.shops, name="shops"),
    path("s/<slug:shop_slug>/", storefront.shop, name="shop"),
    path("s/<slug:shop_slug>/p/<slug:product_slug>/", storefront.product, name="product"),
    path("u/<str:username>/", storefront.profile, name="profile"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/login/", accounts.login, name="login"),
    path("accounts/logout/", accounts.logout, name="logout"),
    path("accounts/password/reset/", accounts.password_reset, name="password_reset"),
    path("accounts/password/reset/sent/", accounts.password_reset_sent, name="password_reset_sent"),
    path("accounts/reset/<str:uidb64>/<str:token>/", accounts.password_reset_confirm, name="password_reset_confirm"),
    path("accounts/settings/", accounts.account_settings, name="account_settings"),
    path("accounts/password/", accounts.password_change, name="password_change"),
    path("accounts/tokens/", accounts.api_tokens, name="api_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", accounts.revoke_api_token, name="revoke_api_token"),
    *dashboard_urlpatterns,
    *orders_urlpatterns,
    *social_urlpatterns,
    *notifications_urlpatterns,
    *teams_urlpatterns,
    *flash_urlpatterns,
]
