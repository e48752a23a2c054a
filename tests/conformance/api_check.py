"""The API checked against its own OpenAPI schema by Schemathesis, over HTTP, on a live server with the demo data.

    python -m tests.conformance.api_check [--seed 1] [--max-examples 25] [--coverage-slice all] [-- st options]
    python -m tests.conformance.api_check --serve     # only the server, for running `st` (or curl) by hand

What an outside tester would do, in one command (`make api-check`, and so in `make test` and CI): a throw-away
database on the configured PostgreSQL (embedded by default, DATABASE_URL otherwise), copied from the migrated one
kept there (bench/_database.py), gets the roles and the demo data, an admin user and its token, and work in flight
(the demo stores' orders synced, allocated, two parcels shipped, one on a manifest); gunicorn serves the project on
a free port of 127.0.0.1; the demo's marketplace and carrier simulators answer on another (so operations that ask a
carrier get real answers).
Schemathesis then takes the schema served at /api/schema/ and sends every operation generated requests, valid
and invalid (the examples, coverage and fuzzing phases), then walks chains of operations along the schema's
OpenAPI links (the stateful phase: a store and its orders; an order allocated, its parcel shipped, labelled and
put on a manifest; a wave; a purchase order submitted and received; see ``core.api.schema``). How many cases
each phase makes and how long a chain may be are set in ``schemathesis.toml`` beside this file, and the coverage
phase sends one of three slices of its cases (the commit picks which; ``--coverage-slice all`` sends them all),
so the whole check stays within about three minutes on two cores (docs/api-fuzzing.md).

The run fails on any server error, an undocumented status code, or a response that breaks the schema, in any
phase; and when an operation of the schema got no answer at all (every route must be exercised). At the end it
prints what it ran: operations, cases per phase, stateful scenarios and links followed, and the time taken.
Every server and database it starts is stopped again, also on error. Schemathesis runs as two processes side by
side, the examples and coverage phases in one and fuzzing and stateful in the other (``--processes 1``: one for
all), each with two worker threads, against gunicorn with three workers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
# Cases per phase and operation, stateful scenarios and their length: the run's size, tuned to its time budget.
CONFIG = HERE / "schemathesis.toml"
# Loaded into Schemathesis: records which operations were answered in which phase and which links were followed.
HOOKS = HERE / "st_hooks.py"

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
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Run as two Schemathesis processes at once: one process keeps about one core busy (its threads share one
# interpreter), so two use the machine's two cores, and the check takes about two thirds of the time.
PHASE_GROUPS = (("examples", "coverage"), ("fuzzing", "stateful"))
METHODS = ("get", "put", "post", "patch", "delete")
# The coverage phase makes every case the schema defines, most of the run's time; each run sends one slice of them
# (a stable hash of the case picks it; the commit picks the slice), so a handful of commits send them all.
COVERAGE_SLICES = 3
START_DEADLINE = 120.0


def _wait_until_serving(url: str, server: subprocess.Popen) -> bytes:
    """Wait until ``url`` answers 200 and return its body. The schema is generated on each request (seconds of CPU on
    a busy machine), so one request is given long to answer rather than being asked again and again."""
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The web server exited with status {server.returncode} before it served {url}.")
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.monotonic())) as response:
                if response.status == 200:
                    return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise SystemExit(f"The web server did not serve {url} within {START_DEADLINE:.0f} s.")


def _prepare_data(simulators_url: str) -> str:
    """Roles, demo data (its stores and carrier accounts pointed at the simulators at ``simulators_url``), an admin
    and its token in the current (throw-away) database; returns the token key."""
    from django.contrib.auth import get_user_model

    from access.services import token_create
    from core.roles import roles_ensure
    from demo.services import demo_data_load

    roles_ensure()
    demo_data_load(simulators_url=simulators_url)
    admin = get_user_model().objects.create_superuser(username="api-check", password=None)
    _token, key = token_create(user=admin, name="api check", scopes=["*"], all_stores=True, all_warehouses=True)
    return key


def _prepare_chains(user) -> None:
    """Work in flight for the stateful phase's chains to start from: the demo stores' orders synced from their
    simulators, allocated (parcels with stock reserved), two parcels shipped with labels and one of them on an open
    manifest. The lists then give real ids to ship, label, wave, scan and hand over."""
    from channels.models import Store, SyncRun
    from channels.services import sync_request
    from channels.sync import sync_run_execute
    from demo.simulators import PLATFORMS
    from logistics.manifests import manifest_open, manifest_scan
    from orders.fulfilment import orders_allocate
    from orders.models import Parcel
    from orders.shipping import parcel_ship

    for store in Store.objects.filter(name__in=[platform.name for platform in PLATFORMS], is_active=True):
        run, _queued = sync_request(store=store, kind=SyncRun.Kind.ORDERS, user=user)
        sync_run_execute(run.id)
    orders_allocate(user=user)
    shipments = [parcel_ship(parcel=parcel, user=user) for parcel in Parcel.objects.order_by("pk")[:2]]
    manifest = manifest_open(account=shipments[0].account)
    manifest_scan(manifest=manifest, code=shipments[0].number, user=user)


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    token: str
    schema: dict
    server_pid: int

    def cpu_seconds(self) -> float:
        """CPU time the web server's processes (gunicorn and its workers) have used so far."""
        import psutil

        master = psutil.Process(self.server_pid)
        used = 0.0
        for process in [master, *master.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            used += times.user + times.system + times.children_user + times.children_system
        return used

    @property
    def schema_url(self) -> str:
        return f"{self.base_url}/api/schema/"


@contextmanager
def live_server(*, web_workers: int) -> Iterator[LiveServer]:
    """The simulators, a throw-away database with the demo data, and gunicorn serving it; all stopped afterwards."""
    from bench._database import django_setup, throwaway_database

    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from core.simulators import SimulatorServer
    from demo import catalogue
    from demo.simulators import Dispatcher, simulators_build
    from tests.processes import database_url, free_port

    # The demo's marketplaces and carriers, served from this process while the check runs: an operation that asks
    # a carrier (rates, a label, a hand-over) gets the carrier's real answer, as in `make run`.
    simulators = SimulatorServer(Dispatcher(simulators_build((p.sku for p in catalogue.PRODUCTS), orders=6)))
    started = time.monotonic()
    with simulators, throwaway_database("api_check") as database:
        migrated = time.monotonic()
        token = _prepare_data(simulators.url)
        _prepare_chains(get_user_model().objects.get(username="api-check"))
        print(
            f"Migrated database ready in {migrated - started:.0f} s; demo data and work in flight in "
            f"{time.monotonic() - migrated:.0f} s.",
            flush=True,
        )
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
            # One token sends every request of the run: no throttling (it is off under the test settings anyway).
            "API_THROTTLE_RATE": "",
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
                str(web_workers),
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
            base_url = f"http://127.0.0.1:{port}"
            schema = json.loads(_wait_until_serving(f"{base_url}/api/schema/?format=json", server))
            yield LiveServer(base_url=base_url, token=token, schema=schema, server_pid=server.pid)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def schema_operations(schema: dict) -> list[str]:
    """Every operation of ``schema``, labelled as Schemathesis labels them (``GET /api/v1/orders/``)."""
    return [
        f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in METHODS if method in item
    ]


def coverage_slice(value: str) -> str:
    """``k/n`` for ``SEABRIDGE_ST_COVERAGE_SLICE`` (st_hooks.py), or "" for every case. ``auto``: slice k of
    COVERAGE_SLICES where k comes from the checked-out commit, so a run can be repeated exactly and other commits
    send other slices."""
    if value == "all":
        return ""
    if value != "auto":
        index, _, count = value.partition("/")
        if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
            raise SystemExit(f"--coverage-slice takes k/n with k < n, auto or all; not {value!r}.")
        return value
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    index = int(commit, 16) % COVERAGE_SLICES if commit else 0
    return f"{index}/{COVERAGE_SLICES}"


def schemathesis_command(
    live: LiveServer, options: argparse.Namespace, schema_file: Path, phases: tuple[str, ...] = PHASES
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        str(schema_file),
        "--url",
        live.base_url,
        "--header",
        f"Authorization: Token {live.token}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        ",".join(phases),
        "--seed",
        str(options.seed),
        "--workers",
        options.workers,
        "--request-timeout",
        "60",
    ]
    if options.max_examples is not None:
        command += ["--max-examples", str(options.max_examples)]
    return [*command, *options.st_options]


def _group(number: int) -> str:
    return f"{number:,}"


def summarize(record: dict, operations: list[str], seconds: float, cpu: dict[str, float]) -> list[str]:
    """Print what the run did; return the problems that fail it (operations of the schema nobody exercised)."""
    answers = record["answers"]
    per_phase = dict.fromkeys(PHASES, 0)
    answered_2xx = set()
    for label, phases in answers.items():
        for phase, codes in phases.items():
            per_phase[phase] = per_phase.get(phase, 0) + sum(codes.values())
            if any(code.startswith("2") for code in codes):
                answered_2xx.add(label)
    stateful_2xx = {
        label for label, phases in answers.items() if any(code.startswith("2") for code in phases.get("stateful", {}))
    }
    links = record["links"]
    inferred = set(record["inferred_links"])
    explicit = [link for link in links if link not in inferred]
    exercised = [label for label in operations if label in answers]
    missing = [label for label in operations if label not in answers]
    total = sum(per_phase.values())
    print()
    print("API check: what Schemathesis ran")
    print(f"  operations:  {len(exercised)} of the schema's {len(operations)} exercised")
    print(
        f"  cases:       {_group(total)} ("
        + ", ".join(f"{phase} {_group(count)}" for phase, count in per_phase.items())
        + ")"
    )
    print(
        f"  stateful:    {_group(record['scenarios'])} scenarios, {_group(per_phase['stateful'])} steps; "
        f"{len(explicit)} schema links and {len(inferred)} inferred links followed; "
        f"{len(stateful_2xx)} operations answered 2xx in a chain"
    )
    for link in sorted(explicit):
        print(f"      {link}  (x{links[link]})")
    print(f"  2xx:         {len(answered_2xx)} of {len(operations)} operations answered 2xx at least once")
    # CPU seconds tell how big the run is on a machine that is busy with other work too (wall time does not).
    print(
        f"  duration:    {seconds:.0f} s (CPU: " + ", ".join(f"{name} {used:.0f} s" for name, used in cpu.items()) + ")"
    )
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} operation(s) of the schema were not exercised:\n"
            + textwrap.indent("\n".join(missing), "    ")
        )
    return problems


