"""Preloaded by the concurrency tests' fork server: Django is set up once there, so forked workers start warm."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SEABRIDGE_TESTING", "1")
django.setup()

from django.db import connections  # noqa: E402 - only importable once Django is set up

# Nothing may be connected here: every forked worker would share the socket.
connections.close_all()
