"""Bad input to every write endpoint: a 4xx naming what to fix, and nothing changed.

One table lists the write endpoints with a valid body and the fields they take. Each
field is sent with values of the wrong type, empty and huge values, NUL and control
characters and lone surrogates; each body is also sent as invalid UTF-8, deeply nested,
oversized, with duplicate or unknown keys, and with ids of another team's objects. The
acting user is a Lagos integrator with every permission, so no answer is a 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from clients.models import Client
from conftest import api_as
from integrations.models import ConnectionTest, Integration, IntegrationSecret

pytestmark = pytest.mark.django_db

CONFIG = {"api_url": "http://127.0.0.1:9/api", "auth_method": "none"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: (
        str  # text, line (single-line text), id, integer, boolean, choice, object, ids
    )
    must_not_be_empty: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Endpoint:
    label: str
    method: str
    path: Callable[[SimpleNamespace], str]
    body: Callable[[SimpleNamespace], dict]
    fields: tuple[Field, ...]


REASON = Field("reason", "text", max_length=500)
CLIENT_FIELDS = (
    Field("name", "line", must_not_be_empty=True, max_length=200),
    Field("tin", "line", max_length=13),
    Field("contact_email", "line"),
    Field("phone", "line", max_length=40),
    Field("address", "text"),
    Field("team", "id"),
    Field("is_active", "boolean"),
    REASON,
)
INTEGRATION_FIELDS = (
    Field("client", "id"),
    Field("name", "line", must_not_be_empty=True, max_length=200),
    Field("integration_type", "choice"),
    Field("description", "text"),
    Field("config", "object"),
    Field("status", "choice"),
    Field("version", "integer"),
    REASON,
)


def new_client(world) -> dict:
    return {"name": "Lekki Bakery", "team": world.lagos_team.pk}


def new_integration(world) -> dict:
    return {
        "client": world.lagos_client.pk,
        "name": "Sage",
        "integration_type": "generic_rest",
        "config": CONFIG,
    }


def full_integration(world) -> dict:
    return {**new_integration(world), "name": world.integration.name}


def integration_path(suffix: str = "") -> Callable[[SimpleNamespace], str]:
    return lambda world: f"/api/integrations/{world.integration.pk}{suffix}"


def client_path(world) -> str:
    return f"/api/clients/{world.lagos_client.pk}"


ENDPOINTS = [
    Endpoint(
        "create client",
        "POST",
        lambda world: "/api/clients",
        new_client,
        CLIENT_FIELDS,
    ),
    Endpoint("patch client", "PATCH", client_path, lambda world: {}, CLIENT_FIELDS),
    Endpoint(
        "put client",
        "PUT",
        client_path,
        lambda world: {"name": world.lagos_client.name, "team": world.lagos_team.pk},
        CLIENT_FIELDS,
    ),
    Endpoint(
        "create integration",
        "POST",
        lambda world: "/api/integrations",
        new_integration,
        INTEGRATION_FIELDS,
    ),
    Endpoint(
        "patch integration",
        "PATCH",
        integration_path(),
        lambda world: {},
        INTEGRATION_FIELDS,
    ),
    Endpoint(
        "put integration",
        "PUT",
        integration_path(),
        full_integration,
        INTEGRATION_FIELDS,
    ),
    Endpoint(
        "clone",
        "POST",
        integration_path("/clone"),
        lambda world: {"name": "Copy"},
        (
            Field("name", "line", must_not_be_empty=True, max_length=200),
            Field("client", "id"),
            REASON,
        ),
    ),
    Endpoint(
        "rollback",
        "POST",
        integration_path("/rollback"),
        lambda world: {"version": 1},
        (Field("version", "integer"), REASON),
    ),
    Endpoint(
        "test a draft",
        "POST",
        lambda world: "/api/integration-types/generic_rest/test",
        lambda world: {"config": CONFIG},
        (Field("config", "object"), Field("integration", "integer")),
    ),
    Endpoint(
        "test many",
        "POST",
        lambda world: "/api/integrations/test",
        # No ids: testing in worker threads needs committed rows (see the guard below).
        lambda world: {"ids": []},
        (Field("ids", "ids"),),
    ),
]

WRONG_TYPES = {
    "text": [5, 1.5, True, [], {}],
    "line": [5, 1.5, True, [], {}],
    "id": ["1", 1.5, True, [], {}],
    "integer": ["1", 1.5, True, [], {}],
    "boolean": ["true", 1, 0, "yes", []],
    "choice": [1, True, [], {}, "no such choice"],
    "object": [[], "text", 3, True],
    "ids": ["1", 5, {"0": 1}, ["x"], [1.5], [True]],
}
HUGE_NUMBERS = [2**63, 10**30, -(2**63) - 1]
CONTROL_CHARACTERS = ["a\x07b", "\x1b[31mred", "a\rb", "a\x7fb", "a\u202eb"]
LONE_SURROGATE = "\ud800"


def bad_values(field: Field) -> list[tuple[str, object]]:
    """(what, value) pairs that this field must refuse."""
    cases = [(f"wrong type {value!r}"[:40], value) for value in WRONG_TYPES[field.kind]]
    if field.must_not_be_empty:
        cases += [("empty", ""), ("blank", "   ")]
    if field.kind in ("text", "line"):
        cases += [("NUL", "a\x00b"), ("lone surrogate", f"a{LONE_SURROGATE}b")]
        if field.max_length:
            cases.append(("huge", "x" * (field.max_length + 1)))
            cases.append(("very huge", "x" * 200_000))
    if field.kind == "line":
        cases += [(f"control {value!r}", value) for value in CONTROL_CHARACTERS]
    if field.kind in ("id", "integer"):
        cases += [(f"huge {value}", value) for value in HUGE_NUMBERS]
        cases += [("zero", 0), ("negative", -1)] if field.kind == "integer" else []
    if field.kind == "ids":
        cases += [("huge id", [2**63]), ("too many ids", list(range(1, 1100)))]
    if field.kind == "object":
        cases += [
            ("NUL in a value", {**CONFIG, "api_url": "http://127.0.0.1:9/\x00"}),
            ("NUL in a key", {**CONFIG, "a\x00b": 1}),
            (
                "lone surrogate",
                {**CONFIG, "api_url": f"http://127.0.0.1:9/{LONE_SURROGATE}"},
            ),
        ]
    return cases


FIELD_CASES = [
    pytest.param(
        endpoint,
        field,
        value,
        id=f"{endpoint.label}-{field.name}-{what}",
    )
    for endpoint in ENDPOINTS
    for field in endpoint.fields
    for what, value in bad_values(field)
]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def body_level_cases(body: dict) -> list[tuple[str, bytes, int]]:
    """(what, raw body, expected status) for a whole body that is wrong."""
    text = json.dumps(body)
    opened = text[:-1] + (", " if body else "")
    return [
        ("invalid UTF-8", opened.encode() + b'"reason": "\xff\xfe\xc3"}', 400),
        ("overlong UTF-8", opened.encode() + b'"reason": "\xc0\xaf"}', 400),
        ("deeply nested", f'{opened}"reason": {nested(100_000)}}}'.encode(), 400),
        ("oversized", f'{opened}"reason": "{"x" * (1024 * 1024)}"}}'.encode(), 413),
        ("duplicate keys", f'{opened}"reason": "a", "reason": "b"}}'.encode(), 400),
        ("not an object", b"[]", 400),
        ("a bare string", b'"text"', 400),
        ("NaN", f'{opened}"reason": NaN}}'.encode(), 400),
        ("truncated", text[:-1].encode(), 400),
    ]


BODY_CASES = [
    pytest.param(
        endpoint,
        what,
        id=f"{endpoint.label}-{what}",
    )
    for endpoint in ENDPOINTS
    for what, _, _ in body_level_cases({})
]


@pytest.fixture(autouse=True)
def unthrottled(settings):
    # Hundreds of bad requests to the test endpoints must meet validation, not a 429.
    settings.CONNECTION_TEST_RATE = "100000/min"
    cache.clear()


@pytest.fixture
def world(member, client_record, integration, lagos_team, abuja_team):
    abuja_client = Client(name="Kano Textiles Plc", team=abuja_team)
    abuja_client.save()
    abuja_integration = Integration(
        client=abuja_client, name="Xero", integration_type="generic_rest", config=CONFIG
    )
    abuja_integration.save()
    return SimpleNamespace(
        user=member,
        lagos_team=lagos_team,
        abuja_team=abuja_team,
        lagos_client=client_record,
        integration=integration,
        abuja_client=abuja_client,
        abuja_integration=abuja_integration,
    )


def snapshot() -> tuple:
    """Everything a write could change: row counts, history and object states."""
    return (
        Client.objects.count(),
        Client.history.count(),
        Integration.objects.count(),
        Integration.history.count(),
        IntegrationSecret.objects.count(),
        ConnectionTest.objects.count(),
        sorted(
            Client.objects.values_list("pk", "name", "tin", "team_id", "updated_at")
        ),
        sorted(
            Integration.objects.values_list(
                "pk", "name", "version", "config", "status", "updated_at"
            )
        ),
    )


def send(world, endpoint: Endpoint, raw: bytes):
    return api_as(world.user).generic(
        endpoint.method,
        endpoint.path(world),
        raw,
        content_type="application/json",
    )


def assert_refused(response, before, status: int = 400, field: str | None = None):
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and body, body
    if field is not None:
        assert any(key == field or key.startswith(f"{field}.") for key in body), body
        assert all(message for message in body.values()), body
    else:
        assert body.get("detail") or body.get("non_field_errors"), body
    assert snapshot() == before


@pytest.mark.parametrize("endpoint, field, value", FIELD_CASES)
def test_it_refuses_a_bad_field_value_by_name_and_changes_nothing(
    world, endpoint, field, value
):
    body = {**endpoint.body(world), field.name: value}
    before = snapshot()

    # Python's encoder writes a lone surrogate as the escape \ud800, as a client would.
    response = send(world, endpoint, json.dumps(body).encode())

    assert_refused(response, before, field=field.name)


@pytest.mark.parametrize("endpoint, what", BODY_CASES)
def test_it_refuses_a_malformed_body_and_changes_nothing(world, endpoint, what):
    cases = {name: (raw, status) for name, raw, status in body_level_cases({})}
    valid = endpoint.body(world)
    cases.update({name: (raw, status) for name, raw, status in body_level_cases(valid)})
    raw, status = cases[what]
    before = snapshot()

    response = send(world, endpoint, raw)

    assert_refused(response, before, status=status)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.label)
def test_it_names_an_unknown_field_and_changes_nothing(world, endpoint):
    body = {**endpoint.body(world), "surprise": 1}
    before = snapshot()

    response = send(world, endpoint, json.dumps(body).encode())

    assert_refused(response, before, field="surprise")


def other_team_cases():
    """(endpoint label, field, value from world) that point into the Abuja team."""
    return [
        ("create client", "team", lambda world: world.abuja_team.pk),
        ("patch client", "team", lambda world: world.abuja_team.pk),
        ("create integration", "client", lambda world: world.abuja_client.pk),
        ("patch integration", "client", lambda world: world.abuja_client.pk),
        ("put integration", "client", lambda world: world.abuja_client.pk),
        ("clone", "client", lambda world: world.abuja_client.pk),
        ("test a draft", "integration", lambda world: world.abuja_integration.pk),
        ("test many", "ids", lambda world: [world.abuja_integration.pk]),
    ]


@pytest.mark.parametrize(
    "label, field, value",
    other_team_cases(),
    ids=[f"{label}-{field}" for label, field, _ in other_team_cases()],
)
def test_it_refuses_ids_of_another_teams_objects(world, label, field, value):
    endpoint = next(endpoint for endpoint in ENDPOINTS if endpoint.label == label)
    body = {**endpoint.body(world), field: value(world)}
    before = snapshot()

    response = send(world, endpoint, json.dumps(body).encode())

    assert_refused(response, before, field=field)
    assert "Kano" not in response.content.decode(), "another team's name leaked"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.label)
def test_the_valid_body_of_the_table_is_accepted(world, endpoint):
    """Guards the table itself: without this, every refusal could be for another reason."""
    response = send(world, endpoint, json.dumps(endpoint.body(world)).encode())

    assert response.status_code in (200, 201), response.content[:500]
