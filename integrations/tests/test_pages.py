"""The integrator pages for integrations, through Django's test client, by persona."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.test import Client as Browser

from clients.models import Client
from conftest import form_values
from integrations.models import Integration

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "<svg onload=alert(1)>"
HOSTILE_VALUE = "</script><script>alert(1)</script>"


def browser_as(user=None) -> Browser:
    browser = Browser()
    if user is not None:
        browser.force_login(user)
    return browser


def page_urls(integration: Integration) -> list[str]:
    pk = integration.pk
    return [
        "/integrations",
        "/integrations/new",
        "/integrations/new?type=odoo",
        f"/integrations/{pk}",
        f"/integrations/{pk}/edit",
        f"/integrations/{pk}/clone",
        f"/integrations/{pk}/delete",
        f"/integrations/{pk}/history",
    ]


def posted(html: str, **changes) -> dict[str, str]:
    """The values a browser would post from the page's form, with some changed."""
    # A browser drops the newline that starts a textarea's text; so does this.
    values = {
        name: items[-1].removeprefix("\n") for name, items in form_values(html).items()
    }
    values.update(changes)
    return values


def edit_form(browser: Browser, integration: Integration, **changes) -> dict:
    page = browser.get(f"/integrations/{integration.pk}/edit")
    assert page.status_code == 200
    return posted(page.content.decode(), **changes)


def new_form(browser: Browser, client: Client, slug="generic_rest", **changes):
    page = browser.get(f"/integrations/new?type={slug}&client={client.pk}")
    assert page.status_code == 200
    return posted(page.content.decode(), **changes)


LEDGER_CONFIG = {
    "api_url": "http://127.0.0.1:9/ledger",
    "auth_method": "api_key",
    "api_key_header": "X-API-Key",
    "schedule": "daily",
    "timezone": "Africa/Lagos",
}


class TestAnonymousVisitor:
    def test_it_sends_every_page_to_the_login_page(self, integration):
        browser = browser_as()
        for url in page_urls(integration):
            response = browser.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/?next="), url

    def test_it_is_sent_to_login_for_a_restore_too(self, integration):
        response = browser_as().post(
            f"/integrations/{integration.pk}/restore", {"version": 1}
        )
        assert response.status_code == 302
        assert integration.history.count() == 1

    def test_the_root_leads_to_the_integrations(self, db):
        response = browser_as().get("/")
        assert response.status_code == 302
        assert response["Location"] == "/integrations"

    def test_it_logs_in_with_the_login_form_and_lands_on_the_page_it_asked(
        self, member
    ):
        browser = browser_as()
        page = browser.get("/accounts/login/?next=/integrations")
        assert b'<label for="id_username">' in page.content

        response = browser.post(
            "/accounts/login/",
            {"username": "ada", "password": "pw-for-tests", "next": "/integrations"},
        )
        assert response.status_code == 302
        assert response["Location"] == "/integrations"
        assert browser.get("/integrations").status_code == 200

    def test_a_wrong_password_is_said_plainly(self, member):
        response = browser_as().post(
            "/accounts/login/", {"username": "ada", "password": "wrong"}
        )
        assert response.status_code == 200
        assert b"correct username and password" in response.content


class TestLoggingOut:
    def test_it_logs_out_with_a_post_and_says_so(self, member):
        browser = browser_as(member)
        response = browser.post("/accounts/logout/", follow=True)
        assert response.redirect_chain[-1][0].startswith("/accounts/login/")
        assert b"You are logged out." in response.content
        assert browser.get("/integrations").status_code == 302

    def test_it_refuses_to_log_out_on_a_get(self, member):
        browser = browser_as(member)
        assert browser.get("/accounts/logout/").status_code == 405
        assert browser.get("/integrations").status_code == 200


