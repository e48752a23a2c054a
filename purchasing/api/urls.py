"""Routes of the purchasing API under /api/v1/."""

from rest_framework.routers import DefaultRouter

from purchasing.api.order_views import PurchaseOrderViewSet
from purchasing.api.planning_views import PromotionViewSet, ReorderPolicyViewSet, SuggestionViewSet
from purchasing.api.receipt_views import ReceiptViewSet
from purchasing.api.views import SupplierProductViewSet, SupplierViewSet

router = DefaultRouter()
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("supplier-products", SupplierProductViewSet, basename="supplier-product")
router.register("receipts", ReceiptViewSet, basename="receipt")
router.register("reorder-policies", ReorderPolicyViewSet, basename="reorder-policy")
router.register("promotions", PromotionViewSet, basename="promotion")
router.register("suggestions", SuggestionViewSet, basename="suggestion")
router.register("purchase-orders", PurchaseOrderViewSet, basename="purchase-order")
urlpatterns = router.urls
