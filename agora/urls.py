from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from agora.api.api import api
from agora.core.views import healthz

admin.site.site_header = "Agora back office"
admin.site.site_title = "Agora back office"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("payments/", include("agora.payments.urls")),
    path("", include("agora.web.urls")),
]

if settings.AGORA_SERVE_MEDIA:
    # Embedded mode serves uploads itself; production puts a front server or object store here.
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    )
