from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    verbose_name = _("Warehouse floor")
    name = "warehouse"
    label = "warehouse"

    def ready(self) -> None:
        from warehouse import receivers  # noqa: F401 (connects the receiver of orders' order_cancelled)
