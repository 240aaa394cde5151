"""Secrets: written through config, stored encrypted, never shown, never moved."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from conftest import api_as
from integrations.models import Integration, IntegrationSecret

pytestmark = pytest.mark.django_db

URL = "/api/integrations"


def url(pk, suffix=""):
    return f"{URL}/{pk}{suffix}"


@pytest.fixture
def odoo(member, client_record):
    """An Odoo integration created through the API with an API key."""
    response = api_as(member).post(
        URL,
        {
            "client": client_record.pk,
            "name": "Odoo",
            "integration_type": "odoo",
            "config": {
                "api_url": "https://erp.adebayo.example",
                "database": "adebayo",
                "username": "einvoice",
                "api_key": "first-key-value",
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Integration.objects.get(pk=response.json()["id"])


def stored_secret(integration, name="api_key"):
    secret = IntegrationSecret.objects.filter(
        integration=integration, name=name
    ).first()
    return secret.value() if secret else None


class TestWriting:
    def test_a_secret_is_taken_out_of_config_and_stored_encrypted(self, member, odoo):
        body = api_as(member).get(url(odoo.pk)).json()

        assert "api_key" not in body["config"]
        assert body["secrets"]["api_key"]["set"] is True
        assert body["secrets"]["api_key"]["changed_at"]
        assert "api_key" not in odoo.config
        assert stored_secret(odoo) == "first-key-value"
        ciphertext = IntegrationSecret.objects.get(integration=odoo).ciphertext
        assert "first-key-value" not in ciphertext
        assert "api_key" not in odoo.history.get().config
        assert "secrets.api_key" in odoo.history.get().changed_fields

    def test_a_secret_left_out_keeps_its_value(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"database": "renamed"}}, format="json"
        )

        assert response.status_code == 200
        assert stored_secret(odoo) == "first-key-value"

    def test_a_put_without_the_secret_keeps_it(self, member, odoo):
        api = api_as(member)
        body = api.get(url(odoo.pk)).json()

        assert api.put(url(odoo.pk), body, format="json").status_code == 200
        assert stored_secret(odoo) == "first-key-value"

    def test_a_new_string_replaces_it_as_a_new_version(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_key": "second-key-value"}}, format="json"
        )

        assert response.json()["version"] == 2
        assert stored_secret(odoo) == "second-key-value"
        entry = odoo.history.first()
        assert entry.changed_fields == ["secrets.api_key"]

    def test_sending_the_same_value_again_changes_nothing(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_key": "first-key-value"}}, format="json"
        )

        assert response.json()["version"] == 1

    def test_null_clears_it(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_key": None}}, format="json"
        )

        assert response.json()["secrets"]["api_key"] == {
            "set": False,
            "changed_at": None,
        }
        assert stored_secret(odoo) is None

    @pytest.mark.parametrize(
        "placeholder", ["********", "•••", "●●●●", "[redacted]", " *** "]
    )
    def test_a_masked_placeholder_is_refused(self, member, odoo, placeholder):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_key": placeholder}}, format="json"
        )

        assert response.status_code == 400
        assert "placeholder" in response.json()["config.api_key"][0]
        assert stored_secret(odoo) == "first-key-value"

    def test_a_secret_that_is_not_a_string_is_refused(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_key": 12345}}, format="json"
        )

        assert response.status_code == 400
        assert "config.api_key" in response.json()


class TestHostChanges:
    def test_a_new_host_without_the_secrets_is_refused(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk),
            {"config": {"api_url": "https://attacker.example"}},
            format="json",
        )

        assert response.status_code == 400
        assert "enter api_key again" in response.json()["config.api_key"][0]
        odoo.refresh_from_db()
        assert odoo.config["api_url"] == "https://erp.adebayo.example"

    @pytest.mark.parametrize(
        "new_url", ["http://erp.adebayo.example", "https://erp.adebayo.example:8443"]
    )
    def test_a_new_scheme_or_port_is_a_new_host(self, member, odoo, new_url):
        response = api_as(member).patch(
            url(odoo.pk), {"config": {"api_url": new_url}}, format="json"
        )

        assert response.status_code == 400

    def test_a_new_path_on_the_same_host_is_fine(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk),
            {"config": {"api_url": "https://ERP.adebayo.example:443/odoo"}},
            format="json",
        )

        assert response.status_code == 200
        assert stored_secret(odoo) == "first-key-value"

    def test_a_new_host_with_the_secret_re_entered_is_fine(self, member, odoo):
        response = api_as(member).patch(
            url(odoo.pk),
            {"config": {"api_url": "https://new.example", "api_key": "new-host-key"}},
            format="json",
        )

        assert response.status_code == 200
        assert stored_secret(odoo) == "new-host-key"


class TestRollbackAndClone:
    def test_rollback_before_a_secret_change_keeps_the_current_secret(
        self, member, odoo
    ):
        api = api_as(member)
        api.patch(url(odoo.pk), {"config": {"database": "v2"}}, format="json")
        api.patch(url(odoo.pk), {"config": {"api_key": "rotated-key"}}, format="json")

        response = api.post(url(odoo.pk, "/rollback"), {"version": 1}, format="json")

        assert response.status_code == 200
        assert response.json()["config"]["database"] == "adebayo"
        assert stored_secret(odoo) == "rotated-key"

    def test_rollback_to_another_host_clears_the_secrets(self, member, odoo):
        api = api_as(member)
        api.patch(
            url(odoo.pk),
            {"config": {"api_url": "https://new.example", "api_key": "new-host-key"}},
            format="json",
        )

        response = api.post(url(odoo.pk, "/rollback"), {"version": 1}, format="json")

        assert response.status_code == 200
        assert response.json()["config"]["api_url"] == "https://erp.adebayo.example"
        assert response.json()["secrets"]["api_key"]["set"] is False
        assert odoo.history.first().changed_fields[-1] == "secrets.api_key"

    def test_a_clone_never_copies_secrets(self, member, odoo):
        response = api_as(member).post(
            url(odoo.pk, "/clone"), {"name": "Copy"}, format="json"
        )

        assert response.status_code == 201
        assert response.json()["secrets"]["api_key"]["set"] is False
        assert not IntegrationSecret.objects.filter(
            integration_id=response.json()["id"]
        ).exists()


class TestKeyRotation:
    def test_rotation_keeps_secrets_readable_under_the_new_key(self, odoo, settings):
        old_key = settings.FIELD_ENCRYPTION_KEYS[0]
        new_key = Fernet.generate_key().decode()
        settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

        call_command("rotate_secrets")

        settings.FIELD_ENCRYPTION_KEYS = [new_key]
        assert stored_secret(odoo) == "first-key-value"


class TestValidation:
    def test_an_unknown_type_answers_400(self, member, client_record):
        response = api_as(member).post(
            URL,
            {"client": client_record.pk, "name": "X", "integration_type": "sap_r3"},
            format="json",
        )

        assert response.status_code == 400
        assert "unknown type" in response.json()["integration_type"][0]

    def test_schema_errors_name_the_json_path(self, member, client_record):
        response = api_as(member).post(
            URL,
            {
                "client": client_record.pk,
                "name": "FIRS",
                "integration_type": "firs_mbs",
                "config": {
                    "environment": "live",
                    "api_url": "https://gateway.example",
                    "business_id": "b",
                    "service_id": "SHORT",
                    "tin": "12345678-0001",
                },
            },
            format="json",
        )

        assert response.status_code == 400
        errors = response.json()
        assert errors["config.environment"] == ["must be one of: sandbox, production"]
        assert errors["config.service_id"] == ["must be 8 characters"]

    def test_full_clean_in_the_shell_validates_against_the_template(
        self, client_record
    ):
        from django.core.exceptions import ValidationError

        integration = Integration(
            client=client_record,
            name="Shell",
            integration_type="generic_rest",
            config={"api_url": "ftp://files.example", "auth_method": "none"},
        )
        with pytest.raises(ValidationError) as error:
            integration.full_clean()
        assert "config.api_url" in str(error.value)

    def test_a_legacy_row_stays_readable(self, member, client_record):
        legacy = Integration(
            client=client_record,
            name="Legacy",
            integration_type="old_erp",
            config={"x": 1},
        )
        legacy.save()

        response = api_as(member).get(url(legacy.pk))

        assert response.status_code == 200
        assert response.json()["secrets"] == {}


class TestIntegrationTypes:
    def test_the_list_names_every_template(self, member):
        response = api_as(member).get("/api/integration-types")

        slugs = {item["slug"] for item in response.json()}
        assert {"odoo", "quickbooks_online", "xero", "zoho_books", "firs_mbs"} <= slugs
        assert set(response.json()[0]) == {"slug", "name", "description"}

    def test_a_type_has_its_schema_with_secrets_write_only_and_an_example(self, member):
        body = api_as(member).get("/api/integration-types/odoo").json()

        assert body["schema"]["properties"]["api_key"]["writeOnly"] is True
        assert body["example"]["api_url"].startswith("https://")
        assert any("xmlrpc" in endpoint for endpoint in body["endpoints"])

    def test_an_unknown_type_answers_404(self, member):
        assert api_as(member).get("/api/integration-types/sap_r3").status_code == 404

    def test_anonymous_gets_401(self):
        assert api_as().get("/api/integration-types").status_code == 401


def test_the_data_migration_moves_secrets_out_of_configs_and_history(client_record):
    from importlib import import_module

    from django.apps import apps

    legacy = Integration(client=client_record, name="Legacy", integration_type="odoo")
    legacy.save()
    leaked = {"api_url": "https://erp.example", "api_key": "legacy-key-value"}
    Integration.objects.filter(pk=legacy.pk).update(config=leaked)
    Integration.history.filter(id=legacy.pk).update(config=leaked)

    migration = import_module("integrations.migrations.0004_move_secrets_out_of_config")
    migration.move_secrets(apps, None)

    legacy.refresh_from_db()
    assert legacy.config == {"api_url": "https://erp.example"}
    assert stored_secret(legacy) == "legacy-key-value"
    assert all("api_key" not in entry.config for entry in Integration.history.all())
