"""Clients: validation, uniqueness and their change history."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from clients.models import Client
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def test_a_shell_change_is_recorded_with_user_and_reason(django_user_model):
    ada = django_user_model.objects.create_user("ada")
    client = Client(name="Kano Textiles Plc")
    client.record_change(ada, "New customer").save()

    client.phone = "+234 802 000 0002"
    client.record_change(ada, "Phone from the contract").save()

    latest, first = client.history.all()[:2]
    assert (first.change_type, first.history_user, first.history_change_reason) == (
        "created",
        ada,
        "New customer",
    )
    assert latest.change_type == "updated"
    assert latest.history_change_reason == "Phone from the contract"
    assert latest.history_username == "ada"
    assert latest.changed_fields == ["phone"]


def test_a_save_that_changes_nothing_records_nothing(client_record):
    client_record.name = "Adebayo Foods Ltd"
    client_record.save()

    assert client_record.history.count() == 1
    assert client_record.nothing_changed


def test_names_are_unique_ignoring_case(client_record):
    duplicate = Client(name="ADEBAYO foods ltd")

    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "name" in error.value.message_dict
    assert "already exists" in error.value.message_dict["name"][0]

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.parametrize("tin", ["12345678-0001", "1234567890"])
def test_it_accepts_nigerian_tin_formats(tin):
    Client(name="A", tin=tin).full_clean()


@pytest.mark.parametrize(
    "tin", ["1234-5678", "ABCDEFGH-0001", "123456789", "12345678 0001"]
)
def test_it_rejects_malformed_tins(tin):
    with pytest.raises(ValidationError) as error:
        Client(name="A", tin=tin).full_clean()
    assert "tin" in error.value.message_dict


def test_tin_is_unique_only_when_present(client_record):
    first, second = Client(name="No TIN one", tin=""), Client(name="No TIN two", tin="")
    for client in (first, second):
        client.full_clean()
        client.save()
    assert first.tin is None and second.tin is None

    with pytest.raises(ValidationError) as error:
        Client(name="Other", tin=client_record.tin).full_clean()
    assert "tin" in error.value.message_dict


def test_a_client_with_integrations_cannot_be_deleted(client_record):
    Integration(client=client_record, name="Xero", integration_type="xero").save()

    with pytest.raises(ProtectedError):
        client_record.delete()
    assert Client.objects.filter(pk=client_record.pk).exists()


def test_deleting_a_client_keeps_its_history(client_record):
    client_id = client_record.pk
    client_record.record_change(None, "Contract ended").delete()

    history = Client.history.filter(id=client_id)
    assert [entry.change_type for entry in history] == ["deleted", "created"]
    assert history[0].history_change_reason == "Contract ended"
