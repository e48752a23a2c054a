from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    verbose_name = _("Warehouse floor")
    name = "warehouse"
    label = "warehouse"
