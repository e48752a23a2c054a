"""Routes of the floor's API under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from warehouse.api.views import ProductivityView, ScanEventViewSet, WaveViewSet

router = DefaultRouter()
router.register("waves", WaveViewSet, basename="wave")
router.register("scans", ScanEventViewSet, basename="scan")
urlpatterns = [path("productivity/", ProductivityView.as_view(), name="productivity"), *router.urls]
