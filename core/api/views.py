"""Answers of the API for what no view handles: an unknown address, and a server error, in the one error shape."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import server_error


# Nothing is done at an unknown address, so there is nothing for a CSRF check to protect (and a DELETE there is
# a 404, not an HTML 403).
@csrf_exempt
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any address under /api/ that no route matches (the routers' last resort, DEBUG or not)."""
    message = _("Nothing is at %(path)s.") % {"path": request.path}
    return JsonResponse({"message": message, "code": "not_found", "errors": []}, status=404)


def error_500(request: HttpRequest) -> JsonResponse:
    """handler500: under /api/ the error shape (a program reads it); elsewhere Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "message": _("The server failed on this request; it has been logged."),
                "code": "server_error",
                "errors": [],
            },
            status=500,
        )
    return server_error(request)