class TestTheList:
    def test_it_shows_the_teams_integrations_with_health_and_schedule(
        self, member, integration
    ):
        Integration.objects.filter(pk=integration.pk).update(
            last_test_status="auth_failed",
            last_tested_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        )
        page = browser_as(member).get("/integrations").content.decode()
        assert "Adebayo Foods Ltd" in page
        assert "Odoo production" in page
        assert "Generic REST API" in page
        assert "auth_failed" in page
        assert "2025-03-01 10:30" in page  # shown in Africa/Lagos
        assert "daily" in page and "Africa/Lagos" in page

    def test_it_hides_another_teams_integrations(self, outsider, integration):
        page = browser_as(outsider).get("/integrations").content.decode()
        assert "Odoo production" not in page
        assert "No integrations yet" in page

    def test_an_empty_list_leads_to_creating_one(self, member):
        page = browser_as(member).get("/integrations").content.decode()
        assert "No integrations yet" in page
        assert 'href="/integrations/new"' in page

    def test_it_searches_and_filters(self, member, client_record, integration):
        other = Integration(
            client=client_record,
            name="Ledger",
            integration_type="generic_rest",
            status="active",
            config=LEDGER_CONFIG,
        )
        other.save()
        browser = browser_as(member)

        def names(query: str) -> list[str]:
            page = browser.get(f"/integrations?{query}").content.decode()
            return [n for n in ("Odoo production", "Ledger") if f">{n}<" in page]

        assert names("q=ledg") == ["Ledger"]
        assert names("status=active") == ["Ledger"]
        assert names("status=draft") == ["Odoo production"]
        assert names(f"client={client_record.pk}&type=generic_rest") == [
            "Odoo production",
            "Ledger",
        ]
        assert names("type=odoo") == []

    def test_it_sorts_by_a_column_both_ways(self, member, client_record, integration):
        Integration(
            client=client_record,
            name="Another",
            integration_type="generic_rest",
            config=LEDGER_CONFIG,
        ).save()
        browser = browser_as(member)
        ascending = browser.get("/integrations?sort=name").content.decode()
        descending = browser.get("/integrations?sort=-name").content.decode()
        assert ascending.index("Another") < ascending.index("Odoo production")
        assert descending.index("Another") > descending.index("Odoo production")
        assert 'aria-sort="descending"' in descending

    def test_it_pages_through_many(self, member, client_record):
        for number in range(30):
            Integration(
                client=client_record,
                name=f"Ledger {number:02}",
                integration_type="generic_rest",
                config=LEDGER_CONFIG,
            ).save()
        browser = browser_as(member)
        first = browser.get("/integrations?sort=name").content.decode()
        second = browser.get("/integrations?sort=name&page=2").content.decode()
        assert "Ledger 24" in first and "Ledger 25" not in first
        assert "Ledger 25" in second and "Page 2 of 2" in second
        assert "sort=name&amp;page=2" in first

    def test_it_answers_400_with_a_message_for_a_bad_filter(self, member, integration):
        response = browser_as(member).get("/integrations?status=broken&client=abc")
        assert response.status_code == 400
        assert b"Select a valid choice" in response.content

    def test_the_list_reads_in_a_constant_number_of_queries(
        self, member, client_record, django_assert_max_num_queries
    ):
        for number in range(10):
            Integration(
                client=client_record,
                name=f"Ledger {number}",
                integration_type="generic_rest",
                config=LEDGER_CONFIG,
            ).save()
        browser = browser_as(member)
        with django_assert_max_num_queries(12):
            browser.get("/integrations")


