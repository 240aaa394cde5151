from __future__ import annotations

import pytest
from django.core.management import call_command

from clients.models import Client
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def counts():
    return (
        Client.objects.count(),
        Integration.objects.count(),
        Client.history.count(),
        Integration.history.count(),
    )


def test_seed_demo_twice_gives_the_same_counts():
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")

    assert counts() == first
    assert first[0] >= 3 and first[1] >= 4


def test_demo_integrations_have_versions_by_different_users():
    call_command("seed_demo")

    usernames = set(Integration.history.values_list("history_username", flat=True))
    assert len(usernames) >= 2
    assert Integration.objects.filter(version__gte=3).exists()


def test_demo_integrations_are_valid_for_their_templates():
    call_command("seed_demo")

    for integration in Integration.objects.all():
        integration.full_clean()
        assert integration.secret_status(), integration.integration_type
