"""Fixtures shared by every app's tests: the people who use the product, and their data."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from clients.models import Client
from integrations.models import Integration


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Made once per run, so that a live server thread and the test agree on the key.
TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def encryption_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]


@pytest.fixture
def lagos_team(db):
    return Group.objects.create(name="Lagos team")


@pytest.fixture
def abuja_team(db):
    return Group.objects.create(name="Abuja team")


def make_user(django_user_model, username, team=None, permissions=(), **extra):
    user = django_user_model.objects.create_user(
        username, password="pw-for-tests", **extra
    )
    if team is not None:
        user.groups.add(team)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


INTEGRATOR_PERMISSIONS = [
    f"{action}_{model}"
    for action in ("add", "change", "delete", "view")
    for model in ("client", "integration")
]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("stella", password="pw-for-tests")


@pytest.fixture
def member(django_user_model, lagos_team):
    """An integrator in the Lagos team who may do everything, testing and rollback too."""
    permissions = [*INTEGRATOR_PERMISSIONS, "test_integration", "rollback_integration"]
    return make_user(django_user_model, "ada", lagos_team, permissions)


@pytest.fixture
def limited_member(django_user_model, lagos_team):
    """A Lagos integrator who may edit but neither test nor roll back."""
    return make_user(django_user_model, "chinedu", lagos_team, INTEGRATOR_PERMISSIONS)


@pytest.fixture
def reader(django_user_model, lagos_team):
    """A Lagos team member without any model permission: may only read."""
    return make_user(django_user_model, "remi", lagos_team)


@pytest.fixture
def outsider(django_user_model, abuja_team):
    """An integrator of another team, with every permission."""
    permissions = [*INTEGRATOR_PERMISSIONS, "test_integration", "rollback_integration"]
    return make_user(django_user_model, "bola", abuja_team, permissions)


def api_as(user=None) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


@pytest.fixture
def client_record(db, lagos_team):
    client = Client(name="Adebayo Foods Ltd", tin="12345678-0001", team=lagos_team)
    client.save()
    return client


@pytest.fixture
def integration(client_record):
    integration = Integration(
        client=client_record,
        name="Odoo production",
        integration_type="generic_rest",
        config={
            "api_url": "http://127.0.0.1:9/api",
            "auth_method": "none",
            "schedule": "daily",
            "timezone": "Africa/Lagos",
            "retries": 3,
            "verify_tls": True,
        },
    )
    integration.save()
    return integration


def shared_fixtures(kind: str) -> Path:
    """A folder of ../shared/fixtures/, found from the checkout upwards.

    The public documents there are kept beside the project, not in it; a checkout
    without them skips the tests that need them, saying why.
    """
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "fixtures" / kind
        if candidate.is_dir():
            return candidate
    pytest.skip(f"shared/fixtures/{kind} was not found above {Path(__file__).parent}")


class FormReader(HTMLParser):
    """Collect the values a browser would submit from the first form with a CSRF token."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.data.setdefault(name, [""])
        elif tag == "select" and name:
            self.select = name
        elif tag == "option" and self.select and "selected" in attrs:
            self.data.setdefault(self.select, []).append(attrs.get("value") or "")

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None


def form_values(html: str) -> dict[str, list[str]]:
    reader = FormReader()
    reader.feed(html)
    return reader.data
