"""App config of the demo app (no models: it only fills the other apps through their services)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = _("Demo data and bootstrap")
