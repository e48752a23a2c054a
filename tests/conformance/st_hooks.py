"""Loaded into Schemathesis (SCHEMATHESIS_HOOKS) by api_check: records what the run did, and shapes two inputs.

- **What ran.** Schemathesis's own output says how many cases passed, but not which operations were answered, in
  which phase, nor which links its stateful phase followed. :class:`RunRecorder` counts, for every request that
  got a response, its operation, phase and status code; for the stateful phase, the scenarios and the links
  applied (explicit and inferred); and writes it all as JSON to the file named by ``SEABRIDGE_ST_RECORD``.
- **Idempotency keys.** Generated keys are short and repeat ("0", "00"), and a key sent again with another body is
  refused (422): most writes would test only that. A valid key is made unique (a prefix of the key plus a
  counter); invalid ones (too long, control characters) are sent as generated, to be refused with a 400.
- **A share of the coverage phase.** It makes every case the schema defines (some 12,000 here), most of the run's
  time. ``SEABRIDGE_ST_COVERAGE_SLICE=k/n`` keeps the k-th of n slices (by a stable hash of each case), so a run
  takes a third, say, and n runs with k = 0 … n-1 take them all; api_check picks k from the commit. Unset: all.
- **Lists in the stateful phase** are where chains start (the first row's id feeds the next step). Their filters
  were fuzzed in the earlier phases; here random filters would only return empty pages, so a list keeps only the
  query parameters a link fills (the store of ``GET /orders/?store=``).
- **One ``ast.parse`` at a time.** Hypothesis parses a module's source to describe a filter's lambda, from each of
  the run's two worker threads, and CPython 3.11 can fail such a parse in a threaded program with ``SystemError: AST
  constructor recursion depth mismatch`` (CPython issue 106905; seen once in CI, on the allocation-rule preview's
  coverage cases). A lock around ``ast.parse`` in this process serializes them.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import json
import os
import re
import threading
from collections import Counter, defaultdict
from typing import Any

import schemathesis
from schemathesis import cli
from schemathesis.engine import Status, events

RECORD_ENV = "SEABRIDGE_ST_RECORD"
STATEFUL = "stateful"
# The CLI counts a stateful scenario the same way (cli/commands/run/handlers/output.py).
NOT_A_SCENARIO = (Status.INTERRUPTED, Status.SKIP, None)

_ast_parse = ast.parse
_ast_lock = threading.Lock()


def _ast_parse_one_at_a_time(*args: Any, **kwargs: Any) -> Any:
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _ast_parse_one_at_a_time

IDEMPOTENCY_HEADER = "Idempotency-Key"
# As the schema documents the header (core.api.schema.IDEMPOTENCY_KEY).
VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_key_numbers = itertools.count(1)
# Path of a list -> the query parameters the schema's links fill there (read from the schema when it loads).
LINKED_QUERY: dict[str, set[str]] = defaultdict(set)


@schemathesis.hook
def after_load_schema(context: Any, schema: Any) -> None:
    paths = schema.raw_schema.get("paths", {})
    path_of = {
        operation["operationId"]: path
        for path, item in paths.items()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for link in response.get("links", {}).values():
                    for parameter in link.get("parameters", {}):
                        location, _, name = parameter.partition(".")
                        if location == "query" and link.get("operationId") in path_of:
                            LINKED_QUERY[path_of[link["operationId"]]].add(name)


COVERAGE_SLICE_ENV = "SEABRIDGE_ST_COVERAGE_SLICE"


def _coverage_slice() -> tuple[int, int] | None:
    value = os.environ.get(COVERAGE_SLICE_ENV, "").strip()
    if not value:
        return None
    index, _, count = value.partition("/")
    return int(index), int(count)


COVERAGE_SLICE = _coverage_slice()


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    meta = case.meta
    if COVERAGE_SLICE is None or meta is None or meta.phase.name != "coverage":
        return True
    index, count = COVERAGE_SLICE
    data = meta.phase.data
    # The same case hashes the same in every run: plain data only (no object addresses, no per-process hash seed).
    body = case.body if isinstance(case.body, (dict, list, str, bytes, int, float, bool, type(None))) else "-"
    key = repr(
        (case.operation.label, data.description, data.location, data.parameter, case.path_parameters, case.query, body)
    )
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") % count == index


@schemathesis.hook
def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    key = (headers or {}).get(IDEMPOTENCY_HEADER)
    if isinstance(key, str) and VALID_KEY.fullmatch(key):
        headers[IDEMPOTENCY_HEADER] = f"{key[:200]}-{next(_key_numbers)}"
    return headers


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if (
        meta is not None
        and meta.phase.name == STATEFUL
        and case.method.upper() == "GET"
        and "{" not in case.operation.path
        and case.query
    ):
        linked = LINKED_QUERY.get(case.operation.path, set())
        case.query = {name: value for name, value in case.query.items() if name in linked}
    return case


@cli.handler()
class RunRecorder(cli.EventHandler):
    def __init__(self, *args: Any, **params: Any) -> None:
        self.path = os.environ.get(RECORD_ENV)
        # operation label -> phase -> status code -> responses
        self.answers: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        self.scenarios = 0
        self.links: Counter = Counter()
        self.inferred_links: set[str] = set()
        self.failures = 0

    def handle_event(self, ctx: Any, event: events.EngineEvent) -> None:
        if isinstance(event, events.ScenarioFinished):
            self._scenario_finished(event)
        elif isinstance(event, events.EngineFinished):
            self._write()

    def _scenario_finished(self, event: events.ScenarioFinished) -> None:
        phase = str(event.phase.value)
        recorder = event.recorder
        if event.status == Status.FAILURE:
            self.failures += 1
        for case_id, node in recorder.cases.items():
            interaction = recorder.interactions.get(case_id)
            if interaction is None or interaction.response is None:
                continue
            self.answers[node.value.operation.label][phase][str(interaction.response.status_code)] += 1
            if phase == STATEFUL and node.transition is not None and node.is_transition_applied:
                self.links[node.transition.id] += 1
                if node.transition.is_inferred:
                    self.inferred_links.add(node.transition.id)
        if phase == STATEFUL and not event.is_final and event.status not in NOT_A_SCENARIO:
            self.scenarios += 1

    def _write(self) -> None:
        if not self.path:
            return
        record = {
            "answers": {
                label: {phase: dict(codes) for phase, codes in phases.items()} for label, phases in self.answers.items()
            },
            "scenarios": self.scenarios,
            "links": dict(self.links),
            "inferred_links": sorted(self.inferred_links),
            "failed_scenarios": self.failures,
        }
        with open(self.path, "w", encoding="utf-8") as file:
            json.dump(record, file)
