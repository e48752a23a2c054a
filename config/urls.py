"""URL map: the root (the admin's home), the language switch, admin, API v1 with its schema and docs."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from core.api.views import api_not_found
from core.health import healthz, readyz
from core.twofactor import admin_login

# Unfold takes the header and title from settings.UNFOLD; Django's own pages (logout, password change) and the
# home page's heading read these.
admin.site.site_header = admin.site.site_title = "Seabridge"
admin.site.index_title = _("Today")

urlpatterns = [
    # The root is the admin's home page: the back office is the site.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    # For load balancers and supervisors (core/health.py; its middleware answers these before the host check).
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Two-factor login (core/twofactor.py): its pages, and the admin's login with the code step, before the admin's.
    path("admin/2fa/", include("core.twofactor_urls")),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(
            url_name="api-schema", permission_classes=[AllowAny], template_name="api/redoc.html"
        ),
        name="api-redoc",
    ),
    path("api/v1/", include("config.api_urls")),
    path("scan/", include("warehouse.scan.urls")),
    # Last: an address under /api/ that no route matches answers in the API's error shape, not an HTML page.
    re_path(r"^api/", api_not_found),
]

handler500 = "core.api.views.error_500"
