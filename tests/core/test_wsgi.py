"""A web worker loads what requests need and freezes it out of the garbage collector's reach before its first request
(config/wsgi.py): full collections then walk only what requests made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)

WORKER = """
import gc, json
import config.wsgi
from django.urls import get_resolver
from django.utils.translation import trans_real
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "patterns": "url_patterns" in get_resolver().__dict__,
    "catalogues": sorted(trans_real._translations),
}))
"""


def worker_state(**environment: str) -> dict:
    """What a gunicorn worker has after importing the WSGI module, in a process of its own."""
    answer = subprocess.run(
        [sys.executable, "-c", WORKER],
        cwd=BASE_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def test_a_web_worker_loads_the_urls_and_translations_and_freezes_them():
    state = worker_state()
    assert state["patterns"], "the URL patterns (every view module) are loaded before the first request"
    assert {"zh-hans", "en"} <= set(state["catalogues"])
    # What Django, DRF and the project loaded is frozen: a full collection walks a small remainder of it.
    assert state["frozen"] > 100_000
    assert state["walked"] < state["frozen"] // 10


def test_freezing_can_be_turned_off():
    state = worker_state(SEABRIDGE_GC_FREEZE="0")
    assert state["frozen"] == 0 and not state["patterns"]
    assert state["walked"] > 100_000
