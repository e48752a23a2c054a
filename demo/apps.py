"""App config of the demo app (no models: it only fills the other apps through their services)."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Demo data and bootstrap"