class TestCreating:
    def test_it_offers_every_template_by_name_and_description(
        self, member, client_record
    ):
        page = browser_as(member).get("/integrations/new").content.decode()
        assert "Odoo" in page and "Reads invoices from Odoo" in page
        assert 'name="type" id="type-generic_rest"' in page
        assert "Adebayo Foods Ltd" in page

    def test_the_form_has_the_schema_without_secrets_and_secret_inputs(
        self, member, client_record
    ):
        page = browser_as(member).get(
            f"/integrations/new?type=odoo&client={client_record.pk}"
        )
        html = page.content.decode()
        assert page.status_code == 200
        assert 'type="password" name="secret_api_key"' in html
        config = json.loads(
            html.split('data-django-jsonform="')[1]
            .split('"')[0]
            .replace("&quot;", '"')
            .replace("&amp;", "&")
        )
        properties = config["schema"]["properties"]
        assert "api_url" in properties and "api_key" not in properties
        assert "if" not in config["schema"] and "format" not in properties["api_url"]
        assert properties["api_url"]["help_text"].startswith("Address of the Odoo")

    def test_it_saves_a_new_integration_with_its_secret_and_reason(
        self, member, client_record
    ):
        browser = browser_as(member)
        data = new_form(
            browser,
            client_record,
            name="Ledger",
            config=json.dumps(LEDGER_CONFIG),
            secret_api_key="example-key-not-real",
            reason="New client onboarding",
        )
        response = browser.post("/integrations/new", data)

        integration = Integration.objects.get(name="Ledger")
        assert response.status_code == 302
        assert response["Location"] == f"/integrations/{integration.pk}"
        assert integration.config == LEDGER_CONFIG
        assert integration.secret_status()["api_key"]["set"]
        entry = integration.history.get()
        assert entry.history_username == "ada"
        assert entry.history_change_reason == "New client onboarding"
        page = browser.get(response["Location"]).content.decode()
        assert "Saved Ledger." in page
        assert "example-key-not-real" not in page

    def test_it_shows_errors_next_to_fields_and_keeps_what_was_typed(
        self, member, client_record
    ):
        browser = browser_as(member)
        typed = {**LEDGER_CONFIG, "api_url": "ftp://nowhere", "retries": 99}
        data = new_form(
            browser,
            client_record,
            name="Ledger",
            description="Typed description",
            config=json.dumps(typed),
            secret_api_key="example-key-not-real",
        )
        response = browser.post("/integrations/new", data)
        html = response.content.decode()

        assert response.status_code == 400
        assert not Integration.objects.exists()
        assert "config.api_url: must start with http:// or https://" in html
        assert "config.retries: must be 10 or less" in html
        assert "Nothing was saved" in html
        values = posted(html)
        assert json.loads(values["config"]) == typed
        assert values["name"] == "Ledger"
        assert values["description"] == "Typed description"
        assert "example-key-not-real" not in html
        assert "type them again" in html

    def test_invalid_json_is_explained_and_kept(self, member, client_record):
        browser = browser_as(member)
        data = new_form(browser, client_record, name="Ledger", config='{"api_url": ')
        response = browser.post("/integrations/new", data)
        assert response.status_code == 400
        assert b"Not valid JSON" in response.content
        assert posted(response.content.decode())["config"] == '{"api_url": '

    def test_it_refuses_nan_which_no_database_stores(self, member, client_record):
        browser = browser_as(member)
        config = json.dumps({**LEDGER_CONFIG}).replace("}", ', "retries": NaN}')
        response = browser.post(
            "/integrations/new",
            new_form(browser, client_record, name="L", config=config),
        )
        assert response.status_code == 400
        assert b"NaN is not valid JSON" in response.content

    def test_a_secret_typed_into_the_json_is_stored_as_a_secret(
        self, member, client_record
    ):
        browser = browser_as(member)
        config = {**LEDGER_CONFIG, "api_key": "example-key-not-real", "retries": -1}
        data = new_form(browser, client_record, name="L", config=json.dumps(config))
        failed = browser.post("/integrations/new", data)
        assert failed.status_code == 400
        assert "example-key-not-real" not in failed.content.decode()

        config["retries"] = 2
        data["config"] = json.dumps(config)
        assert browser.post("/integrations/new", data).status_code == 302
        saved = Integration.objects.get()
        assert "api_key" not in saved.config
        assert saved.secrets.get().value() == "example-key-not-real"

    def test_a_taken_name_is_a_form_error(self, member, client_record, integration):
        browser = browser_as(member)
        data = new_form(
            browser,
            client_record,
            name="ODOO PRODUCTION",
            config=json.dumps(LEDGER_CONFIG),
        )
        response = browser.post("/integrations/new", data)
        assert response.status_code == 400
        assert b"already has an integration with this name" in response.content
        assert Integration.objects.count() == 1

    def test_it_refuses_another_teams_client(self, member, client_record, abuja_team):
        theirs = Client(name="Kano Textiles", team=abuja_team)
        theirs.save()
        browser = browser_as(member)
        data = new_form(
            browser, client_record, name="L", config=json.dumps(LEDGER_CONFIG)
        )
        data["client"] = str(theirs.pk)
        response = browser.post("/integrations/new", data)
        assert response.status_code == 400
        assert b"Select a valid choice" in response.content
        assert not Integration.objects.exists()

    def test_an_unknown_type_is_a_400_that_offers_the_types(self, member):
        response = browser_as(member).get("/integrations/new?type=nope")
        assert response.status_code == 400
        assert b"Choose one of the integration types" in response.content

    def test_a_reader_may_not_create(self, reader, client_record):
        browser = browser_as(reader)
        assert browser.get("/integrations/new").status_code == 403
        assert browser.post("/integrations/new", {}).status_code == 403

    def test_it_leads_to_creating_a_client_when_there_is_none(self, member):
        page = browser_as(member).get("/integrations/new").content.decode()
        assert 'href="/clients/new"' in page


