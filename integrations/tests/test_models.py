"""Integrations: versions, history, validation of config and names."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clients.models import Client
from integrations.models import Integration
from taxpoynt.changelog import VersionConflict

pytestmark = pytest.mark.django_db


def test_it_starts_at_version_one_with_a_created_entry(integration):
    assert integration.version == 1
    entry = integration.history.get()
    assert (entry.version, entry.change_type) == (1, "created")
    assert "config.schedule" in entry.changed_fields


def test_every_change_bumps_the_version_and_names_the_changed_paths(
    integration, django_user_model
):
    chinedu = django_user_model.objects.create_user("chinedu")
    integration.config = {**integration.config, "schedule": "hourly"}
    integration.record_change(chinedu, "Month end").save()

    assert integration.version == 2
    entry = integration.history.first()
    assert entry.version == 2
    assert entry.changed_fields == ["config.schedule"]
    assert (entry.history_user, entry.history_change_reason) == (chinedu, "Month end")


def test_a_save_that_changes_nothing_keeps_the_version(integration):
    integration.config = dict(integration.config)
    integration.save()

    integration.refresh_from_db()
    assert integration.version == 1
    assert integration.history.count() == 1


def test_a_changed_json_type_is_a_change(integration):
    # 3 == 3.0 and 1 == True in Python, but they are different JSON.
    integration.config = {**integration.config, "retries": 3.0, "verify_tls": 1}
    integration.save()

    assert integration.version == 2
    assert integration.history.first().changed_fields == [
        "config.retries",
        "config.verify_tls",
    ]


def test_saving_a_stale_copy_raises_a_conflict_instead_of_overwriting(integration):
    stale = Integration.objects.get(pk=integration.pk)
    integration.description = "first writer"
    integration.save()

    stale.description = "second writer"
    with pytest.raises(VersionConflict) as conflict:
        stale.save()
    assert conflict.value.current_version == 2
    integration.refresh_from_db()
    assert integration.description == "first writer"


def test_history_survives_deleting_the_integration_and_its_client(integration):
    integration_id, client = integration.pk, integration.client
    client_id = client.pk
    integration.record_change(None, "Replaced").delete()
    client.delete()

    history = Integration.history.filter(id=integration_id)
    assert [(entry.version, entry.change_type) for entry in history] == [
        (2, "deleted"),
        (1, "created"),
    ]
    assert history[0].client_id == client_id
    assert history[0].config["schedule"] == "daily"


def test_names_are_unique_per_client_ignoring_case(integration):
    duplicate = Integration(
        client=integration.client, name="ODOO Production", integration_type="odoo"
    )
    with pytest.raises(ValidationError) as error:
        duplicate.full_clean()
    assert "name" in error.value.message_dict

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_the_same_name_is_fine_for_another_client(integration):
    other = Client.objects.create(name="Kano Textiles Plc")
    Integration(
        client=other,
        name="Odoo production",
        integration_type="generic_rest",
        config=integration.config,
    ).full_clean()


@pytest.mark.parametrize("config", [[], ["a"], "text", 42, 1.5, True, None])
def test_config_must_be_a_json_object(client_record, config):
    integration = Integration(
        client=client_record, name="Bad", integration_type="odoo", config=config
    )
    with pytest.raises(ValidationError) as error:
        integration.full_clean()
    assert "config" in error.value.message_dict


def test_config_strings_may_not_hold_nul_characters(client_record):
    integration = Integration(
        client=client_record,
        name="Bad",
        integration_type="odoo",
        config={"auth": {"user": "a\x00b"}},
    )
    with pytest.raises(ValidationError) as error:
        integration.full_clean()
    assert "config.auth.user" in error.value.message_dict["config"][0]


@pytest.mark.parametrize("depth", [25, 900])
def test_deeply_nested_config_is_refused_not_crashed(client_record, depth):
    config = {"api_url": "http://127.0.0.1:9", "auth_method": "none"}
    nested = value = {}
    for _ in range(depth):
        value["x"] = {}
        value = value["x"]
    integration = Integration(
        client=client_record,
        name="Deep",
        integration_type="generic_rest",
        config={**config, "extra": nested},
    )

    with pytest.raises(ValidationError) as error:
        integration.full_clean()
    assert "levels deep" in str(error.value)
