"""The load test's client side: Locust users sending bench_load's mix at a fixed rate, in a process of its own.

Run by ``bench.bench_load`` as ``python -m bench._load_locust PLAN OUT``: PLAN is a JSON file of what to ask for
(the host, the rate, the duration, each user's token and session, the ids to read and write); OUT gets one record
per request (name, class, request id, client time, status, what went wrong). Locust patches the standard library
with gevent on import, which must not reach the Django process: that is why this is a process of its own and
imports nothing of Django's.

The users are ``FastHttpUser`` (geventhttpclient): the load generator shares the machine's two cores with the
server, and it costs a fraction of the CPU per request that ``HttpUser`` (requests) does. API calls carry only the
token, as a partner's program does; the scan pages carry the floor worker's session and CSRF cookies.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

REQUEST_HEADER = "X-Bench-Request"  # logged by gunicorn, to join its time to the client's record
PAGE_SIZE = 50


def user_class(plan: dict, records: list[dict]):
    from locust import FastHttpUser, constant_throughput, task

    identities = itertools.count()
    data = plan["data"]
    chooser = random.Random(plan["seed"])

    per_user = plan["rate"] / plan["users"]

    class Seller(FastHttpUser):
        host = plan["host"]

        if plan["arrivals"] == "in-phase":
            # Every user sends at 0, 1, 2... seconds after the common start: the whole rate arrives as one burst.
            wait_time = constant_throughput(per_user)
        else:
            # Poisson: each user's next request is due an exponential gap after the last one was due, whatever the
            # answers took (a late answer makes the next request go at once, until the user has caught up). Fifty
            # such users together send a Poisson stream at the plan's rate, as independent clients do.
            def wait_time(self) -> float:
                self.due += self.arrivals.expovariate(per_user)
                return max(0.0, self.due - time.monotonic())

        def on_start(self) -> None:
            index = next(identities)
            self.me = plan["identities"][index % len(plan["identities"])]
            if plan["arrivals"] == "poisson":
                import gevent

                self.arrivals = random.Random(f"{plan['seed']}-{index}")
                self.due = time.monotonic() + self.arrivals.expovariate(per_user)
                gevent.sleep(max(0.0, self.due - time.monotonic()))
            self.api = {"Authorization": f"{plan['token_keyword']} {self.me['token']}", "Accept": "application/json"}
            self.floor = {"Cookie": f"sessionid={self.me['session']}; csrftoken={self.me['csrf']}"}
            self.writes = itertools.count()
            self.created = itertools.count()

        # --- sending and checking -----------------------------------------------------------------------------

        def send(self, kind: str, name: str, method: str, path: str, *, expect=(200,), rows=None, **options) -> None:
            request = uuid.uuid4().hex
            headers = {**options.pop("headers", {}), REQUEST_HEADER: request}
            record = {"name": name, "class": kind, "request": request, "status": 0, "problem": "", "wrong": ""}
            # What was sent, for bench_load to replay one request of each endpoint alone, counting its queries.
            record.update(method=method, path=path, body=options.get("data"), headers=headers)
            began = time.perf_counter()
            record["began"] = began
            try:
                response = self.client.request(method, path, headers=headers, name=name, **options)
                record["status"] = response.status_code
                if response.status_code not in expect:
                    error = getattr(response, "error", None)
                    record["problem"] = (
                        f"{method} {path}: {response.status_code} {(response.text or error or '')!s:.200}"
                    )
                elif rows is not None:
                    found = len(response.json()["results"])
                    if found != rows:
                        record["wrong"] = f"{method} {path}: {found} rows, not {rows}"
            except Exception as error:  # a refused connection or a timeout: an error to count
                record["problem"] = f"{method} {path}: {type(error).__name__}: {error}"
            record["ended"] = time.perf_counter()
            record["ms"] = (record["ended"] - began) * 1000
            records.append(record)

        def get(self, kind: str, name: str, path: str, **options) -> None:
            self.send(kind, name, "GET", path, headers=self.api, **options)

        def post(self, name: str, path: str, body: dict, expect=(200, 201)) -> None:
            self.send("write", name, "POST", path, headers={**self.api, "Content-Type": "application/json"},
                      data=json.dumps(body), expect=expect)  # fmt: skip

        # --- details and scans: 70 % ---------------------------------------------------------------------------

        @task(15)
        def order_detail(self) -> None:
            self.get("detail", "GET /orders/{id}/", f"/api/v1/orders/{chooser.choice(data['orders'])}/")

        @task(12)
        def product_detail(self) -> None:
            self.get("detail", "GET /products/{id}/", f"/api/v1/products/{chooser.choice(data['products'])}/")

        @task(12)
        def stock_of_sku(self) -> None:
            sku = chooser.choice(data["skus"])
            self.get("detail", "GET /availability/?product=SKU", f"/api/v1/availability/?product={sku}", rows=1)

        @task(10)
        def shipment_detail(self) -> None:
            self.get("detail", "GET /shipments/{id}/", f"/api/v1/shipments/{chooser.choice(data['shipments'])}/")

        @task(5)
        def scan_menu(self) -> None:
            self.send("scan", "GET /scan/", "GET", "/scan/", headers={**self.floor, "Accept": "text/html"})

        @task(8)
        def scan_move_page(self) -> None:
            self.send("scan", "GET /scan/move/", "GET", "/scan/move/", headers={**self.floor, "Accept": "text/html"})

        @task(8)
        def scan_bin_lookup(self) -> None:
            # The move page's first scan: a bin, answered with what it holds (the next bin scanned replaces it).
            self.send(
                "scan",
                "POST /scan/move/ (bin)",
                "POST",
                "/scan/move/",
                headers={
                    **self.floor,
                    "Accept": "application/json",
                    "Origin": plan["host"],
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                data=urlencode({"csrfmiddlewaretoken": self.me["csrf"], "code": chooser.choice(data["bins"])}),
            )

        # --- lists of 50 rows: 20 % ----------------------------------------------------------------------------

        def page(self, count_key: str) -> int:
            return chooser.randint(1, max(1, min(20, data[count_key] // PAGE_SIZE)))

        @task(5)
        def orders_list(self) -> None:
            self.get("list", "GET /orders/", f"/api/v1/orders/?page={self.page('order_count')}", rows=PAGE_SIZE)

        @task(4)
        def products_list(self) -> None:
            path = f"/api/v1/products/?ordering=sku&page={self.page('product_count')}"
            self.get("list", "GET /products/?ordering=sku", path, rows=PAGE_SIZE)

        @task(4)
        def stock_levels_list(self) -> None:
            path = f"/api/v1/stock-levels/?warehouse={data['warehouse']}&page={self.page('level_count')}"
            self.get("list", "GET /stock-levels/?warehouse=", path, rows=PAGE_SIZE)

        @task(4)
        def stock_moves_list(self) -> None:
            path = f"/api/v1/stock-moves/?warehouse={data['warehouse']}&reason=pick&page_size={PAGE_SIZE}"
            self.get("list", "GET /stock-moves/?warehouse=&reason=", path, rows=PAGE_SIZE)

        @task(3)
        def shipments_list(self) -> None:
            path = f"/api/v1/shipments/?page={self.page('shipment_count')}"
            self.get("list", "GET /shipments/", path, rows=PAGE_SIZE)

        # --- writes: 10 % --------------------------------------------------------------------------------------

        @task(3)
        def hold_or_release(self) -> None:
            order = self.me["orders"][(next(self.writes) // 2) % len(self.me["orders"])]
            if self.me.setdefault("held", {}).get(str(order)):
                self.post("POST /orders/{id}/release/", f"/api/v1/orders/{order}/release/", {"note": "checked"})
                self.me["held"][str(order)] = False
            else:
                self.post("POST /orders/{id}/hold/", f"/api/v1/orders/{order}/hold/", {"reason": "address to check"})
                self.me["held"][str(order)] = True

        @task(3)
        def adjust(self) -> None:
            # +1 then -1: the bin ends as it began.
            delta = 1 if self.me.setdefault("adjusted", 0) == 0 else -1
            body = {"product": self.me["product"], "bin": self.me["bin"], "delta": delta, "note": "load test"}
            self.post("POST /stock/adjust/", "/api/v1/stock/adjust/", body)
            self.me["adjusted"] += delta

        @task(2)
        def move(self) -> None:
            there = self.me.setdefault("moved", False)
            from_bin, to_bin = (
                (self.me["other_bin"], self.me["bin"]) if there else (self.me["bin"], self.me["other_bin"])
            )
            body = {"product": self.me["product"], "from_bin": from_bin, "to_bin": to_bin, "quantity": 1}
            self.post("POST /stock/move/", "/api/v1/stock/move/", body)
            self.me["moved"] = not there

        @task(2)
        def product_create(self) -> None:
            # The key's 8-character prefix (after "sb_") tells the users apart; its first letters alone did not.
            sku = f"LOAD-{self.me['token'][3:11]}-{next(self.created):05d}"
            self.post("POST /products/", "/api/v1/products/", {"sku": sku, "name": f"Load test {sku}"}, expect=(201,))

        # --- the baseline, outside the mix ---------------------------------------------------------------------

        @task(plan["baseline_weight"])
        def baseline(self) -> None:
            self.send("baseline", f"GET {plan['baseline']}", "GET", plan["baseline"], headers=self.api)

    return Seller


def main(argv: list[str]) -> int:
    plan_path, out_path = Path(argv[0]), Path(argv[1])
    plan = json.loads(plan_path.read_text())
    from locust.env import Environment

    records: list[dict] = []
    environment = Environment(user_classes=[user_class(plan, records)])
    runner = environment.create_local_runner()
    import gevent

    # Every user at once: each keeps its own rate, so the total is the plan's rate from the first second. The warm-up's
    # requests (each server process's first ones, connections opened) are left out of the figures.
    runner.start(plan["users"], spawn_rate=plan["users"])
    gevent.sleep(plan["warmup"])
    began = time.perf_counter()
    gevent.sleep(plan["seconds"])
    ended = time.perf_counter()
    runner.stop()
    measured = [record for record in records if began <= record["began"] and record["ended"] <= ended]
    out_path.write_text(json.dumps({"seconds": ended - began, "records": measured}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
