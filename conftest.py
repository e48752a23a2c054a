"""Test-wide environment: set before Django's settings are read."""

import os

os.environ.setdefault("SEABRIDGE_TESTING", "1")
