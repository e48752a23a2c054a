"""WSGI entry point for gunicorn.

Each worker loads what every request needs before its first one (the URL patterns with every view and serializer
module, the translations), then freezes what it has loaded out of the garbage collector's reach (``gc.freeze``):
a full collection then walks only what requests made, not the 155,000 objects of Django, DRF and the project,
which took 75 to 93 ms a time, mid-request (bench/README.md, "Pauses").
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def warm_up() -> None:
    """Load what requests would load on first use, then freeze it: called once per worker, before it serves."""
    from django.conf import settings
    from django.urls import get_resolver
    from django.utils import translation

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 -- imports every view module and builds the patterns
    resolver.reverse_dict  # noqa: B018 -- the reverse lookup tables (redirects, links in answers)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Orders")  # loads the catalogue of the language
    gc.collect()
    gc.freeze()


if os.environ.get("SEABRIDGE_GC_FREEZE", "1") != "0":
    warm_up()
