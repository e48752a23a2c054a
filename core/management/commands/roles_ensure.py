"""Create or refresh the staff role groups and their permissions."""

from django.core.management.base import BaseCommand

from core.roles import roles_ensure


class Command(BaseCommand):
    help = "Create or refresh the role groups (idempotent)."

    def handle(self, *args, **options):
        for name, count in roles_ensure().items():
            self.stdout.write(f"{name}: {count} permissions")
