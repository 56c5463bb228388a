from django.urls import URLPattern

# The seller dashboard's pages; included into the `web` namespace by agora/web/urls.py.
urlpatterns: list[URLPattern] = []
