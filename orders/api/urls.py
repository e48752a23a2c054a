"""Routes of the orders API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from orders.api.views import OrderViewSet

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
urlpatterns = router.urls
