"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

To replace a key: put the new key first, keep the old one after it, run this command,
then remove the old key.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from integrations import secret_box
from integrations.models import IntegrationSecret


class Command(BaseCommand):
    help = (
        "Re-encrypt all integration secrets with the first FIELD_ENCRYPTION_KEYS key."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        rotated = 0
        for secret in IntegrationSecret.objects.select_for_update().iterator():
            secret.ciphertext = secret_box.rotate(secret.ciphertext)
            secret.save(update_fields=["ciphertext"])
            rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} secret(s) with the first key.")