class TestTheIntegrationPage:
    def test_it_shows_config_and_whether_secrets_are_set_never_their_values(
        self, member, client_record
    ):
        integration = Integration(
            client=client_record,
            name="Ledger",
            integration_type="generic_rest",
            config={**LEDGER_CONFIG, "api_key": "example-key-not-real"},
        )
        integration.save()
        page = browser_as(member).get(f"/integrations/{integration.pk}")
        html = page.content.decode()
        assert page.status_code == 200
        assert "http://127.0.0.1:9/ledger" in html
        assert "API key" in html and ">set<" in html
        assert "Bearer token" in html and ">not set<" in html
        assert "example-key-not-real" not in html
        for label in ("Edit", "Clone", "Delete", "History", "Test connection"):
            assert label in html

    def test_a_reader_sees_it_without_the_buttons_that_change_it(
        self, reader, integration
    ):
        html = browser_as(reader).get(f"/integrations/{integration.pk}").content
        assert b"Odoo production" in html
        for label in (b">Edit<", b">Clone<", b">Delete<", b"Test connection"):
            assert label not in html

    def test_another_team_gets_404_on_every_page(self, outsider, integration):
        browser = browser_as(outsider)
        for url in page_urls(integration)[3:]:
            assert browser.get(url).status_code == 404, url
        pk = integration.pk
        assert (
            browser.post(f"/integrations/{pk}/delete", {"version": 1}).status_code
            == 404
        )
        assert (
            browser.post(f"/integrations/{pk}/restore", {"version": 1}).status_code
            == 404
        )
        assert Integration.objects.filter(pk=pk).exists()

    def test_staff_see_every_team(self, staff, integration):
        assert (
            browser_as(staff).get(f"/integrations/{integration.pk}").status_code == 200
        )


