from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    verbose_name = _("Sales channels")
    name = "channels"
    label = "channels"

    def ready(self) -> None:
        from channels import tasks  # noqa: F401 (connects the receiver of orders' shipment_recorded)
        from channels.dashboard import dashboard_ready

        dashboard_ready()
