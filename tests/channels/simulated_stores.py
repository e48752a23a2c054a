"""An AliExpress store that talks to a simulator on 127.0.0.1, for the tests that run real syncs."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from channels.models import Store
from channels.services import store_create

# What the AliExpress simulator (demo/simulators) accepts.
ALIEXPRESS_CREDENTIALS = {
    "app_key": "sim-app-key",
    "app_secret": "sim-app-secret",
    "access_token": "sim-access-0",
    "refresh_token": "sim-refresh-0",
}


def aliexpress_store(server_url: str, *, name: str) -> Store:
    """A store on the simulator at ``server_url``, importing orders of the last day."""
    return store_create(
        channel="aliexpress",
        name=name,
        api_base_url=server_url,
        auth_url=server_url + "/rest",
        credentials=dict(ALIEXPRESS_CREDENTIALS),
        import_from=timezone.now() - timedelta(days=1),
    )