def records_merge(records: list[dict]) -> dict:
    """One record (st_hooks.py) of runs made side by side: counts added, links joined."""
    answers: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    links: Counter = Counter()
    inferred: set[str] = set()
    for record in records:
        for label, phases in record["answers"].items():
            for phase, codes in phases.items():
                answers[label][phase].update(codes)
        links.update(record["links"])
        inferred.update(record["inferred_links"])
    return {
        "answers": {
            label: {phase: dict(codes) for phase, codes in phases.items()} for label, phases in answers.items()
        },
        "scenarios": sum(record["scenarios"] for record in records),
        "links": dict(links),
        "inferred_links": sorted(inferred),
        "failed_scenarios": sum(record["failed_scenarios"] for record in records),
    }


def run_check(live: LiveServer, options: argparse.Namespace) -> int:
    operations = schema_operations(live.schema)
    with tempfile.TemporaryDirectory(prefix="api-check-") as scratch:
        # The schema the server served when it came up (generating it again costs seconds, and Schemathesis gives
        # a schema 10 s to load).
        schema_file = Path(scratch) / "schema.json"
        schema_file.write_text(json.dumps(live.schema), encoding="utf-8")
        groups = PHASE_GROUPS if options.processes == 2 else (PHASES,)
        print(
            f"Coverage phase: slice {options.coverage_slice} of its cases (--coverage-slice repeats it)"
            if options.coverage_slice
            else "Coverage phase: every case"
        )
        started, cpu_before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        runs = []
        for number, phases in enumerate(groups):
            command = schemathesis_command(live, options, schema_file, phases)
            print("Running:", " ".join(part if "Token" not in part else "Authorization: Token ***" for part in command))
            record_path, output_path = Path(scratch) / f"record-{number}.json", Path(scratch) / f"output-{number}.txt"
            environment = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": str(HOOKS),
                "SEABRIDGE_ST_RECORD": str(record_path),
                "SEABRIDGE_ST_COVERAGE_SLICE": options.coverage_slice,
            }
            output = output_path.open("w", encoding="utf-8")
            process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
            runs.append((phases, process, output, output_path, record_path))
        sys.stdout.flush()
        returncode, records = 0, []
        for phases, process, output, output_path, record_path in runs:
            status = process.wait()
            output.close()
            # Each run's own report, one after the other (they ran side by side).
            print(f"\n--- Schemathesis, phases {', '.join(phases)} (status {status}) ---", flush=True)
            sys.stdout.write(output_path.read_text(encoding="utf-8"))
            returncode = returncode or status
            if not record_path.exists():
                print(f"Schemathesis ended (status {status}) without recording its run.", file=sys.stderr)
                returncode = returncode or 1
                continue
            records.append(json.loads(record_path.read_text(encoding="utf-8")))
        seconds = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {
            "Schemathesis": cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime,
            "web server": live.cpu_seconds(),
        }
        if len(records) < len(runs):
            return returncode
        problems = summarize(records_merge(records), operations, seconds, cpu)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if returncode == 0 and problems:
        return 1
    return returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-examples",
        type=int,
        default=None,
        help="generated requests per operation in every phase (default: as schemathesis.toml says per phase)",
    )
    parser.add_argument("--seed", type=int, default=20261129, help="the same seed finds the same cases")
    parser.add_argument("--workers", default="2", help="concurrent Schemathesis workers")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=2,
        help="Schemathesis processes side by side: 2 (default) runs examples and coverage in one, fuzzing and "
        "stateful in the other; 1 runs every phase in one",
    )
    parser.add_argument(
        "--coverage-slice",
        default="auto",
        help="k/n: the coverage phase sends slice k of n of its cases; all: every case; auto (default): "
        f"one of {COVERAGE_SLICES} slices, chosen by the commit",
    )
    parser.add_argument(
        "--serve", action="store_true", help="only start the server with the demo data and wait (Ctrl-C stops it)"
    )
    parser.add_argument("st_options", nargs="*", help="further options for `st run`, after --")
    options = parser.parse_args(argv)
    options.coverage_slice = coverage_slice(options.coverage_slice)
    # Stopped by SIGTERM (a CI job cancelled, `kill`): unwind, so the server stops and the database is dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))

    started = time.monotonic()
    with live_server(web_workers=options.web_workers) as live:
        print(f"Server with the demo data up in {time.monotonic() - started:.0f} s.", flush=True)
        if options.serve:
            print(
                f"Serving {live.schema_url}; send `Authorization: Token {live.token}`. "
                f"Ctrl-C or `kill {os.getpid()}` stops it.",
                flush=True,
            )
            try:
                signal.pause()
            except KeyboardInterrupt:
                return 0
        returncode = run_check(live, options)
    print(f"API check {'passed' if returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s.")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
