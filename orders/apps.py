from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    verbose_name = _("Orders")
    name = "orders"
    label = "orders"

    def ready(self) -> None:
        from orders import shipping  # noqa: F401 (connects the receivers of logistics' signals)
        from orders.dashboard import dashboard_ready

        dashboard_ready()
