from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    verbose_name = _("Sales channels")
    name = "channels"
    label = "channels"
