"""Fixtures of the core tests that start real Celery workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery, _state
from kombu import Exchange, Queue

from tests.core.celery_workers import Broker
from tests.core.test_celery_worker import broker_settings


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    url, options = broker_settings(tmp_path)
    previous = _state.get_current_app()
    made = Broker(url, options, [])
    try:
        yield made
    finally:
        previous.set_current()
        sender = Celery("crash-test-cleanup", broker=url, set_as_current=False)
        sender.conf.broker_transport_options = options
        with sender.connection_for_write() as connection_:
            for name in made.queues:
                queue = Queue(name, Exchange(name), routing_key=name).bind(connection_.default_channel)
                queue.declare()
                queue.delete()
