"""Shared by the benchmarks: Django set up for a script, a throw-away database, and worker processes that use it."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# A migrated database to copy instead of the kept one (``kept_template``), when set.
TEMPLATE_VARIABLE = "SEABRIDGE_BENCH_TEMPLATE"
# The kept migrated database: this prefix and a fingerprint of what migrating depends on.
KEPT_TEMPLATE_PREFIX = "seabridge_migrated_"
ROOT = Path(__file__).resolve().parent.parent

# Connection settings of Django's that psycopg.connect does not take.
DJANGO_ONLY_OPTIONS = {"pool", "server_side_binding", "assume_role", "isolation_level", "context", "cursor_factory"}


def django_setup() -> None:
    """Set Django up for a benchmark script run from the project root (python -m bench.<name>)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Only a throw-away database is touched, so the development keys are fine (no SECRET_KEY needed).
    os.environ.setdefault("SEABRIDGE_TESTING", "1")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django

    django.setup()


def migrations_fingerprint() -> str:
    """A hash of what a migrated database depends on: every migration of the project and the pinned packages (whose
    apps have migrations of their own)."""
    digest = hashlib.sha256((ROOT / "requirements.lock").read_bytes())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def kept_template() -> str:
    """The name of a database with every migration applied, kept on the configured server between runs.

    Its name carries ``migrations_fingerprint()``, so a changed migration or package makes a new one (and the old
    ones are dropped). It is built under an advisory lock, into a scratch database renamed once complete, so a run
    that dies half-way leaves nothing that looks finished. Copying it takes a second; migrating takes about twenty.
    """
    from django.conf import settings
    from django.db import connection

    name = f"{KEPT_TEMPLATE_PREFIX}{migrations_fingerprint()}"
    scratch = f"{name}_building"
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [KEPT_TEMPLATE_PREFIX])
        try:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is not None:
                return name
            original_name = connection.settings_dict["NAME"]
            print(f"Migrating {name}, kept for later runs ...", flush=True)
            connection.settings_dict.setdefault("TEST", {})["NAME"] = scratch
            try:
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            finally:
                connection.close()
                connection.settings_dict["NAME"] = original_name
                settings.DATABASES[connection.alias]["NAME"] = original_name
            cursor.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{name}"')
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                [KEPT_TEMPLATE_PREFIX + "%", name],
            )
            for (stale,) in cursor.fetchall():
                cursor.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
            return name
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [KEPT_TEMPLATE_PREFIX])


@contextmanager
def throwaway_database(prefix: str) -> Iterator[dict[str, Any]]:
    """Create ``<prefix>_<pid>`` on the configured server as a copy of the kept migrated database
    (``kept_template``, or the one ``TEMPLATE_VARIABLE`` names), point Django at it, drop it afterwards.

    Yields Django's settings_dict for it, which worker processes take to connect to the same database (see
    ``worker_django_setup``). The database is dropped also on error; every other connection to it must be
    closed by then.
    """
    from django.db import connection

    original_name = connection.settings_dict["NAME"]
    name = f"{prefix}_{os.getpid()}"
    where = connection.settings_dict.get("HOST") or connection.settings_dict["OPTIONS"].get("host", "local socket")
    template = os.environ.get(TEMPLATE_VARIABLE, "").strip() or kept_template()
    # Copying a migrated database takes a second; migrating takes about twenty.
    print(f"Creating throw-away database {name} on {where} from the migrated {template} ...", flush=True)
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield dict(connection.settings_dict)
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original_name
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"Dropped {name}.", flush=True)


def worker_django_setup(database: dict[str, Any]) -> None:
    """In a worker process: set Django up and connect it to ``database`` (a settings_dict from the parent)."""
    django_setup()
    from django.db import connections

    # Django's connection handler holds this very dict and nothing has connected yet, so update it in place.
    connections.settings["default"].update(database)


def psycopg_connect(database: dict[str, Any], **options: Any):
    """A plain psycopg connection to ``database`` (a Django settings_dict), without Django in the way."""
    import psycopg

    parameters = {
        "dbname": database["NAME"],
        "user": database.get("USER"),
        "password": database.get("PASSWORD"),
        "host": database.get("HOST"),
        "port": database.get("PORT"),
        **{key: value for key, value in database.get("OPTIONS", {}).items() if key not in DJANGO_ONLY_OPTIONS},
    }
    return psycopg.connect(**{key: value for key, value in parameters.items() if value not in (None, "")}, **options)


def server_description() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return (
        f"PostgreSQL {version}; Python {sys.version.split()[0]}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
