"""Routes of the inventory API under /api/v1/: products, warehouses, bins, stock, reservations, transfers, counts."""

from rest_framework.routers import DefaultRouter

from inventory.api.count_views import StockCountViewSet
from inventory.api.stock_views import (
    AvailabilityViewSet,
    ReservationViewSet,
    SellableChangeViewSet,
    StockActionViewSet,
    StockLevelViewSet,
    StockMoveViewSet,
)
from inventory.api.transfer_views import TransferViewSet
from inventory.api.views import BinViewSet, ProductViewSet, WarehouseViewSet

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("warehouses", WarehouseViewSet, basename="warehouse")
router.register("bins", BinViewSet, basename="bin")
router.register("stock-levels", StockLevelViewSet, basename="stock-level")
router.register("availability", AvailabilityViewSet, basename="availability")
router.register("stock-moves", StockMoveViewSet, basename="stock-move")
router.register("stock", StockActionViewSet, basename="stock")
router.register("reservations", ReservationViewSet, basename="reservation")
router.register("sellable-changes", SellableChangeViewSet, basename="sellable-change")
router.register("transfers", TransferViewSet, basename="transfer")
router.register("stock-counts", StockCountViewSet, basename="stock-count")
urlpatterns = router.urls
