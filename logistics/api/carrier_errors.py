"""What a carrier's refusal or silence is in the API: a refusal is the request's (400, the carrier's words), a
carrier that could not be asked or answered nonsense is the gateway's (502), and the client may try again."""

from __future__ import annotations

from core.api.schema import error_response

CARRIER_REFUSED = error_response(
    "Invalid input, or the carrier refused the request (`code` carrier_refused, with the carrier's words)."
)
CARRIER_UNAVAILABLE = error_response(
    "The carrier could not be asked, or its answer made no sense (`code` carrier_unavailable): try again later."
)
