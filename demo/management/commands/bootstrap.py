"""Make a database ready to use: migrate, roles, demo data, static files, an admin user and an API token."""

from __future__ import annotations

import importlib
import importlib.util
import os
import secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from access.services import token_rotate
from core.roles import roles_ensure
from demo import catalogue
from demo.services import demo_data_load, demo_stores_sync

ADMIN_USERNAME = "admin"
RUN_TOKEN_NAME = "make run"  # noqa: S105 -- the name of a token, not a key
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 -- a file name, not a password


def admin_password_stored(data_dir: Path, *, create: bool) -> str | None:
    """The generated admin password kept in ``data_dir`` (mode 0600), made on first use when ``create``."""
    path = data_dir / ADMIN_PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not create:
        return None
    password = secrets.token_urlsafe(12)
    data_dir.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two bootstraps racing must not each print a different password.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def periodic_tasks_ensure_all() -> dict[str, str]:
    """Run ``periodic_tasks_ensure()`` of every app that has a ``schedules`` module; task name -> outcome.

    Each app owns its periodic tasks (rows of django-celery-beat that beat reads); this only finds them.
    """
    outcome: dict[str, str] = {}
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.schedules"
        if importlib.util.find_spec(module_name) is None:
            continue
        ensure = getattr(importlib.import_module(module_name), "periodic_tasks_ensure", None)
        if ensure is not None:
            outcome.update(ensure())
    return outcome


def database_description() -> str:
    """Where the data lives, without the password."""
    database = settings.DATABASES["default"]
    host = database.get("HOST") or "localhost"
    if host.startswith("/"):
        return f"embedded PostgreSQL, socket in {host}"
    port = database.get("PORT") or 5432
    return f"PostgreSQL {database.get('NAME')} on {host}:{port}"


def box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    edge = "+" + "-" * (width + 4) + "+"
    return "\n".join([edge, *[f"|  {line.ljust(width)}  |" for line in lines], edge])


class Command(BaseCommand):
    help = (
        "Migrate, refresh the roles and periodic tasks, load the demo data, collect static files (DEBUG off) and "
        "make sure an admin user with an API token exists, then print how to log in. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Host shown in the printed URLs.")
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URLs.")
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo warehouses and products.")

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"Database: {database_description()}")
        self._migrate()
        roles = roles_ensure()
        self.stdout.write(f"Roles: {', '.join(roles)}")
        schedules = periodic_tasks_ensure_all()
        changed = sorted(name for name, outcome in schedules.items() if outcome != "unchanged")
        self.stdout.write(
            f"Periodic tasks: {len(schedules)}"
            + (f" ({len(changed)} created or updated)" if changed else ", unchanged")
        )
        admin, password_line, password = self._admin_ensure()
        if not options["no_demo"]:
            # Demo users log in with the admin's password, so one line of the box serves them all.
            created = demo_data_load(password=password)
            if any(created.values()):
                summary = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in created.items() if count)
                self.stdout.write(f"Demo data: created {summary}.")
            else:
                self.stdout.write("Demo data: already loaded.")
            queued = demo_stores_sync()
            if queued:
                self.stdout.write(f"Demo stores: first sync queued for {', '.join(queued)}.")
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write(f"Static files: collected in {settings.STATIC_ROOT}")
        # Only a key's hash is stored, so the key printed last time cannot be printed again: the admin's "make run"
        # token is replaced on every run (the old one revoked), and the box always holds a working key.
        _token, key = token_rotate(
            user=admin, name=RUN_TOKEN_NAME, scopes=["*"], all_stores=True, all_warehouses=True, by=admin
        )
        base = f"http://{options['host']}:{options['port']}"
        lines = [
            "Seabridge",
            "",
            f"Home        {base}/",
            f"Login       {ADMIN_USERNAME} / {password_line}",
        ]
        if not options["no_demo"]:
            lines.append(f"Demo users  {', '.join(user[0] for user in catalogue.USERS)} (same password)")
        lines += [
            f"API token   {key}",
            f"API docs    {base}/api/docs/",
            f"API         {base}/api/v1/   (header  Authorization: Token <API token>)",
        ]
        self.stdout.write(box(lines))

    def _migrate(self) -> None:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Migrations: {len(pending)} applied." if pending else "Migrations: up to date.")

    def _admin_ensure(self) -> tuple[AbstractBaseUser, str, str | None]:
        """The admin user, the password line to print, and the password itself whenever it is known."""
        from_environment = os.environ.get("SEABRIDGE_ADMIN_PASSWORD", "").strip()
        user_model = get_user_model()
        admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            password = from_environment or admin_password_stored(settings.DATA_DIR, create=True)
            admin = user_model.objects.create_superuser(
                username=ADMIN_USERNAME, email="admin@example.com", password=password
            )
            self.stdout.write(f"Admin user: created {ADMIN_USERNAME}.")
            return admin, password, password
        if from_environment:
            # An explicit password wins, so SEABRIDGE_ADMIN_PASSWORD is also how a forgotten one is reset.
            if not admin.check_password(from_environment):
                admin.set_password(from_environment)
                admin.save(update_fields=["password"])
                self.stdout.write("Admin user: password set from SEABRIDGE_ADMIN_PASSWORD.")
            return admin, from_environment, from_environment
        stored = admin_password_stored(settings.DATA_DIR, create=False)
        if stored is not None and admin.check_password(stored):
            return admin, stored, stored
        return admin, "(password unchanged; set SEABRIDGE_ADMIN_PASSWORD to reset it)", None
