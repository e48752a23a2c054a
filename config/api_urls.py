"""API v1: one router per app, mounted under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("inventory.api.urls")),
    path("", include("purchasing.api.urls")),
    path("", include("logistics.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("channels.api.urls")),
    path("", include("warehouse.api.urls")),
]
