"""Integration templates: schemas, examples, plain-words errors and demo configs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator

from integrations.management.commands.seed_demo import INTEGRATIONS
from integrations.providers import (
    TEMPLATES,
    config_errors,
    get_template,
    public_schema,
    secret_fields_in,
)

ALL = list(TEMPLATES.values())
ids = [template.slug for template in ALL]
each_template = pytest.mark.parametrize("template", ALL, ids=ids)

# Values that are the wrong JSON type for every property a template declares.
WRONG_TYPE = {"string": 42, "integer": "17", "boolean": "yes"}


def without_secrets(template):
    return {
        key: value
        for key, value in template.example.items()
        if key not in template.secret_fields
    }


def test_the_nine_systems_are_listed_under_their_slugs():
    assert list(TEMPLATES) == [
        "odoo",
        "quickbooks_online",
        "xero",
        "zoho_books",
        "sage_business_cloud",
        "sap_business_one",
        "dynamics_365_business_central",
        "generic_rest",
        "firs_mbs",
    ]
    assert all(slug == template.slug for slug, template in TEMPLATES.items())


def test_get_template_finds_known_slugs_only():
    assert get_template("xero") is TEMPLATES["xero"]
    assert get_template("sage") is None


@each_template
def test_every_schema_is_valid_draft_2020_12(template):
    Draft202012Validator.check_schema(template.schema)


@each_template
def test_every_example_validates(template):
    assert config_errors(template.slug, template.example) == {}


@each_template
def test_every_example_validates_with_its_secrets_left_out(template):
    assert config_errors(template.slug, without_secrets(template)) == {}


@each_template
def test_every_example_is_complete(template):
    schema = template.schema
    assert set(schema["required"]) <= set(template.example)
    assert set(template.secret_fields) & set(template.example)
    assert {"schedule", "timezone"} <= set(template.example)


@each_template
def test_every_property_is_documented(template):
    for name, prop in template.schema["properties"].items():
        assert prop["title"] and prop["description"], name
        assert "examples" in prop or prop.get("writeOnly"), name
    assert template.name and template.description.endswith(".")


@each_template
def test_secrets_are_never_required(template):
    assert not set(template.secret_fields) & set(template.schema["required"])
    for name in template.secret_fields:
        assert template.schema["properties"][name]["type"] == "string"


@each_template
def test_origin_fields_are_url_properties(template):
    for name in template.origin_fields:
        assert template.schema["properties"][name]["format"] == "uri"
        assert name == "api_url"


@each_template
def test_a_broken_copy_fails_at_its_json_path(template):
    for name, prop in template.schema["properties"].items():
        broken = {**template.example, name: WRONG_TYPE[prop["type"]]}

        errors = config_errors(template.slug, broken)

        assert list(errors) == [f"config.{name}"]
        assert errors[f"config.{name}"][0].startswith("must be ")


@each_template
def test_a_missing_required_field_is_reported_at_its_own_path(template):
    for name in template.schema["required"]:
        config = {k: v for k, v in template.example.items() if k != name}

        assert config_errors(template.slug, config) == {
            f"config.{name}": ["is required"]
        }


@each_template
def test_a_typo_is_reported_as_an_unknown_field_with_the_expected_ones(template):
    config = {**template.example, "shedule": "daily"}

    (message,) = config_errors(template.slug, config)["config.shedule"]

    assert message.startswith("unknown field; expected one of: ")
    assert "schedule" in message


def test_an_unknown_type_names_the_known_ones():
    errors = config_errors("sage", {})

    assert list(errors) == ["integration_type"]
    assert errors["integration_type"][0].startswith(
        'unknown type "sage"; choose one of: odoo, quickbooks_online, xero'
    )


def test_a_config_that_is_not_an_object_is_a_top_level_error():
    assert config_errors("xero", ["client_id"]) == {"config": ["must be an object"]}


@pytest.mark.parametrize(
    ("slug", "changes", "expected"),
    [
        (
            "quickbooks_online",
            {"environment": "live"},
            {"config.environment": ["must be one of: sandbox, production"]},
        ),
        (
            "firs_mbs",
            {"service_id": "DEMO01"},
            {"config.service_id": ["must be 8 characters"]},
        ),
        (
            "firs_mbs",
            {"tin": "12345678"},
            {"config.tin": ["must look like 12345678-0001 or 1234567890"]},
        ),
        (
            "firs_mbs",
            {"environment": "production", "api_url": None},
            {"config.api_url": ["is required"]},
        ),
        (
            "odoo",
            {"protocol": "json2", "version": 17},
            {"config.version": ["must be 19 or more"]},
        ),
        (
            "generic_rest",
            {"auth_method": "basic"},
            {"config.username": ["is required"]},
        ),
        (
            "generic_rest",
            {"health_path": "health"},
            {"config.health_path": ["must start with /"]},
        ),
        (
            "sap_business_one",
            {"verify_tls": "false"},
            {"config.verify_tls": ["must be true or false"]},
        ),
        (
            "xero",
            {"tenant_id": "my-org"},
            {
                "config.tenant_id": [
                    "must be a UUID such as 00000000-0000-0000-0000-000000000000"
                ]
            },
        ),
        (
            "odoo",
            {"timezone": "Lagos"},
            {
                "config.timezone": [
                    "must be an IANA time zone name such as Africa/Lagos"
                ]
            },
        ),
        (
            "zoho_books",
            {"data_centre": "zoho.eu"},
            {
                "config.data_centre": [
                    "must be one of: com, eu, in, com.au, jp, ca, com.cn, sa, uk"
                ]
            },
        ),
    ],
)
def test_each_error_says_what_is_expected_in_plain_words(slug, changes, expected):
    config = {**TEMPLATES[slug].example, **changes}
    config = {key: value for key, value in config.items() if value is not None}

    assert config_errors(slug, config) == expected


@pytest.mark.parametrize(
    "api_url",
    [
        "ftp://erp.example.com",
        "https://",
        "erp.example.com",
        "https://admin:hunter2@erp.example.com",
        "https://erp.example.com:port",
        "https://erp.example.com/ path",
    ],
)
def test_a_url_must_say_where_to_connect_and_carry_no_credentials(api_url):
    config = {**TEMPLATES["generic_rest"].example, "api_url": api_url}

    assert list(config_errors("generic_rest", config)) == ["config.api_url"]


def test_a_config_with_nested_values_reports_nested_paths():
    config = {**TEMPLATES["odoo"].example, "version": {"major": 17}}

    assert config_errors("odoo", config) == {
        "config.version": ["must be a whole number"]
    }


def demo_configs():
    """Yield every config the demo data saves, after each of its later changes too."""
    for _client, name, kind, _description, config, changes in INTEGRATIONS:
        yield pytest.param(kind, config, id=name)
        for _user, reason, fields in changes:
            fields = {
                k: v for k, v in fields.items() if k not in ("status", "description")
            }
            config = {**config, **fields}
            yield pytest.param(kind, config, id=f"{name}: {reason}")


@pytest.mark.parametrize(("slug", "config"), list(demo_configs()))
def test_demo_configs_validate_without_secrets(slug, config):
    assert config_errors(slug, config) == {}


def test_the_shared_test_integration_config_validates(integration):
    assert config_errors(integration.integration_type, integration.config) == {}


@each_template
def test_the_public_schema_marks_secrets_write_only_and_is_a_copy(template):
    schema = public_schema(template)

    for name in template.secret_fields:
        assert schema["properties"][name]["writeOnly"] is True
    schema["properties"].clear()
    assert template.schema["properties"]


@each_template
def test_examples_hold_no_real_looking_secrets_or_hosts(template):
    for name in template.secret_fields:
        if name in template.example:
            assert re.fullmatch(r"example-[a-z-]+-not-real", template.example[name])
    for name in template.origin_fields:
        host = urlsplit(template.example[name]).hostname
        assert host.endswith(".example"), host


def test_secret_fields_in_lists_the_secrets_a_config_carries():
    template = TEMPLATES["generic_rest"]
    config = {"api_url": "https://x.example", "password": "p", "api_key": "k"}

    assert secret_fields_in(config, template) == ("api_key", "password")
    assert secret_fields_in({}, template) == ()
