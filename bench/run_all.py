"""Run every benchmark in bench/ (each bench_*.py) in its own process; exit non-zero if any fails.

python -m bench.run_all            full size, as the figures in bench/README.md were taken
python -m bench.run_all --small    small size, for CI: each benchmark gets --small
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def benchmarks() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="pass --small to every benchmark (CI)")
    parser.add_argument("only", nargs="*", help="names of benchmarks to run (default: all)")
    options = parser.parse_args(argv)
    names = options.only or benchmarks()
    unknown = sorted(set(names) - set(benchmarks()))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)}")
    with migrated_template():
        return run(names, small=options.small)


@contextmanager
def migrated_template() -> Iterator[None]:
    """The kept migrated database (bench/_database.py) that every benchmark copies, built first if it is missing."""
    from bench._database import TEMPLATE_VARIABLE, django_setup, kept_template

    django_setup()
    from django.db import connection

    os.environ[TEMPLATE_VARIABLE] = kept_template()
    connection.close()  # a database is copied only while no one is connected to it
    try:
        yield
    finally:
        del os.environ[TEMPLATE_VARIABLE]


def run(names: list[str], *, small: bool) -> int:
    failed = []
    for name in names:
        print(f"=== {name}{' --small' if small else ''}", flush=True)
        started = time.perf_counter()
        # Each in its own interpreter: a benchmark sets up Django and its throw-away database for itself.
        command = [sys.executable, "-m", f"bench.{name}", *(["--small"] if small else [])]
        returncode = subprocess.run(command, cwd=BENCH_DIR.parent, check=False).returncode
        seconds = time.perf_counter() - started
        outcome = "ok" if returncode == 0 else f"FAILED (exit code {returncode})"
        print(f"=== {name}: {outcome} in {seconds:.1f} s\n", flush=True)
        if returncode != 0:
            failed.append(name)
    if failed:
        print(f"{len(failed)} of {len(names)} benchmarks failed: {', '.join(failed)}")
        return 1
    print(f"All {len(names)} benchmarks ran.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
