"""A canary secret goes through a whole life cycle and must surface nowhere.

It is written, replaced, rolled back over, cloned and looked at through the API, the
admin and the history; then every response body and header, every log line and every
database column except the ciphertext is searched for it and for its ciphertext.
"""

from __future__ import annotations

import logging

import pytest
from django.apps import apps

from conftest import api_as
from integrations.models import Integration, IntegrationSecret

pytestmark = pytest.mark.django_db

CANARY = "canary-7f3a9c-never-show-me"
SECOND_CANARY = "canary-b81d44-never-show-me-either"


def response_text(response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    return headers + "\n" + body.decode("utf-8", "replace")


def database_text(excluding: tuple = ()) -> str:
    """Every value of every row of every table, as text, except the named columns."""
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        names = [
            field.attname
            for field in model._meta.concrete_fields
            if (model, field.name) not in excluding
        ]
        for row in model._base_manager.values_list(*names):
            chunks.append(repr(row))
    return "\n".join(chunks)


def test_the_canary_appears_nowhere(member, staff, client_record, caplog):
    caplog.set_level(logging.DEBUG)
    api = api_as(member)
    seen = []

    created = api.post(
        "/api/integrations",
        {
            "client": client_record.pk,
            "name": "Canary ERP",
            "integration_type": "generic_rest",
            "config": {
                "api_url": "http://127.0.0.1:9/api",
                "auth_method": "api_key",
                "api_key": CANARY,
            },
        },
        format="json",
    )
    seen.append(created)
    pk = created.json()["id"]
    base = f"/api/integrations/{pk}"

    seen.append(api.patch(base, {"config": {"health_path": "/up"}}, format="json"))
    seen.append(api.patch(base, {"config": {"api_key": SECOND_CANARY}}, format="json"))
    seen.append(api.post(f"{base}/rollback", {"version": 1}, format="json"))
    seen.append(api.patch(base, {"config": {"api_key": "********"}}, format="json"))
    seen.append(
        api.patch(base, {"config": {"api_url": "http://127.0.0.2:9/"}}, format="json")
    )
    seen.append(api.post(f"{base}/clone", {"name": "Canary copy"}, format="json"))
    for path in [
        base,
        "/api/integrations",
        f"{base}/history",
        f"{base}/history/1",
        f"{base}/history/3",
        f"{base}/diff?from=1&to=4",
        "/api/integration-types/generic_rest",
        "/api/schema",
    ]:
        seen.append(api.get(path))

    admin = api_as()
    admin.force_login(staff)
    for path in [
        "/admin/integrations/integration/",
        f"/admin/integrations/integration/{pk}/change/",
        f"/admin/integrations/integration/{pk}/history/",
        f"/admin/clients/client/{client_record.pk}/change/",
    ]:
        seen.append(admin.get(path))
    history_id = Integration.history.filter(id=pk).first().history_id
    seen.append(
        admin.get(f"/admin/integrations/integration/{pk}/history/{history_id}/")
    )

    ciphertexts = list(IntegrationSecret.objects.values_list("ciphertext", flat=True))
    assert ciphertexts, "the canary should be stored"
    everything = "\n".join(response_text(response) for response in seen)
    everything += "\n" + caplog.text
    everything += "\n" + database_text(excluding=((IntegrationSecret, "ciphertext"),))

    for secret in (CANARY, SECOND_CANARY, *ciphertexts):
        assert secret not in everything
    assert all(response.status_code < 500 for response in seen)


def test_error_reports_hide_secrets_in_local_variables(rf):
    import sys

    from django.views.debug import ExceptionReporter

    from integrations import secrets

    def failing_write(config):
        plain, writes = secrets.split_secrets("odoo", config)
        raise RuntimeError("boom")

    try:
        failing_write({"api_url": "https://erp.example", "api_key": CANARY})
    except RuntimeError:
        report = ExceptionReporter(rf.get("/"), *sys.exc_info()).get_traceback_html()

    assert "boom" in report
    assert CANARY not in report


@pytest.mark.django_db(transaction=True)
def test_the_canary_appears_on_no_page_command_output_or_log(
    member, staff, client_record, caplog, capsys, settings
):
    from django.core.management import call_command

    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    caplog.set_level(logging.DEBUG)
    integration = Integration(
        client=client_record,
        name="Canary ERP",
        integration_type="generic_rest",
        status="active",
        config={"api_url": "http://127.0.0.1:9/api", "auth_method": "bearer"},
    )
    integration.write_secrets({"bearer_token": CANARY})
    integration.record_change(member, "with a canary").save()
    pk = integration.pk

    browser = api_as()
    browser.force_login(staff)
    seen = [
        browser.get(path)
        for path in [
            "/integrations",
            f"/integrations/{pk}",
            f"/integrations/{pk}/edit",
            f"/integrations/{pk}/clone",
            f"/integrations/{pk}/delete",
            f"/integrations/{pk}/history?a=1&b=1",
            f"/integrations/{pk}/discovery",
            f"/clients/{client_record.pk}",
            f"/admin/integrations/integration/{pk}/change/",
            f"/admin/integrations/integration/{pk}/history/",
        ]
    ]
    api = api_as(member)
    seen.append(api.post(f"/api/integrations/{pk}/test"))
    seen.append(api.post(f"/api/integrations/{pk}/discover"))
    seen.append(api.get(f"/api/integrations/{pk}/tests"))
    seen.append(api.get(f"/api/integrations/{pk}"))
    call_command("test_integrations", "--all")
    call_command("run_monitor", "--once")

    ciphertexts = list(IntegrationSecret.objects.values_list("ciphertext", flat=True))
    everything = "\n".join(response_text(response) for response in seen)
    everything += "\n" + caplog.text + "\n" + capsys.readouterr().out
    everything += "\n" + database_text(excluding=((IntegrationSecret, "ciphertext"),))

    assert all(response.status_code < 500 for response in seen)
    for secret in (CANARY, *ciphertexts):
        assert secret not in everything
