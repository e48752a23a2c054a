"""Re-encrypt every stored credential with the newest of CREDENTIALS_KEYS, or (--check) count those not on it yet."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.crypto import credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (fields named *_encrypted) with the newest key of CREDENTIALS_KEYS, in "
        "batches, one transaction per batch. --check only counts the values not on the newest key yet, and exits "
        "with status 1 when there are any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Count only; change nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, check: bool, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        counts = credentials_rotate(check_only=check, batch_size=batch_size)
        for count in counts:
            values = {"column": count.column, "rows": count.rows, "stale": count.stale, "rotated": count.rotated}
            if check:
                line = _("%(column)s: %(rows)s values, %(stale)s not on the newest key") % values
            else:
                line = _("%(column)s: %(rows)s values, %(rotated)s re-encrypted with the newest key") % values
            if count.unreadable:
                line += _(", %(count)s readable with none of CREDENTIALS_KEYS") % {"count": count.unreadable}
            self.stdout.write(line)
        stale = sum(count.stale for count in counts)
        unreadable = sum(count.unreadable for count in counts)
        if check:
            self.stdout.write(_("%(count)s values not on the newest key.") % {"count": stale})
        else:
            rotated = sum(count.rotated for count in counts)
            self.stdout.write(_("%(count)s values re-encrypted.") % {"count": rotated})
        if unreadable:
            raise CommandError(
                _(
                    "%(count)s values are readable with none of CREDENTIALS_KEYS; put the key they were written with "
                    "back into CREDENTIALS_KEYS and run again."
                )
                % {"count": unreadable}
            )
        if check and stale:
            raise CommandError(
                _("%(count)s values are not on the newest key yet; run manage.py credentials_rotate.")
                % {"count": stale}
            )
