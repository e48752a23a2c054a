"""The OpenAPI schema as partners read it: every error answer documented, in the API's one error shape.

drf-spectacular documents what a view declares; this AutoSchema adds, to every operation, the error answers
the API can give it, whatever the view forgot: 400 for input, 401 and 403 for who may ask, 404 on a path with
an id or a page past the end, 405 and 406 from content negotiation, 409 on every write (a rule of the business
or a concurrent change can refuse it), 413 and 415 for bodies, 429 when throttled; all in the shape of
:class:`ErrorSerializer`, so a client generated from the schema can read every failure. (414, an address too
long, comes from the web server in front, in its own format.) Serializer docstrings are notes for developers,
so they are not published as descriptions; a serializer that has words for partners says so in
``Meta.schema_description``. The schema is English whatever language the request asks for: the model help texts,
labels and choices it shows are translated for the people of the admin, but the schema is for developers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import translation
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import normalize_result_object
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The input field, e.g. lines[0].quantity.")
    row = serializers.IntegerField(required=False, help_text="The row of a file (the header is row 1).")


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="What was asked, what is there, and where.")
    code = serializers.CharField(help_text="What went wrong, for programs: validation_failed, not_found, ...")
    errors = ErrorItemSerializer(many=True)
    context = serializers.DictField(required=False, help_text="The figures behind the message, for programs.")
    retry_after = serializers.IntegerField(required=False, help_text="Seconds to wait before asking again (429).")

    class Meta:
        schema_description = (
            'The one error shape of the API: {"message", "code", "errors": [{"message", "code", "field", "row"}]}.'
        )


def error_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


# The language of the schema (see the module docstring).
SCHEMA_LANGUAGE = "en"

BAD_INPUT = error_response("Invalid input: `errors` names each field (or row) and what is wrong. Nothing saved.")
NOT_AUTHENTICATED = error_response("No valid credentials: send `Authorization: Token <key>`.")
FORBIDDEN = error_response("Your account may not do this (its roles lack the permission).")
NOT_FOUND = error_response("Nothing has that id (or you may not see it), or the page asked for is past the end.")
NOT_ALLOWED = error_response("This method is not allowed here.")
NOT_ACCEPTABLE = error_response("The Accept header asks for a format this endpoint does not give.")
CONFLICT = error_response(
    "A rule of the business refused it (not enough stock, a document in the wrong status, ...): the message says "
    "what was asked, what is there and where. Nothing saved."
)
TOO_LARGE = error_response("The body is larger than this server accepts.")
UNSUPPORTED_MEDIA = error_response("The body is in a format this endpoint does not read (send JSON).")
THROTTLED = error_response("Too many requests: wait `retry_after` seconds.")
# Answered by the web server in front (gunicorn, or a proxy) before the application sees the request, in its own
# format: no body is promised.
URI_TOO_LONG = OpenApiResponse(description="The address is longer than the web server accepts; shorten the query.")
IDEMPOTENCY_KEY_REUSED = error_response(
    "This Idempotency-Key was used for another request (another method, path or body): send a new key."
)
UNAVAILABLE = error_response(
    "The database or the task queue cannot be reached (code database_unavailable or broker_unavailable): nothing "
    "was done; try again after the `Retry-After` header's seconds."
)
# Every write takes one (core/idempotency.py): a retry with the same key and body gets the first answer back.
IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the write safe to retry: a retry with the same key, method, path and body within 24 hours gets the "
        "first answer again (with `Idempotent-Replayed: true`) and nothing runs twice. 1 to 255 printable ASCII "
        "characters; a UUID is a good choice. The same key with another request: 422 idempotency_key_reused; "
        "while the first still runs: 409 idempotency_key_in_progress."
    ),
)


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every operation can give (see the module docstring)."""

    def get_operation(self, *args, **kwargs):
        # Translated texts (help texts, labels, choices) are rendered now, in English; components are rendered as
        # they are mapped (_map_serializer), while the language is still English.
        with translation.override(SCHEMA_LANGUAGE):
            return normalize_result_object(super().get_operation(*args, **kwargs))

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        return normalize_result_object(super()._map_serializer(serializer, direction, bypass_extensions))

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method != "GET":
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _has_path_id(self) -> bool:
        return "{" in self.path

    def _error_responses(self) -> dict[int, OpenApiResponse]:
        errors = {400: BAD_INPUT, 401: NOT_AUTHENTICATED, 403: FORBIDDEN, 405: NOT_ALLOWED, 406: NOT_ACCEPTABLE}
        errors[414] = URI_TOO_LONG
        errors[429] = THROTTLED
        # A path with an id names something that may not exist; a list's page or cursor may be past its end.
        if self._has_path_id() or (self.method == "GET" and self._get_paginator() is not None):
            errors[404] = NOT_FOUND
        if self.method in ("POST", "PUT", "PATCH"):
            errors[413] = TOO_LARGE
            errors[415] = UNSUPPORTED_MEDIA
        # Every write meets the rules of the business and other writers: a protected row, a document in the wrong
        # status, not enough stock, a concurrent change.
        if self.method != "GET":
            errors[409] = CONFLICT
            errors[422] = IDEMPOTENCY_KEY_REUSED
        errors[503] = UNAVAILABLE
        return errors

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, response in self._error_responses().items():
            key = str(status_code)
            if key not in responses:
                responses[key] = self._get_response_for_code(response, key, direction=direction)
        return responses

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        schema.pop("description", None)
        public = getattr(getattr(serializer, "Meta", None), "schema_description", None)
        if public:
            schema["description"] = public
        return schema


