"""Celery beat's scheduler: django-celery-beat's ``DatabaseScheduler``, made to outlast the database being away.

``DatabaseScheduler`` reads the schedule (the admin's Periodic tasks) from PostgreSQL when beat starts, and again in
full every five minutes. With the database unreachable at either moment it raises, and beat exits; under
``manage.py serve`` that stops the web server and the worker with it. This scheduler:

- at start, waits for the database: it tries again after 1 s, 2 s, 4 s ... (at most 30 s between tries), saying so
  in its log, and starts once the schedule is read;
- later, keeps the schedule it has when a read fails, and reads it again at its next tick (at most 5 s later) until
  one succeeds, saying once that the database went away and once that it is back.

Due tasks go to the broker, not to the database, so beat goes on sending them while the database is away (the
ones sent meanwhile are counted in the database at the next save of the schedule, as always). What it cannot do
without the database is notice a schedule changed in the admin; it does at the first read that succeeds.
"""

from __future__ import annotations

import datetime
import logging
import time

from django.db import close_old_connections
from django.db.utils import DatabaseError, InterfaceError
from django_celery_beat.schedulers import SCHEDULE_SYNC_MAX_INTERVAL, DatabaseScheduler

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (DatabaseError, InterfaceError)
FIRST_PAUSE_SECONDS = 1.0
LONGEST_PAUSE_SECONDS = 30.0


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class Scheduler(DatabaseScheduler):
    _database_away = False

    def setup_schedule(self) -> None:
        pause = FIRST_PAUSE_SECONDS
        while True:
            try:
                super().setup_schedule()
            except DATABASE_ERRORS as error:
                logger.warning(
                    "beat: the database cannot be reached (%s); beat starts once it can, trying again in %g s.",
                    _first_line(error),
                    pause,
                )
                close_old_connections()
                # The first read is still to be made: DatabaseScheduler notes it made before it tried.
                self._initial_read, self._schedule = True, None
                time.sleep(pause)  # beat has nothing else to do until it has a schedule
                pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
                continue
            logger.info("beat: the schedule is read from the database.")
            return

    @property
    def schedule(self) -> dict:
        try:
            found = super().schedule
        except DATABASE_ERRORS as error:
            if self._schedule is None:  # the first read, at start: setup_schedule waits and tries again
                raise
            if not self._database_away:
                logger.warning(
                    "beat: the database cannot be reached (%s); beat goes on with the schedule it has and reads it "
                    "again at each tick until it can.",
                    _first_line(error),
                )
                self._database_away = True
            close_old_connections()
            # Read it in full at the next tick, not in five minutes.
            self._last_full_sync = datetime.datetime.now() - datetime.timedelta(seconds=SCHEDULE_SYNC_MAX_INTERVAL)
            return self._schedule
        if self._database_away:
            logger.info("beat: the database is back; the schedule is read again.")
            self._database_away = False
        return found
