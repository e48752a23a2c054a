"""Routes of the purchasing API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from purchasing.api.views import SupplierProductViewSet, SupplierViewSet

router = DefaultRouter()
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("supplier-products", SupplierProductViewSet, basename="supplier-product")
urlpatterns = router.urls
