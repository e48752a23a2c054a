"""Routes of the channels API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from channels.api.views import RejectedOrderViewSet, SkuMappingViewSet, StoreViewSet, SyncRunViewSet

router = DefaultRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("sku-mappings", SkuMappingViewSet, basename="sku-mapping")
router.register("rejected-orders", RejectedOrderViewSet, basename="rejected-order")
urlpatterns = router.urls