# OpenAPI links say which answer feeds which request: the id of a created transfer into its ship and receive, a
# store's id into the list of its orders. A client, the interactive docs and Schemathesis's stateful phase follow
# them, so `make api-check` walks chains of operations (a store and its orders; an order allocated, its parcel
# shipped, labelled and put on a manifest; a wave; a purchase order submitted and received) with real ids instead
# of guessing. Three rules make most links; CHAINS adds those across resources, which no rule can guess.
FIRST_RESULT = "$response.body#/results/0"


@dataclass(frozen=True)
class Chain:
    """A link from a ``status`` answer of ``source`` to ``target`` (operationIds). ``parameters`` map a target
    parameter (``path.id``, ``query.store``) to a runtime expression; ``body`` is merged into the request body."""

    source: str
    status: str
    target: str
    parameters: dict[str, str] = field(default_factory=dict)
    body: dict | None = None


BY_ID = {"path.id": "$response.body#/id"}
SAME_ID = {"path.id": "$request.path.id"}

CHAINS: tuple[Chain, ...] = (
    # A store, then its orders, its sync runs and its SKU mappings.
    Chain("stores_create", "201", "orders_list", {"query.store": "$response.body#/id"}),
    Chain("stores_create", "201", "sync_runs_list", {"query.store": "$response.body#/id"}),
    Chain("stores_create", "201", "sku_mappings_create", body={"store": "$response.body#/id"}),
    Chain("stores_list", "200", "orders_list", {"query.store": f"{FIRST_RESULT}/id"}),
    Chain("stores_list", "200", "sku_mappings_list", {"query.store": f"{FIRST_RESULT}/id"}),
    Chain("stores_sync_create", "202", "sync_runs_retrieve", BY_ID),
    Chain("stores_sync_create", "202", "orders_list", {"query.store": "$response.body#/store"}),
    # An order: allocated to a warehouse (its parcels reserve the stock), held and released, split and merged back,
    # put in a wave, its parcels shipped.
    Chain("orders_list", "200", "orders_allocate_all", body={"orders": [f"{FIRST_RESULT}/id"]}),
    Chain(
        "orders_list",
        "200",
        "orders_merge_create",
        body={"orders": [f"{FIRST_RESULT}/id", "$response.body#/results/1/id"]},
    ),
    Chain("orders_allocate_all", "200", "parcels_list"),
    Chain("orders_allocate_all", "200", "waves_candidates_retrieve"),
    *(
        Chain("orders_allocate_create", "200", target, BY_ID)
        for target in (
            "orders_split_create",
            "orders_undo_parcels_create",
            "orders_hold_create",
            "orders_cancel_create",
            "orders_release_create",
            "orders_events_list",
        )
    ),
    Chain("orders_allocate_create", "200", "parcels_list", {"query.search": "$response.body#/channel_order_id"}),
    Chain(
        "orders_allocate_create",
        "200",
        "waves_create",
        body={"warehouse": "$response.body#/warehouse", "store_ids": ["$response.body#/store"]},
    ),
    Chain("orders_retrieve", "200", "shipments_retrieve", {"path.id": "$response.body#/shipments/0/id"}),
    Chain("orders_hold_create", "200", "orders_release_hold_create", BY_ID),
    Chain("orders_hold_create", "200", "orders_cancel_create", BY_ID),
    Chain("orders_release_hold_create", "200", "orders_allocate_create", BY_ID),
    Chain("orders_set_by_hand_create", "200", "orders_allocate_create", BY_ID),
    Chain("orders_undo_parcels_create", "200", "orders_allocate_create", BY_ID),
    Chain("orders_split_create", "201", "orders_undo_parcels_create", SAME_ID),
    Chain("orders_split_create", "201", "parcels_list", {"query.search": "$response.body#/0/number"}),
    # A parcel shipped: its shipment labelled, printed, cancelled, put on a manifest.
    Chain("parcels_retrieve", "200", "parcels_ship_create", BY_ID),
    Chain("parcels_retrieve", "200", "shipments_retrieve", {"path.id": "$response.body#/shipments/0/id"}),
    *(
        Chain("parcels_ship_create", status, target, BY_ID)
        for status in ("200", "201")
        for target in (
            "shipments_retrieve",
            "shipments_label_retrieve",
            "shipments_cancel_create",
            "shipments_refresh_label_create",
        )
    ),
    *(
        Chain("parcels_ship_create", status, target, body=body)
        for status in ("200", "201")
        for target, body in (
            ("shipments_labels_create", {"shipments": ["$response.body#/id"]}),
            ("manifests_create", {"account": "$response.body#/account"}),
        )
    ),
    Chain("shipments_list", "200", "shipments_labels_create", body={"shipments": [f"{FIRST_RESULT}/id"]}),
    Chain("shipments_list", "200", "manifests_create", body={"account": f"{FIRST_RESULT}/account"}),
    Chain("shipments_refresh_label_create", "200", "shipments_label_retrieve", BY_ID),
    # A manifest: shipments scanned onto it and taken off, then closed (handed over) and its documents printed.
    *(
        Chain("manifests_create", "200", target, BY_ID)
        for target in ("manifests_retrieve", "manifests_scan_create", "manifests_close_create")
    ),
    Chain("manifests_retrieve", "200", "manifests_scan_create", BY_ID, {"code": "$response.body#/shipments/0/number"}),
    Chain(
        "manifests_retrieve", "200", "manifests_remove_create", BY_ID, {"shipment": "$response.body#/shipments/0/id"}
    ),
    Chain("manifests_scan_create", "200", "manifests_remove_create", SAME_ID, {"shipment": "$response.body#/id"}),
    Chain("manifests_scan_create", "200", "manifests_close_create", SAME_ID),
    Chain("manifests_close_create", "200", "manifests_carrier_document_retrieve", BY_ID),
    Chain("manifests_close_create", "200", "manifests_pdf_retrieve", BY_ID),
    # A wave from a warehouse's allocated parcels: released to a picker, its labels, its pick list and pick tasks.
    Chain("warehouses_list", "200", "waves_candidates_retrieve", {"query.warehouse": f"{FIRST_RESULT}/code"}),
    Chain("warehouses_list", "200", "waves_create", body={"warehouse": f"{FIRST_RESULT}/id"}),
    Chain("waves_candidates_retrieve", "200", "waves_create", body={"warehouse": "$request.query.warehouse"}),
    Chain("waves_assign_create", "200", "waves_release_create", BY_ID),
    *(
        Chain("waves_release_create", "200", target, BY_ID)
        for target in ("waves_labels_create", "waves_pick_list_retrieve")
    ),
    # A purchase order submitted, then received (in part) against its lines, with its landed costs.
    *(
        Chain(
            source,
            status,
            "receipts_create",
            body={
                "purchase_order": "$response.body#/id",
                "lines": [
                    {"product": "$response.body#/lines/0/product", "accepted": "$response.body#/lines/0/quantity"}
                ],
            },
        )
        for source, status in (("purchase_orders_create", "201"), ("purchase_orders_submit_create", "200"))
    ),
    Chain("purchase_orders_list", "200", "receipts_create", body={"purchase_order": f"{FIRST_RESULT}/id"}),
    Chain("purchase_orders_list", "200", "receipts_list", {"query.purchase_order": f"{FIRST_RESULT}/id"}),
)


