from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _refresh_roles(sender, using="default", **kwargs) -> None:
    # Permissions of an app are created in its own post_migrate; refresh the roles after the last one.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if with_models and sender is with_models[-1] and using == "default":
        from core.permissions import permission_names_reload
        from core.roles import roles_ensure

        roles_ensure()
        # The permissions may be new (or, after a flush, new ids): the table of their names is read again now,
        # so that no request after a migrate pays for it.
        permission_names_reload()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        post_migrate.connect(_refresh_roles, dispatch_uid="core.refresh_roles")
        from core.audit import audit_connect

        audit_connect()  # settings.AUDITED_MODELS: an unknown label stops startup here
