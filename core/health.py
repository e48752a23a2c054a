"""/healthz (the process answers) and /readyz (it can serve: database, migrations, broker) for load balancers.

Both are plain JSON GETs with no authentication, no session, no CSRF and no language, and are not in the OpenAPI
schema. :class:`HealthProbeMiddleware`, first in MIDDLEWARE, answers them before SecurityMiddleware and the host
check, so a load balancer may probe ``http://<ip>:<port>/readyz`` with any Host header and without TLS, even with
SEABRIDGE_HTTPS on (which redirects everything else to https). The URL routes in config/urls.py serve the same views
for ``reverse()`` and for a setup without the middleware.

- ``/healthz``: 200 ``{"status": "ok"}``; touches nothing (liveness: restart the process only if this fails).
- ``/readyz``: 200 ``{"status": "ok", "checks": {...}}`` when the database answers ``SELECT 1`` (on a connection
  of its own, 2 s to connect, 2 s per statement), no migration is left to apply (checked until true once, then
  remembered for the life of the process) and the broker accepts a connection (the filesystem broker: its folders
  exist); otherwise 503 with ``Retry-After`` and each check's ``status`` and ``message`` (readiness: send no
  traffic to this process until it is 200 again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2
# Set once the migrations were found applied: a running process does not see them go away.
_migrations_applied = False


def _problem(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()


def database_check() -> dict[str, str]:
    """SELECT 1 on a connection of its own, with short timeouts (a stuck server must not hold the probe)."""
    import psycopg

    params = {**connection.get_connection_params()}
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["connect_timeout"] = PROBE_TIMEOUT_SECONDS
    params["options"] = f"{params.get('options', '')} -c statement_timeout={PROBE_TIMEOUT_SECONDS * 1000}".strip()
    try:
        with psycopg.connect(**params, autocommit=True) as probe:
            probe.execute("SELECT 1")
    except psycopg.Error as error:
        return {"status": "failed", "message": _problem(error)}
    return {"status": "ok"}


def migrations_check() -> dict[str, str]:
    global _migrations_applied
    if _migrations_applied:
        return {"status": "ok"}
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # the probe reports what failed, whatever it is
        return {"status": "failed", "message": _problem(error)}
    if plan:
        names = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan[:5]]
        return {"status": "failed", "message": f"{len(plan)} migrations not applied: {', '.join(names)}"}
    _migrations_applied = True
    return {"status": "ok"}


def broker_check() -> dict[str, str]:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        folders = [options.get(name) for name in ("data_folder_in", "data_folder_out", "processed_folder")]
        missing = [folder for folder in folders if folder and not Path(folder).is_dir()]
        if missing:
            return {"status": "failed", "message": f"missing broker folders: {', '.join(missing)}"}
        return {"status": "ok"}
    from celery import current_app

    try:
        with current_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=PROBE_TIMEOUT_SECONDS)
    except Exception as error:  # kombu raises many kinds; the probe reports any
        return {"status": "failed", "message": _problem(error)}
    return {"status": "ok"}


@csrf_exempt
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_check()}
    if checks["database"]["status"] == "ok":
        checks["migrations"] = migrations_check()
    else:
        checks["migrations"] = {"status": "unknown", "message": "the database cannot be reached"}
    checks["broker"] = broker_check()
    failed = [name for name, check in checks.items() if check["status"] != "ok"]
    if not failed:
        return JsonResponse({"status": "ok", "checks": checks})
    logger.warning("/readyz: not ready (%s)", ", ".join(failed))
    response = JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    response["Retry-After"] = str(getattr(settings, "SERVICE_UNAVAILABLE_RETRY_AFTER", 5))
    response._has_been_logged = True  # the warning above is the log line; django.request would add an ERROR
    return response


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthProbeMiddleware:
    """Answers /healthz and /readyz (with or without a trailing slash) before any other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return probe(request)
