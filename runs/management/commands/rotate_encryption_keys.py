"""Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS.

To rotate: put the new key first in ENCRYPTION_KEYS (keep the old ones after it),
restart, run this command, then drop the old keys.
"""

from django.core.management.base import BaseCommand, CommandError

from registry_site.errors import DomainError
from runs import connections, crypto


class Command(BaseCommand):
    help = "Encrypt every stored connection secret again with the first ENCRYPTION_KEYS key."

    def handle(self, *args, **options) -> None:
        if not crypto.is_configured():
            raise CommandError("ENCRYPTION_KEYS is not set.")
        try:
            count = connections.rotate_encryption()
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Re-encrypted the secrets of {count} connection(s) with the first key.")
