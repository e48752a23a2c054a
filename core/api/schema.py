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

from django.utils import translation
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import normalize_result_object
from drf_spectacular.utils import OpenApiResponse
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


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema plus the error answers every operation can give (see the module docstring)."""

    def get_operation(self, *args, **kwargs):
        # Translated texts (help texts, labels, choices) are rendered now, in English; components are rendered as
        # they are mapped (_map_serializer), while the language is still English.
        with translation.override(SCHEMA_LANGUAGE):
            return normalize_result_object(super().get_operation(*args, **kwargs))

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        return normalize_result_object(super()._map_serializer(serializer, direction, bypass_extensions))

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


def links_from_created(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: every 201 of ``POST /x/`` links to the operations on ``/x/{id}/...``.

    OpenAPI links say which answer feeds which request (the id of a created transfer into its ship and receive),
    so a client, the interactive docs and Schemathesis's stateful phase can follow a document through its steps.
    """
    paths = result.get("paths", {})
    for path, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or "{" in path:
            continue
        links = {}
        for other_path, other_item in paths.items():
            if not other_path.startswith(f"{path}{{id}}/"):
                continue
            for method in ("get", "put", "patch", "delete", "post"):
                operation = other_item.get(method)
                if operation is None or "operationId" not in operation:
                    continue
                name = "".join(part.capitalize() for part in operation["operationId"].split("_"))
                links[name] = {"operationId": operation["operationId"], "parameters": {"id": "$response.body#/id"}}
        if links:
            created["links"] = links
    return result
