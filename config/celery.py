"""The Celery application: broker from CELERY_BROKER_URL, else kombu's filesystem transport in .data/.

Every task's base is ``core.outbox.OutboxTask``: a task sent through the outbox (``core.outbox.task_enqueue``) runs
under its row's lease and finishes the row; other tasks run as they are. What each task is set to (late acks, time
limits, retries) and why is in docs/queue.md.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("seabridge", task_cls="core.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