class TestEditing:
    def test_it_saves_a_new_version_with_the_reason(self, member, integration):
        browser = browser_as(member)
        config = {**integration.config, "schedule": "hourly"}
        data = edit_form(
            browser, integration, config=json.dumps(config), reason="Faster sync"
        )
        response = browser.post(f"/integrations/{integration.pk}/edit", data)

        assert response.status_code == 302
        integration.refresh_from_db()
        assert integration.version == 2
        assert integration.config["schedule"] == "hourly"
        entry = integration.history.get(version=2)
        assert entry.history_change_reason == "Faster sync"
        assert entry.changed_fields == ["config.schedule"]
        assert b"as v2" in browser.get(response["Location"]).content

    def test_an_unchanged_save_makes_no_version(self, member, integration):
        browser = browser_as(member)
        response = browser.post(
            f"/integrations/{integration.pk}/edit", edit_form(browser, integration)
        )
        assert response.status_code == 302
        integration.refresh_from_db()
        assert integration.version == 1

    def test_secrets_are_kept_replaced_or_cleared(self, member, client_record):
        integration = Integration(
            client=client_record,
            name="Ledger",
            integration_type="generic_rest",
            config={**LEDGER_CONFIG, "api_key": "example-key-not-real"},
        )
        integration.save()
        browser = browser_as(member)
        url = f"/integrations/{integration.pk}/edit"
        page = browser.get(url).content.decode()
        assert "Stored value: <strong>set</strong>" in page
        assert 'name="clear_api_key"' in page

        browser.post(url, edit_form(browser, integration, description="kept"))
        assert integration.secrets.get(name="api_key").value() == "example-key-not-real"

        browser.post(
            url, edit_form(browser, integration, secret_api_key="new-not-real")
        )
        assert integration.secrets.get(name="api_key").value() == "new-not-real"

        browser.post(url, edit_form(browser, integration, clear_api_key="on"))
        assert not integration.secrets.exists()

    def test_a_new_host_needs_the_secret_again(self, member, client_record):
        integration = Integration(
            client=client_record,
            name="Ledger",
            integration_type="generic_rest",
            config={**LEDGER_CONFIG, "api_key": "example-key-not-real"},
        )
        integration.save()
        browser = browser_as(member)
        moved = {**LEDGER_CONFIG, "api_url": "http://127.0.0.2:9/ledger"}
        response = browser.post(
            f"/integrations/{integration.pk}/edit",
            edit_form(browser, integration, config=json.dumps(moved)),
        )
        assert response.status_code == 400
        assert b"now points to another host; enter api_key again" in response.content
        integration.refresh_from_db()
        assert integration.config == LEDGER_CONFIG

    def test_someone_elses_save_in_between_is_shown_not_overwritten(
        self, member, limited_member, integration
    ):
        browser = browser_as(member)
        mine = {**integration.config, "retries": 5}
        data = edit_form(
            browser, integration, config=json.dumps(mine), description="Mine"
        )

        theirs = Integration.objects.get(pk=integration.pk)
        theirs.config = {**theirs.config, "schedule": "weekly"}
        theirs.record_change(limited_member, "Weekly is enough").save()

        response = browser.post(f"/integrations/{integration.pk}/edit", data)
        html = response.content.decode()
        assert response.status_code == 409
        assert "Someone else saved this integration" in html
        assert "chinedu" in html and "Weekly is enough" in html
        assert "config.schedule" in html and "&quot;weekly&quot;" in html
        integration.refresh_from_db()
        assert integration.version == 2
        assert integration.config["retries"] == 3
        values = posted(html)
        assert json.loads(values["config"])["retries"] == 5
        assert values["description"] == "Mine"
        assert values["version"] == "2"

        again = browser.post(f"/integrations/{integration.pk}/edit", values)
        assert again.status_code == 302
        integration.refresh_from_db()
        assert integration.version == 3 and integration.config["retries"] == 5

    def test_a_missing_version_is_a_form_error(self, member, integration):
        browser = browser_as(member)
        data = edit_form(browser, integration)
        del data["version"]
        response = browser.post(f"/integrations/{integration.pk}/edit", data)
        assert response.status_code == 400

    def test_a_reader_may_not_edit(self, reader, integration):
        browser = browser_as(reader)
        assert browser.get(f"/integrations/{integration.pk}/edit").status_code == 403


class TestCloningAndDeleting:
    def test_it_clones_as_a_draft_without_secrets(self, member, integration):
        browser = browser_as(member)
        page = browser.get(f"/integrations/{integration.pk}/clone")
        data = posted(page.content.decode(), name="Odoo staging", reason="Staging")
        response = browser.post(f"/integrations/{integration.pk}/clone", data)

        copy = Integration.objects.get(name="Odoo staging")
        assert response["Location"] == f"/integrations/{copy.pk}"
        assert copy.status == "draft" and copy.config == integration.config
        assert copy.history.get().history_change_reason.startswith(
            "cloned from Odoo production v1"
        )

    def test_a_clone_with_a_taken_name_is_a_form_error(self, member, integration):
        response = browser_as(member).post(
            f"/integrations/{integration.pk}/clone",
            {"name": "odoo production", "client": integration.client_id},
        )
        assert response.status_code == 400
        assert b"already has an integration" in response.content

    def test_it_asks_before_deleting_and_records_the_reason(self, member, integration):
        browser = browser_as(member)
        page = browser.get(f"/integrations/{integration.pk}/delete")
        assert b"Yes, delete it" in page.content
        assert Integration.objects.filter(pk=integration.pk).exists()

        data = posted(page.content.decode(), reason="Client left")
        response = browser.post(f"/integrations/{integration.pk}/delete", data)
        assert response["Location"] == "/integrations"
        assert not Integration.objects.filter(pk=integration.pk).exists()
        entry = Integration.history.filter(id=integration.pk).latest("history_id")
        assert entry.change_type == "deleted"
        assert entry.history_change_reason == "Client left"
        assert entry.history_username == "ada"

    def test_it_refuses_to_delete_a_state_you_have_not_seen(self, member, integration):
        browser = browser_as(member)
        data = posted(
            browser.get(f"/integrations/{integration.pk}/delete").content.decode()
        )
        integration.description = "changed meanwhile"
        integration.record_change(None, "").save()
        response = browser.post(
            f"/integrations/{integration.pk}/delete", data, follow=True
        )
        assert b"Not deleted" in response.content
        assert Integration.objects.filter(pk=integration.pk).exists()

    def test_a_reader_may_neither_clone_nor_delete(self, reader, integration):
        browser = browser_as(reader)
        pk = integration.pk
        assert (
            browser.post(f"/integrations/{pk}/clone", {"name": "x"}).status_code == 403
        )
        assert (
            browser.post(f"/integrations/{pk}/delete", {"version": 1}).status_code
            == 403
        )


