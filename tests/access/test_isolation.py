"""Two partners, and every route and method of the OpenAPI schema: neither partner's token reaches the other's rows.

The routes come from the schema (drf-spectacular's generator, in process), so a route added later is walked too. For
each route, ALPHA's token is used with BRAVO's ids in the path, in the query and in the body; the test proves:

- a route whose view declares no data scope refuses a limited token (403 ``out_of_scope``), deny by default;
- no detail (nor an action on one) of BRAVO's rows answers 2xx, while the same request with ALPHA's own id does;
- no list holds any of the ids BRAVO's token lists on the same route, nor any of BRAVO's names, numbers or codes;
- no write succeeds on BRAVO's rows or into BRAVO's store and warehouses: every answer BRAVO's token reads is the
  same after ALPHA's writes as before;
- nothing answers 5xx.

A route whose path parameter the test cannot fill (a new resource with no row of BRAVO's here) fails the test,
naming the route, rather than being skipped.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core.api.scoping import GLOBAL, DataScopedViewMixin, undeclared
from tests.access.partners import Partner, two_partners

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
PREFIX = "/api/v1/"


def client_for(partner: Partner) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {partner.key}")
    return client


def operations() -> list[tuple[str, str, dict, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                found.append((path, method, item[method], schema["components"]))
    return found


def resource(path: str) -> str:
    return path[len(PREFIX) :].split("/", 1)[0]


def view_class(path: str) -> type:
    return resolve(path.replace("{id}", "1")).func.cls


def is_global(cls: type) -> bool:
    return getattr(cls, "data_scope", None) == GLOBAL


# --- bodies naming the other partner's rows -------------------------------------------------------------------------


def _resolved(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolved(schema["allOf"][0], components)
    return schema


def body_naming(other: Partner, shared: dict, schema: dict, components: dict, depth: int = 0) -> Any:
    """A value for ``schema`` in which every reference to a store, warehouse, bin, order, shipment, purchase order
    or suggestion is one of ``other``'s; products are the shared ones; other fields get plain valid-looking values."""
    schema = _resolved(schema, components)
    if schema.get("type") == "array":
        item = body_naming(other, shared, schema.get("items", {}), components, depth + 1)
        return [item]
    if schema.get("type") == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {
            name: value_for(name, other, shared, prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if not _resolved(prop, components).get("readOnly")
        }
    return plain(schema)


def value_for(name: str, other: Partner, shared: dict, schema: dict, components: dict, depth: int) -> Any:
    ids = other.objects
    resolved = _resolved(schema, components)
    many = resolved.get("type") == "array"
    by_name = {
        "store": ids["stores"],
        "stores": ids["stores"],
        "store_ids": ids["stores"],
        "warehouse": ids["warehouses"],
        "warehouses": ids["warehouses"],
        "source": other.warehouses[1].pk,
        "destination": ids["warehouses"],
        "replenish_from": other.warehouses[1].pk,
        "bin": ids["bins"],
        "from_bin": ids["bins"],
        "to_bin": ids["bins"],
        "order": ids["orders"],
        "orders": ids["orders"],
        "shipment": ids["shipments"],
        "shipments": ids["shipments"],
        "purchase_order": ids["purchase-orders"],
        "suggestions": ids["suggestions"],
        "product": shared["a"].pk,
        "products": shared["a"].pk,
        "supplier": shared["supplier"].pk,
        "account": shared["post"].pk,
        "code": next(marker for marker in sorted(other.markers) if marker.startswith("SHP"))
        if any(m.startswith("SHP") for m in other.markers)
        else "X",
        "quantity": 1,
        "accepted": 1,
        "delta": 1,
        "reference": f"{other.tag}-REF",
    }
    is_reference = resolved.get("type") in (None, "integer", "string", "array") and "properties" not in resolved
    if name in by_name and is_reference:
        value = by_name[name]
        return [value] if many else value
    return body_naming(other, shared, schema, components, depth)


def plain(schema: dict) -> Any:
    if schema.get("enum"):
        return next(value for value in schema["enum"] if value is not None)
    kind = schema.get("type")
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-12-01"
    if schema.get("format") == "date-time":
        return "2026-12-01T00:00:00Z"
    if "oneOf" in schema:
        return plain(schema["oneOf"][0])
    return "x"


def request_body(operation: dict, other: Partner, shared: dict, components: dict) -> tuple[Any, str | None]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return body_naming(other, shared, content["application/json"]["schema"], components), "json"
    if "multipart/form-data" in content:
        form = body_naming(other, shared, content["multipart/form-data"]["schema"], components)
        bin_code = f"{other.tag}-01-01-01"
        csv_file = ("upload.csv", f"sku,bin,quantity,warehouse\nCASE-A,{bin_code},1,{other.warehouses[0].code}\n")
        from django.core.files.uploadedfile import SimpleUploadedFile

        form["file"] = SimpleUploadedFile(csv_file[0], csv_file[1].encode(), content_type="text/csv")
        return form, "multipart"
    return None, None


def query_naming(operation: dict, other: Partner) -> dict[str, Any]:
    """Query parameters that name the other's store or warehouse (filters), for the lists."""
    names = {"store": other.store.pk, "warehouse": other.warehouses[0].pk, "source": other.warehouses[1].pk}
    names |= {"destination": other.warehouses[0].pk}
    return {
        parameter["name"]: names[parameter["name"]]
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query" and parameter["name"] in names
    }


# --- reading answers --------------------------------------------------------------------------------------------------


def body_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def json_code(response) -> str | None:
    try:
        return response.json().get("code")
    except (ValueError, TypeError, AttributeError):
        return None


def listed_rows(response) -> list:
    try:
        data = response.json()
    except (ValueError, TypeError):
        return []
    if isinstance(data, dict):  # a page ("results"), or an answer holding one list ("parcels" of candidates)
        lists = [value for value in data.values() if isinstance(value, list)]
        data = data.get("results", lists[0] if len(lists) == 1 else [])
    return data if isinstance(data, list) else []


def listed_ids(response) -> set[int]:
    return {row["id"] for row in listed_rows(response) if isinstance(row, dict) and isinstance(row.get("id"), int)}


def leaked_markers(text: str, other: Partner) -> list[str]:
    return sorted(marker for marker in other.markers if re.search(rf"(?<![A-Z0-9]){re.escape(marker)}", text))


def snapshot(client: APIClient, list_paths: list[str], partner: Partner) -> dict[str, str]:
    """What the partner's token reads: every list, and the detail of one row of each resource."""
    seen = {}
    for path in list_paths:
        seen[path] = body_text(client.get(path))
    for name, pk in partner.objects.items():
        seen[f"{PREFIX}{name}/{pk}/"] = body_text(client.get(f"{PREFIX}{name}/{pk}/"))
    return seen


def test_neither_partner_reaches_the_others_objects_on_any_route(make_user):
    admin = make_user(superuser=True)
    shared, alpha, bravo = two_partners(admin)
    as_alpha, as_bravo = client_for(alpha), client_for(bravo)
    problems: list[str] = []
    walked = 0

    found = operations()
    list_paths = sorted(
        {
            path
            for path, method, _operation, _components in found
            if method == "get"
            and "{" not in path
            and not undeclared(view_class(path)())
            and path.endswith("/")
            and not path.endswith("/export/")
        }
    )
    bravo_before = snapshot(as_bravo, list_paths, bravo)

    reads = [operation for operation in found if operation[1] == "get"]
    writes = [operation for operation in found if operation[1] != "get"]
    for path, method, operation, components in reads + writes:
        walked += 1
        where = f"{method.upper()} {path}"
        cls = view_class(path)
        if undeclared(cls()):
            # Deny by default: a view with no data scope refuses limited tokens, whatever is asked.
            response = getattr(as_alpha, method)(path.replace("{id}", "1"), {}, format="json")
            if (response.status_code, json_code(response)) != (403, "out_of_scope"):
                problems.append(f"{where}: declares no data scope but answered {response.status_code}")
            continue
        if not issubclass(cls, DataScopedViewMixin):
            problems.append(f"{where}: {cls.__name__} is not a DataScopedViewMixin")
            continue
        if is_global(cls):
            if method == "get":  # the catalogue: readable, and it names nobody's rows
                target = path.replace("{id}", str(_any_id(as_alpha, path)))
                response = as_alpha.get(target)
                if response.status_code >= 500 or leaked_markers(body_text(response), bravo):
                    problems.append(f"{where}: {response.status_code} {leaked_markers(body_text(response), bravo)}")
            continue
        name = resource(path)
        if "{id}" in path:
            if name not in bravo.objects:
                problems.append(f"{where}: no row of the other partner to put in {{id}} (add one to the test data)")
                continue
            theirs = path.replace("{id}", str(bravo.objects[name]))
            ours = path.replace("{id}", str(alpha.objects[name]))
        else:
            theirs = ours = path
        if method == "get":
            query = query_naming(operation, bravo)
            response = as_alpha.get(theirs, query)
            text = body_text(response)
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            if "{id}" in path:
                if response.status_code < 300:
                    problems.append(f"{where}: {response.status_code} for the other partner's row")
                control = as_alpha.get(ours)
                if control.status_code >= 300 and json_code(control) == "not_found":
                    problems.append(f"{where}: {control.status_code} for the partner's own row (no proof)")
            else:
                their_list = as_bravo.get(path, query)  # the same question, asked by BRAVO about its own rows
                if not listed_rows(their_list):
                    their_list = as_bravo.get(path)  # a filter may not match BRAVO's example rows: all of them
                their_ids = listed_ids(their_list) | listed_ids(as_bravo.get(path))
                if path in list_paths and not listed_rows(their_list):
                    problems.append(
                        f"{where}: the other partner lists nothing here (no proof; add test data): "
                        f"{their_list.status_code} {body_text(their_list)[:300]}"
                    )
                mine = listed_ids(as_alpha.get(path)) | listed_ids(response)
                if mine & their_ids:
                    problems.append(f"{where}: lists the other partner's ids {sorted(mine & their_ids)}")
            leaks = leaked_markers(text, bravo)
            if leaks:
                problems.append(f"{where}: shows the other partner's {leaks}")
            continue
        body, kind = request_body(operation, bravo, shared, components)
        send = getattr(as_alpha, method)
        if kind == "multipart":
            response = send(theirs, body, format="multipart")
        else:
            response = send(theirs, body if body is not None else {}, format="json")
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code} {body_text(response)[:200]}")
        elif response.status_code < 300 and "{id}" in path:
            problems.append(f"{where}: {response.status_code} on the other partner's row")
        # A refusal may quote what was sent (BRAVO's names); a success must not show any of BRAVO's rows.
        leaks = leaked_markers(body_text(response), bravo) if response.status_code < 300 else []
        if leaks:
            problems.append(f"{where}: answered with the other partner's {leaks}")

    bravo_after = snapshot(as_bravo, list_paths, bravo)
    changed = sorted(path for path in bravo_before if bravo_before[path] != bravo_after[path])
    if changed:
        problems.append(f"the other partner's data changed under ALPHA's writes: {changed}")
    assert walked > 100
    assert not problems, "\n".join(problems)

    # The refusals above are the scope's, not a body the views would refuse anyway: the same writes into ALPHA's own
    # store, warehouses and bins succeed, and into BRAVO's are answered as naming rows that do not exist.
    product = shared["a"].pk
    own_main, own_overseas = (warehouse.pk for warehouse in alpha.warehouses)
    writes = [
        (
            "/api/v1/stock/receive/",
            {"product": product, "quantity": 1},
            "bin",
            alpha.bins["pick"].pk,
            bravo.objects["bins"],
        ),
        (
            "/api/v1/transfers/",
            {"source": own_overseas, "lines": [{"product": product, "quantity": 1}]},
            "destination",
            own_main,
            bravo.objects["warehouses"],
        ),
        ("/api/v1/bins/", {"code": "ALPHA-02-01-01"}, "warehouse", own_main, bravo.objects["warehouses"]),
        (
            "/api/v1/sku-mappings/",
            {"channel_sku": "NEW-1", "product": product},
            "store",
            alpha.store.pk,
            bravo.store.pk,
        ),
    ]
    for path, body, field, ours, theirs in writes:
        refused = as_alpha.post(path, {**body, field: theirs}, format="json")
        assert refused.status_code == 400, (path, refused.json())
        assert [error["field"] for error in refused.json()["errors"]] == [field], (path, refused.json())
        done = as_alpha.post(path, {**body, field: ours}, format="json")
        assert done.status_code == 201, (path, done.json())


