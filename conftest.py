"""Test-wide environment: set before Django's settings are read."""

import os

os.environ.setdefault("SEABRIDGE_TESTING", "1")
# A fast password hasher for the suite and every server it starts (config/settings.py says why). Without xdist,
# pytest-django reads the settings before this file, so `make pytest` sets both in the environment as well.
os.environ.setdefault("SEABRIDGE_FAST_PASSWORDS", "1")
