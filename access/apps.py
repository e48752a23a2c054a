from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Partner access")

    def ready(self) -> None:
        # drf-spectacular finds the schema extension of our authentication class when its module is imported.
        from access import schema  # noqa: F401
