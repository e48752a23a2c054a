"""The OpenAPI security scheme of :class:`access.authentication.ApiTokenAuthentication`: an API key header."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "access.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API token: `Token <key>` (or `Bearer <key>`). Keys look like `sb_<prefix>_<secret>`.",
        }
