"""Routes of the orders API under /api/v1/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from orders.api.parcels import ParcelViewSet
from orders.api.quotes import QuoteView
from orders.api.rules import AllocationRuleViewSet, BlacklistViewSet
from orders.api.views import OrderViewSet

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("parcels", ParcelViewSet, basename="parcel")
router.register("allocation-rules", AllocationRuleViewSet, basename="allocation-rule")
router.register("blacklist", BlacklistViewSet, basename="blacklist")
urlpatterns = [path("quotes/", QuoteView.as_view(), name="quotes"), *router.urls]
