"""Synthetic data for the bench, written in bulk (no save(), no signals).

History rows are real simple-history rows in integrations_historicalintegration, with
the columns the change log fills (change type, changed fields, request id, username),
so the history endpoints read them as they read recorded changes.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from clients.models import Client
from integrations import providers, secret_box
from integrations.models import Integration, IntegrationSecret

BATCH = 2000
LONG_HISTORY_NAME = "Ledger with a long history"
# Words in names, so that a search finds a realistic few per cent of rows.
WORDS = [
    "Adebayo", "Enugu", "Kano", "Lagos", "Ibadan", "Jos", "Benin", "Owerri",
    "Abeokuta", "Calabar", "Ilorin", "Kaduna", "Makurdi", "Sokoto", "Warri",
    "Yola", "Zaria", "Akure", "Asaba", "Bauchi", "Gombe", "Lokoja", "Minna",
    "Nnewi", "Onitsha", "Osogbo", "Umuahia", "Uyo", "Aba", "Ekiti",
]  # fmt: skip
SCHEDULES = [
    "daily 02:30",
    "hourly :15",
    "manual",
    "weekdays 08:00",
    "*/15 8-17 * * 1-5",
]
STATUSES = ["active", "active", "paused", "draft"]


@dataclass(frozen=True)
class Sizes:
    clients: int
    integrations: int
    history: int
    long_versions: int = 1000


FULL = Sizes(clients=500, integrations=50_000, history=500_000)
SMALL = Sizes(clients=50, integrations=5_000, history=50_000)


def staff_with_token() -> tuple[object, str]:
    user = get_user_model().objects.create_user(
        "bench-staff", is_staff=True, is_superuser=True
    )
    return user, Token.objects.create(user=user).key


def fill_clients(count: int) -> list[int]:
    clients = [
        Client(
            name=f"{WORDS[number % len(WORDS)]} Trading {number:05d} Ltd",
            contact_email=f"accounts{number}@client.example",
        )
        for number in range(count)
    ]
    Client.objects.bulk_create(clients, batch_size=BATCH)
    return list(Client.objects.order_by("pk").values_list("pk", flat=True))


def config_for(number: int, version: int = 1) -> dict:
    return {
        "api_url": f"https://ledger-{number}.example.com/api",
        "auth_method": "api_key",
        "health_path": "/health",
        "retries": version % 10,
        "schedule": SCHEDULES[number % len(SCHEDULES)],
        "timezone": "Africa/Lagos",
    }


def fill_integrations(
    client_ids: list[int], first: int, count: int, history: int, long_versions: int = 0
) -> int | None:
    """Add `count` integrations numbered from `first` and `history` rows of theirs.

    With long_versions, the first of them gets that many versions; the other rows are
    shared out evenly. Returns the id of the long one, if any.
    """
    types = list(providers.TEMPLATES)
    plain = count - (1 if long_versions else 0)
    each, extra = divmod(history - long_versions, max(plain, 1))
    versions = [long_versions] if long_versions else []
    for position in range(plain):
        versions.append(max(1, each + (1 if position < extra else 0)))

    rows = []
    for index, number in enumerate(range(first, first + count)):
        rows.append(
            Integration(
                client_id=client_ids[number % len(client_ids)],
                name=LONG_HISTORY_NAME
                if long_versions and index == 0
                else f"{WORDS[(number // 7) % len(WORDS)]} ledger {number:06d}",
                integration_type=types[number % len(types)],
                description="Synthetic integration for the bench.",
                config=config_for(number, versions[index]),
                status=STATUSES[number % len(STATUSES)],
                version=versions[index],
            )
        )
    with transaction.atomic():
        created = Integration.objects.bulk_create(rows, batch_size=BATCH)
    if connection.vendor == "sqlite" or created[0].pk is None:
        # SQLite before 3.35 returns no ids from bulk inserts; read them back.
        created = list(Integration.objects.order_by("-pk")[:count])[::-1]

    fill_secrets(created[::2])
    fill_history(created, first)
    return created[0].pk if long_versions else None


def fill_secrets(integrations: list[Integration]) -> None:
    """One stored api_key for every other integration; lists show its status only."""
    ciphertext = secret_box.encrypt("example-key-not-real")
    now = timezone.now()
    rows = (
        IntegrationSecret(
            integration_id=integration.pk,
            name="api_key",
            ciphertext=ciphertext,
            changed_at=now,
        )
        for integration in integrations
    )
    bulk_insert(IntegrationSecret, rows)


def fill_history(integrations: list[Integration], first: int) -> None:
    History = Integration.history.model
    start = timezone.now() - datetime.timedelta(days=400)

    def rows() -> Iterator:
        for number, integration in enumerate(integrations, start=first):
            for version in range(1, integration.version + 1):
                created = version == 1
                yield History(
                    id=integration.pk,
                    client_id=integration.client_id,
                    name=integration.name,
                    integration_type=integration.integration_type,
                    description=integration.description,
                    config=config_for(number, version),
                    status=integration.status,
                    version=version,
                    created_at=start,
                    history_date=start + datetime.timedelta(minutes=version),
                    history_type="+" if created else "~",
                    history_change_reason="bench" if created else f"tune v{version}",
                    history_user_id=None,
                    history_username="bench-staff",
                    change_type="created" if created else "updated",
                    changed_fields=["name", "config.api_url"]
                    if created
                    else ["config.retries"],
                    request_id=f"bench-{integration.pk}-{version}",
                )

    bulk_insert(History, rows())


def bulk_insert(model, rows) -> None:
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH * 5)):
        with transaction.atomic():
            model.objects.bulk_create(batch, batch_size=BATCH)


def analyze() -> None:
    """Refresh statistics and visibility, as autovacuum would after such a load.

    On PostgreSQL, VACUUM also marks the pages all-visible, so that counting rows can
    read a small index instead of the table, as it does on any settled database.
    """
    statement = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(statement)