def _operations(paths: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in paths.items():
        for method in ("get", "put", "patch", "delete", "post"):
            operation = item.get(method)
            if operation is not None and "operationId" in operation:
                yield path, method, operation


def _link_add(response: dict, target: str, parameters: dict, body: dict | None = None) -> None:
    links = response.setdefault("links", {})
    base = "".join(part.capitalize() for part in target.split("_"))
    name, suffix = base, 2
    while name in links:
        name, suffix = f"{base}{suffix}", suffix + 1
    link: dict = {"operationId": target}
    if parameters:
        link["parameters"] = dict(parameters)
    if body is not None:
        link["requestBody"] = body
    links[name] = link


def _lists_items_with_id(response: dict, schemas: dict) -> bool:
    """Whether ``response`` is a page of rows that have an ``id`` (``{"count", "results": [{"id", ...}]}``)."""
    reference = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
    page = schemas.get(reference.rsplit("/", 1)[-1], {})
    item = page.get("properties", {}).get("results", {}).get("items", {}).get("$ref", "")
    return "id" in schemas.get(item.rsplit("/", 1)[-1], {}).get("properties", {})


def operation_links(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: the schema's OpenAPI links.

    - **created**: the 201 of ``POST /x/`` links to every operation on ``/x/{id}/...`` (the new id);
    - **listed**: the 200 of ``GET /x/`` links to them too, with the first row's id;
    - **read back**: a successful write on ``/x/{id}/...`` links to ``GET /x/{id}/`` (what it changed);
    - **CHAINS**: across resources (a store's orders, a parcel's shipment on a manifest, a purchase order's
      receipt), each written out above.
    """
    paths = result.get("paths", {})
    schemas = result.get("components", {}).get("schemas", {})
    operations = list(_operations(paths))
    details = {path: operation["operationId"] for path, method, operation in operations if method == "get"}
    for path, method, operation in operations:
        responses = operation.get("responses", {})
        if "{id}" in path:
            detail = details.get(path[: path.index("{id}")] + "{id}/")
            if method != "get" and detail is not None:
                for status, response in responses.items():
                    if status.startswith("2"):
                        _link_add(response, detail, SAME_ID)
            continue
        if method == "post":
            source, expression = responses.get("201"), "$response.body#/id"
        elif method == "get" and _lists_items_with_id(responses.get("200", {}), schemas):
            source, expression = responses.get("200"), f"{FIRST_RESULT}/id"
        else:
            continue
        if source is None:
            continue
        for other_path, _other_method, other in operations:
            if other_path.startswith(f"{path}{{id}}/"):
                _link_add(source, other["operationId"], {"path.id": expression})
    by_id = {operation["operationId"]: operation for _path, _method, operation in operations}
    # A chain whose operation or answer went away is left out rather than breaking the schema for everyone;
    # tests/api/test_schema_links.py fails on it.
    for chain in CHAINS:
        response = by_id.get(chain.source, {}).get("responses", {}).get(chain.status)
        if response is not None and chain.target in by_id:
            _link_add(response, chain.target, chain.parameters, chain.body)
    return result
