"""Move secrets that configs written before templates held into the encrypted store.

Past history rows lose those keys too: history must never hold a secret. Encryption
keys are needed only when there is something to move.
"""

from django.db import migrations
from django.utils import timezone


def move_secrets(apps, schema_editor):
    from integrations import secret_box, secrets

    integration_model = apps.get_model("integrations", "Integration")
    secret_model = apps.get_model("integrations", "IntegrationSecret")
    history_model = apps.get_model("integrations", "HistoricalIntegration")

    for integration in integration_model.objects.all().iterator():
        plain, writes = secrets.split_secrets(
            integration.integration_type, integration.config or {}
        )
        if not writes:
            continue
        for name, value in writes.items():
            if isinstance(value, str) and value:
                secret_model.objects.update_or_create(
                    integration=integration,
                    name=name,
                    defaults={
                        "ciphertext": secret_box.encrypt(value),
                        "changed_at": timezone.now(),
                    },
                )
        integration_model.objects.filter(pk=integration.pk).update(config=plain)

    for entry in history_model.objects.all().iterator():
        if not isinstance(entry.config, dict):
            continue
        plain, writes = secrets.split_secrets(entry.integration_type, entry.config)
        if writes:
            history_model.objects.filter(pk=entry.pk).update(config=plain)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_integrationsecret")]

    operations = [migrations.RunPython(move_secrets, migrations.RunPython.noop)]
