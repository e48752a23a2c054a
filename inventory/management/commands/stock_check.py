"""Check stock levels and balances against the ledger; with --rebuild, set them to what the ledger says."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from inventory.ledger import stock_balances_rebuild, stock_drift_check
from inventory.models import Warehouse, normalize_code


class Command(BaseCommand):
    help = (
        "Compare every stock level and balance with the stock ledger and the reservations. Prints 'no drift' "
        "or every drift, and exits with status 1 on drift. With --rebuild, corrects the tables from the ledger "
        "under a lock on the stock tables (stock writes wait meanwhile), prints what it changed, and exits with "
        "status 0 when no drift is left."
    )

    def add_arguments(self, parser):
        parser.add_argument("--warehouse", metavar="CODE", help="Only this warehouse (its code).")
        parser.add_argument(
            "--rebuild", action="store_true", help="Correct levels and balances from the ledger and reservations."
        )

    def handle(self, *args, **options):
        warehouse_ids = None
        if options["warehouse"]:
            code = normalize_code(options["warehouse"])
            warehouse = Warehouse.objects.filter(code=code).first()
            if warehouse is None:
                raise CommandError(f"No warehouse has code {code}.")
            warehouse_ids = [warehouse.pk]

        if options["rebuild"]:
            try:
                rebuild = stock_balances_rebuild(dry_run=False, warehouse_ids=warehouse_ids)
            except DomainError as error:
                raise CommandError(error.message) from error
            for drift in [*rebuild.levels_changed, *rebuild.balances_changed]:
                self.stdout.write(f"fixed {drift.describe()}")
            self.stdout.write(f"{rebuild.changed} rows corrected from the ledger.")

        report = stock_drift_check(warehouse_ids=warehouse_ids)
        if report.ok:
            self.stdout.write("no drift")
            return
        for line in report.lines():
            self.stdout.write(line)
        raise CommandError(
            f"Stock drift: {len(report.level_drifts)} levels and {len(report.balance_drifts)} balances "
            f"disagree with the ledger, {len(report.reservation_drifts)} reservations with their history.",
            returncode=1,
        )
