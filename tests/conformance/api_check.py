"""The API checked against its own OpenAPI schema by Schemathesis, over HTTP, on a live server with the demo data.

    python -m tests.conformance.api_check [--max-examples 25] [--seed 1] [-- extra st run options]

What an outside tester would do, in one command (`make api-check`, and so in `make test` and CI): a throw-away
database on the configured PostgreSQL (embedded by default, DATABASE_URL otherwise) gets the migrations, the
roles and the demo data, an admin user and its token; gunicorn serves the project on a free port of 127.0.0.1;
the demo's marketplace and carrier simulators answer on another (so operations that ask a carrier get real answers);
then Schemathesis reads /api/schema/ and sends every operation generated requests, valid and invalid (the
examples, coverage and fuzzing phases, and the stateful phase, which follows the links between operations). The
run fails on any server error, an undocumented status code, or a response that breaks the schema. Every server
and database it starts is stopped again, also on error.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# What a failure is: a server error, a status the schema does not list, or a body, header or content type that
# breaks it. (Schemathesis's negative_data_rejection and positive_data_acceptance judge how strict the API is
# with types, e.g. that "12" is refused for an integer, which DRF accepts on purpose; they are not run.)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
PHASES = "examples,coverage,fuzzing,stateful"
START_DEADLINE = 60.0


def _wait_until_serving(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The web server exited with status {server.returncode} before it served {url}.")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise SystemExit(f"The web server did not serve {url} within {START_DEADLINE:.0f} s.")


def _prepare_data(simulators_url: str) -> str:
    """Roles, demo data (its stores and carrier accounts pointed at the simulators at ``simulators_url``), an admin
    and its token in the current (throw-away) database; returns the token key."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from core.roles import roles_ensure
    from demo.services import demo_data_load

    roles_ensure()
    demo_data_load(simulators_url=simulators_url)
    admin = get_user_model().objects.create_superuser(username="api-check", password=None)
    return Token.objects.create(user=admin).key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25, help="generated requests per operation and phase")
    parser.add_argument("--seed", type=int, default=20261129, help="the same seed finds the same cases")
    parser.add_argument("--workers", default="2", help="concurrent Schemathesis workers")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("st_options", nargs="*", help="further options for `st run`, after --")
    options = parser.parse_args(argv)

    from bench._database import django_setup, throwaway_database

    django_setup()
    from django.db import connection

    from core.simulators import SimulatorServer
    from demo import catalogue
    from demo.simulators import Dispatcher, simulators_build
    from tests.processes import database_url, free_port

    # The demo's marketplaces and carriers, served from this process while the check runs: an operation that asks
    # a carrier (rates, a label, a hand-over) gets the carrier's real answer, as in `make run`.
    simulators = SimulatorServer(Dispatcher(simulators_build((p.sku for p in catalogue.PRODUCTS), orders=6)))
    with simulators, throwaway_database("api_check") as database:
        token = _prepare_data(simulators.url)
        connection.close()  # the server's processes use the database; this one is done with it until the drop
        port = free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(database),
            "SEABRIDGE_TESTING": "1",
            "DEBUG": "0",
            "PYTHONUNBUFFERED": "1",
            # Every refused request would log a warning; a server error still logs at ERROR.
            "LOG_LEVEL": "ERROR",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(options.web_workers),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=environment,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_serving(f"{base}/api/schema/", server)
            command = [
                str(Path(sys.executable).with_name("st")),
                "--no-color",
                "run",
                f"{base}/api/schema/",
                "--header",
                f"Authorization: Token {token}",
                "--checks",
                ",".join(CHECKS),
                "--phases",
                PHASES,
                "--max-examples",
                str(options.max_examples),
                "--seed",
                str(options.seed),
                "--workers",
                options.workers,
                "--request-timeout",
                "60",
                *options.st_options,
            ]
            print("Running:", " ".join(part if "Token" not in part else "Authorization: Token ***" for part in command))
            sys.stdout.flush()
            return subprocess.run(command, cwd=ROOT, check=False).returncode
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


if __name__ == "__main__":
    sys.exit(main())