def changed_twice(integration: Integration, user) -> Integration:
    for schedule, reason in (("hourly", "Faster"), ("weekly", "Slower")):
        integration.config = {**integration.config, "schedule": schedule}
        integration.record_change(user, reason).save()
    return integration


class TestHistory:
    def test_it_lists_versions_with_who_when_why_and_what(self, member, integration):
        changed_twice(integration, member)
        html = browser_as(member).get(f"/integrations/{integration.pk}/history")
        text = html.content.decode()
        assert html.status_code == 200
        for expected in (
            "v3",
            "v2",
            "v1",
            "Faster",
            "Slower",
            "config.schedule",
            "ada",
        ):
            assert expected in text
        assert text.count("Restore this version") == 2

    def test_it_compares_two_versions_side_by_side(self, member, integration):
        changed_twice(integration, member)
        html = (
            browser_as(member)
            .get(f"/integrations/{integration.pk}/history?a=1&b=3")
            .content.decode()
        )
        assert "v1 and v3 side by side" in html
        row = html.split("<code>config.schedule</code>")[1].split("</tr>")[0]
        assert "&quot;daily&quot;" in row and "&quot;weekly&quot;" in row
        assert ">Compare<" in html

    def test_a_bad_comparison_is_a_400(self, member, integration):
        response = browser_as(member).get(
            f"/integrations/{integration.pk}/history?a=1&b=9"
        )
        assert response.status_code == 400
        assert b"Select a valid choice" in response.content

    def test_it_restores_a_version_with_a_reason(self, member, integration):
        changed_twice(integration, member)
        browser = browser_as(member)
        response = browser.post(
            f"/integrations/{integration.pk}/restore",
            {"version": 1, "reason": "Back to daily"},
        )
        assert response["Location"] == f"/integrations/{integration.pk}/history"
        integration.refresh_from_db()
        assert integration.version == 4 and integration.config["schedule"] == "daily"
        entry = integration.history.get(version=4)
        assert entry.change_type == "rolled_back"
        assert entry.history_change_reason == "Back to daily"
        assert b"Restored v1 as v4" in browser.get(response["Location"]).content

    def test_restoring_needs_the_rollback_permission(self, limited_member, integration):
        changed_twice(integration, limited_member)
        browser = browser_as(limited_member)
        page = browser.get(f"/integrations/{integration.pk}/history")
        assert b"Restore this version" not in page.content
        response = browser.post(
            f"/integrations/{integration.pk}/restore", {"version": 1}
        )
        assert response.status_code == 403
        integration.refresh_from_db()
        assert integration.version == 3

    def test_restoring_a_version_that_does_not_exist_is_a_400(
        self, member, integration
    ):
        response = browser_as(member).post(
            f"/integrations/{integration.pk}/restore", {"version": 42}
        )
        assert response.status_code == 400
        assert b"There is no version 42" in response.content

    def test_restoring_a_name_taken_meanwhile_is_a_409(
        self, member, client_record, integration
    ):
        integration.name = "Renamed"
        integration.record_change(member, "").save()
        Integration(
            client=client_record,
            name="Odoo production",
            integration_type="generic_rest",
            config=LEDGER_CONFIG,
        ).save()
        response = browser_as(member).post(
            f"/integrations/{integration.pk}/restore", {"version": 1}
        )
        assert response.status_code == 409
        assert b"rename it first" in response.content

    def test_a_deleted_integrations_history_stays_readable(self, member, integration):
        pk = integration.pk
        integration.record_change(member, "Gone").delete()
        response = browser_as(member).get(f"/integrations/{pk}/history")
        assert response.status_code == 200
        assert b"was deleted" in response.content
        assert b"Restore this version" not in response.content