def _any_id(client: APIClient, path: str) -> int:
    listed = client.get(path.split("{id}")[0])
    ids = sorted(listed_ids(listed))
    return ids[0] if ids else 1


def test_a_waves_stores_are_only_the_tokens_own(make_user):
    """A wave's criteria name stores by id: a limited token's own are found, another's answer as no such store (the
    wave would take only the token's warehouse's parcels anyway, but the id must not tell that the store exists)."""
    admin = make_user(superuser=True)
    _shared, alpha, bravo = two_partners(admin)
    as_alpha = client_for(alpha)
    asked = {"warehouse": alpha.warehouses[0].pk}

    own = as_alpha.get("/api/v1/waves/candidates/", {**asked, "store_ids": alpha.store.pk})
    assert own.status_code == 200, own.content

    other = as_alpha.get("/api/v1/waves/candidates/", {**asked, "store_ids": bravo.store.pk})
    assert other.status_code == 400, other.content
    assert other.json()["errors"] == [
        {"field": "store_ids[0]", "code": "no_id", "message": f"No store has id {bravo.store.pk}."}
    ]
    made = as_alpha.post("/api/v1/waves/", {**asked, "store_ids": [alpha.store.pk, bravo.store.pk]}, format="json")
    assert made.status_code == 400 and made.json()["errors"][0]["field"] == "store_ids[1]", made.content
