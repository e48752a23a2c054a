"""Routes of the logistics API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from logistics.api.manifest_views import ManifestViewSet
from logistics.api.shipment_views import ShipmentViewSet, TrackingEventViewSet
from logistics.api.views import CarrierAccountViewSet, CarrierViewSet, RateCardViewSet, ShippingMethodViewSet

router = DefaultRouter()
router.register("carriers", CarrierViewSet, basename="carrier")
router.register("carrier-accounts", CarrierAccountViewSet, basename="carrier-account")
router.register("shipping-methods", ShippingMethodViewSet, basename="shipping-method")
router.register("rate-cards", RateCardViewSet, basename="rate-card")
router.register("shipments", ShipmentViewSet, basename="shipment")
router.register("tracking-events", TrackingEventViewSet, basename="tracking-event")
router.register("manifests", ManifestViewSet, basename="manifest")
urlpatterns = router.urls