class TestUserTextIsShownAsText:
    @pytest.fixture
    def hostile(self, client_record, member):
        integration = Integration(
            client=client_record,
            name=HOSTILE_NAME,
            integration_type="generic_rest",
            description=HOSTILE_VALUE,
            config={**LEDGER_CONFIG, "health_path": "/" + HOSTILE_VALUE},
        )
        integration.save()
        integration.config = {**integration.config, "schedule": HOSTILE_VALUE}
        integration.record_change(member, HOSTILE_NAME).save()
        return integration

    def test_no_page_carries_the_markup_unescaped(self, member, hostile):
        browser = browser_as(member)
        pk = hostile.pk
        for url in [
            "/integrations",
            f"/integrations/{pk}",
            f"/integrations/{pk}/edit",
            f"/integrations/{pk}/clone",
            f"/integrations/{pk}/delete",
            f"/integrations/{pk}/history?a=1&b=2",
            f"/clients/{hostile.client_id}",
        ]:
            html = browser.get(url).content.decode()
            assert "<svg" not in html, url
            assert "<script>alert" not in html, url
            assert html.count("</script>") == html.count("<script"), url

    def test_the_edit_page_hands_the_config_back_intact(self, member, hostile):
        html = browser_as(member).get(f"/integrations/{hostile.pk}/edit").content
        assert json.loads(posted(html.decode())["config"]) == hostile.config


class TestAccessibility:
    def test_pages_have_a_skip_link_labelled_fields_and_a_post_logout(
        self, member, client_record
    ):
        html = (
            browser_as(member)
            .get(f"/integrations/new?type=generic_rest&client={client_record.pk}")
            .content.decode()
        )
        assert 'href="#main"' in html and 'id="main"' in html
        assert '<form method="post" action="/accounts/logout/"' in html
        assert 'name="viewport"' in html
        for field in ("id_client", "id_name", "id_config", "id_secret_api_key"):
            assert f'for="{field}"' in html, field

    def test_staff_get_an_admin_link_and_others_do_not(self, staff, member):
        assert b'href="/admin/"' in browser_as(staff).get("/integrations").content
        assert b'href="/admin/"' not in browser_as(member).get("/integrations").content


def test_a_team_without_clients_sees_an_empty_choice(django_user_model):
    team = Group.objects.create(name="Kaduna team")
    user = django_user_model.objects.create_user("kay", password="pw-for-tests")
    user.groups.add(team)
    assert browser_as(user).get("/integrations").status_code == 200


def test_deeply_nested_raw_json_is_a_form_error(client, member, client_record):
    client.force_login(member)
    deep = "[" * 5000 + "]" * 5000

    response = client.post(
        "/integrations/new?type=generic_rest",
        {
            "integration_type": "generic_rest",
            "client": client_record.pk,
            "name": "Deep",
            "status": "draft",
            "config": '{"a": ' + deep + "}",
        },
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "a\x01b"},
        {"description": "a\x01\x1b[31mb"},
        {
            "config": '{"api_url": "http://127.0.0.1:9/a", "api_url": "http://127.0.0.1:9/b", "auth_method": "none"}'
        },
        {
            "config": '{"api_url": "http://127.0.0.1:9", "auth_method": "none", "health_path": "/\\u0007"}'
        },
    ],
)
def test_the_new_page_refuses_what_the_api_refuses(
    client, member, client_record, changes
):
    client.force_login(member)
    data = {
        "integration_type": "generic_rest",
        "client": client_record.pk,
        "name": "Fine",
        "status": "draft",
        "config": '{"api_url": "http://127.0.0.1:9", "auth_method": "none"}',
        **changes,
    }

    response = client.post("/integrations/new?type=generic_rest", data)

    assert response.status_code == 400
    assert not Integration.objects.filter(client=client_record).exists()


def test_page_discovery_is_throttled_like_the_api(
    client, member, integration, settings
):
    from django.core.cache import cache

    cache.clear()
    settings.CONNECTION_TEST_RATE = "1/min"
    settings.OUTBOUND_LOOPBACK_ONLY = True
    client.force_login(member)
    url = f"/integrations/{integration.pk}/discovery"

    client.post(url, {"action": "discover"})
    response = client.post(url, {"action": "discover"}, follow=True)

    assert b"Too many tests" in response.content
    assert integration.discoveries.count() == 1
