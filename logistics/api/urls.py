"""Routes of the logistics API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from logistics.api.views import CarrierAccountViewSet, CarrierViewSet, RateCardViewSet, ShippingMethodViewSet

router = DefaultRouter()
router.register("carriers", CarrierViewSet, basename="carrier")
router.register("carrier-accounts", CarrierAccountViewSet, basename="carrier-account")
router.register("shipping-methods", ShippingMethodViewSet, basename="shipping-method")
router.register("rate-cards", RateCardViewSet, basename="rate-card")
urlpatterns = router.urls
