"""The integrator pages for clients, through Django's test client, by persona."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client as Browser

from clients.models import Client
from conftest import form_values
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def browser_as(user=None) -> Browser:
    browser = Browser()
    if user is not None:
        browser.force_login(user)
    return browser


def posted(html: str, **changes) -> dict[str, str]:
    values = {
        name: items[-1].removeprefix("\n") for name, items in form_values(html).items()
    }
    values.update(changes)
    return values


class TestAnonymousVisitor:
    def test_it_sends_every_client_page_to_the_login_page(self, client_record):
        pk = client_record.pk
        for url in [
            "/clients",
            "/clients/new",
            f"/clients/{pk}",
            f"/clients/{pk}/edit",
        ]:
            response = browser_as().get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/accounts/login/"), url


class TestTheList:
    def test_it_shows_the_teams_clients_with_their_health(self, member, integration):
        Integration.objects.filter(pk=integration.pk).update(
            last_test_status="timeout", last_tested_at=datetime.now(UTC)
        )
        html = browser_as(member).get("/clients").content.decode()
        assert "Adebayo Foods Ltd" in html and "12345678-0001" in html
        assert "1 failing" in html and "0 ok" in html

    def test_it_searches_by_name_or_tin(self, member, client_record, lagos_team):
        Client(name="Enugu Agro", tin="1234567890", team=lagos_team).save()
        browser = browser_as(member)
        assert b"Enugu Agro" not in browser.get("/clients?q=adebayo").content
        assert b"Adebayo" not in browser.get("/clients?q=1234567890").content

    def test_another_team_sees_an_empty_list(self, outsider, client_record):
        html = browser_as(outsider).get("/clients").content.decode()
        assert "Adebayo" not in html and "No clients yet" in html


class TestCreating:
    def test_a_member_creates_a_client_for_their_team_with_a_reason(
        self, member, lagos_team
    ):
        browser = browser_as(member)
        html = browser.get("/clients/new").content.decode()
        assert "Abuja team" not in html
        data = posted(html, name="Kano Textiles", tin="", reason="Signed today")
        response = browser.post("/clients/new", data)

        client = Client.objects.get(name="Kano Textiles")
        assert response["Location"] == f"/clients/{client.pk}"
        assert client.team == lagos_team and client.tin is None
        entry = client.history.get()
        assert entry.history_username == "ada"
        assert entry.history_change_reason == "Signed today"
        assert (
            b"Saved client Kano Textiles." in browser.get(response["Location"]).content
        )

    def test_it_refuses_another_teams_team(self, member, abuja_team):
        response = browser_as(member).post(
            "/clients/new", {"name": "Kano", "team": abuja_team.pk}
        )
        assert response.status_code == 400
        assert not Client.objects.filter(name="Kano").exists()

    def test_a_taken_name_or_a_bad_tin_is_a_form_error(self, member, client_record):
        browser = browser_as(member)
        data = posted(
            browser.get("/clients/new").content.decode(),
            name="ADEBAYO FOODS LTD",
            tin="123",
        )
        response = browser.post("/clients/new", data)
        html = response.content.decode()
        assert response.status_code == 400
        assert "A client with this name already exists" in html
        assert "Enter a Nigerian TIN" in html
        assert posted(html)["name"] == "ADEBAYO FOODS LTD"

    def test_a_reader_may_not_create(self, reader):
        assert browser_as(reader).get("/clients/new").status_code == 403


class TestTheClientPage:
    def test_it_lists_the_integrations_and_their_health(self, member, integration):
        html = browser_as(member).get(f"/clients/{integration.client_id}").content
        assert b"Odoo production" in html and b"never tested" in html
        assert b"/integrations/new?client=" in html

    def test_another_team_gets_404(self, outsider, client_record):
        browser = browser_as(outsider)
        assert browser.get(f"/clients/{client_record.pk}").status_code == 404
        assert browser.get(f"/clients/{client_record.pk}/edit").status_code == 404
        assert browser.post(f"/clients/{client_record.pk}/edit", {}).status_code == 404


class TestEditing:
    def test_it_saves_with_a_reason(self, member, client_record):
        browser = browser_as(member)
        url = f"/clients/{client_record.pk}/edit"
        data = posted(browser.get(url).content.decode(), phone="+234 1 234 5678")
        data["reason"] = "New number"
        assert browser.post(url, data).status_code == 302
        client_record.refresh_from_db()
        assert client_record.phone == "+234 1 234 5678"
        assert client_record.history.latest().history_change_reason == "New number"

    def test_it_can_deactivate_a_client(self, member, client_record):
        browser = browser_as(member)
        url = f"/clients/{client_record.pk}/edit"
        data = posted(browser.get(url).content.decode())
        del data["is_active"]
        browser.post(url, data)
        client_record.refresh_from_db()
        assert client_record.is_active is False

    def test_a_reader_may_not_edit(self, reader, client_record):
        response = browser_as(reader).get(f"/clients/{client_record.pk}/edit")
        assert response.status_code == 403

    def test_a_hostile_name_is_shown_as_text(self, staff):
        Client(name="<svg onload=alert(1)>").save()
        for url in ["/clients", f"/clients/{Client.objects.get().pk}"]:
            html = browser_as(staff).get(url).content.decode()
            assert "<svg" not in html and "&lt;svg onload=alert(1)&gt;" in html
