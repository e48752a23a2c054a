"""The schema's OpenAPI links (core.api.schema.operation_links) name real operations, parameters and fields.

Schemathesis's stateful phase (`make api-check`) and generated clients follow these links; a link whose target,
parameter or source field drifted away from the views would silently stop a chain, so each is checked here
against the schema itself.
"""

from __future__ import annotations

import pytest

from core.api.schema import CHAINS
from tests.api.openapi import operations

pytestmark = pytest.mark.django_db


def links(schema):
    for _path, _method, operation in operations(schema):
        for status, response in operation["responses"].items():
            for name, link in response.get("links", {}).items():
                yield operation, status, response, name, link


def resolve(schema, node):
    """``node`` with its ``$ref`` and ``allOf`` followed, as one schema object."""
    while "$ref" in node or "allOf" in node:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        else:
            merged = {}
            for part in node["allOf"]:
                merged.update(resolve(schema, part))
            node = merged
    return node


def pointer_resolves(schema, node, pointer):
    """Whether the JSON pointer ``pointer`` (``/results/0/id``) names a field that ``node`` describes."""
    for part in pointer.strip("/").split("/"):
        node = resolve(schema, node)
        if part.isdigit():
            if node.get("type") != "array":
                return False
            node = node["items"]
        else:
            if part not in node.get("properties", {}):
                return False
            node = node["properties"][part]
    return True


def expressions(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)


def test_every_link_names_an_operation_its_parameters_and_fields(schema):
    by_id = {operation["operationId"]: (path, operation) for path, _, operation in operations(schema)}
    problems = []
    checked = 0
    for source, status, response, name, link in links(schema):
        checked += 1
        where = f"{source['operationId']} {status} {name}"
        if link["operationId"] not in by_id:
            problems.append(f"{where}: no operation {link['operationId']}")
            continue
        _target_path, target = by_id[link["operationId"]]
        parameters = {(parameter["in"], parameter["name"]) for parameter in target.get("parameters", [])}
        for key in link.get("parameters", {}):
            location, _, parameter = key.partition(".")
            if (location, parameter) not in parameters:
                problems.append(f"{where}: {link['operationId']} has no {location} parameter {parameter}")
        if "requestBody" in link:
            body = target.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = resolve(schema, body).get("properties", {})
            problems += [
                f"{where}: {link['operationId']} takes no body field {field}"
                for field in link["requestBody"]
                if field not in fields
            ]
        answer = response.get("content", {}).get("application/json", {}).get("schema", {})
        for expression in expressions([link.get("parameters", {}), link.get("requestBody", {})]):
            if expression.startswith("$response.body#"):
                if not pointer_resolves(schema, answer, expression.removeprefix("$response.body#")):
                    problems.append(f"{where}: the {status} answer has no {expression}")
            elif expression.startswith("$request.path."):
                if expression.removeprefix("$request.path.") not in {
                    parameter["name"] for parameter in source.get("parameters", []) if parameter["in"] == "path"
                }:
                    problems.append(f"{where}: the request has no {expression}")
            elif expression.startswith("$request.query."):
                if expression.removeprefix("$request.query.") not in {
                    parameter["name"] for parameter in source.get("parameters", []) if parameter["in"] == "query"
                }:
                    problems.append(f"{where}: the request has no {expression}")
            else:
                problems.append(f"{where}: {expression} is not a runtime expression this schema uses")
    assert problems == []
    assert checked > 300


def test_every_operation_on_an_item_is_reached_by_a_link(schema):
    targets = {link["operationId"] for *_, link in links(schema)}
    unreached = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if "{id}" in path and operation["operationId"] not in targets
    ]
    assert unreached == []


@pytest.mark.parametrize(
    ("source", "status", "target", "parameters", "body"),
    [
        # A store, then its orders.
        ("stores_create", "201", "orders_list", {"query.store": "$response.body#/id"}, None),
        ("stores_list", "200", "orders_list", {"query.store": "$response.body#/results/0/id"}, None),
        # An order allocated, its parcel shipped, the shipment labelled and put on a manifest.
        ("orders_list", "200", "orders_allocate_create", {"path.id": "$response.body#/results/0/id"}, None),
        ("orders_allocate_create", "200", "parcels_list", {"query.search": "$response.body#/channel_order_id"}, None),
        ("parcels_list", "200", "parcels_ship_create", {"path.id": "$response.body#/results/0/id"}, None),
        ("parcels_ship_create", "201", "shipments_label_retrieve", {"path.id": "$response.body#/id"}, None),
        ("parcels_ship_create", "201", "manifests_create", None, {"account": "$response.body#/account"}),
        ("manifests_scan_create", "200", "manifests_remove_create", {"path.id": "$request.path.id"}, None),
        # A wave from a warehouse's allocated parcels, released, its labels made.
        ("warehouses_list", "200", "waves_create", None, {"warehouse": "$response.body#/results/0/id"}),
        ("waves_create", "201", "waves_release_create", {"path.id": "$response.body#/id"}, None),
        ("waves_release_create", "200", "waves_labels_create", {"path.id": "$response.body#/id"}, None),
        # A purchase order submitted, then received.
        ("purchase_orders_create", "201", "purchase_orders_submit_create", {"path.id": "$response.body#/id"}, None),
        ("purchase_orders_submit_create", "200", "receipts_create", None, None),
        # A write on an item links back to reading it.
        ("orders_hold_create", "200", "orders_retrieve", {"path.id": "$request.path.id"}, None),
    ],
)
def test_chains_across_stores_orders_shipments_waves_and_purchasing(schema, source, status, target, parameters, body):
    operation = next(operation for _, _, operation in operations(schema) if operation["operationId"] == source)
    found = [link for link in operation["responses"][status].get("links", {}).values() if link["operationId"] == target]
    assert found, f"{source} {status} has no link to {target}"
    if parameters is not None:
        assert parameters in [link.get("parameters") for link in found]
    if body is not None:
        assert body in [link.get("requestBody") for link in found]


def test_receipt_link_fills_the_purchase_order_and_its_first_line(schema):
    response = schema["paths"]["/api/v1/purchase-orders/{id}/submit/"]["post"]["responses"]["200"]
    assert response["links"]["ReceiptsCreate"] == {
        "operationId": "receipts_create",
        "requestBody": {
            "purchase_order": "$response.body#/id",
            "lines": [{"product": "$response.body#/lines/0/product", "accepted": "$response.body#/lines/0/quantity"}],
        },
    }


def test_every_chain_of_core_api_schema_is_in_the_schema(schema):
    by_id = {operation["operationId"]: operation for _, _, operation in operations(schema)}
    missing = []
    for chain in CHAINS:
        response = by_id.get(chain.source, {}).get("responses", {}).get(chain.status, {})
        wanted = {"operationId": chain.target}
        if chain.parameters:
            wanted["parameters"] = chain.parameters
        if chain.body is not None:
            wanted["requestBody"] = chain.body
        if wanted not in response.get("links", {}).values():
            missing.append(f"{chain.source} {chain.status} -> {chain.target}")
    assert missing == []
