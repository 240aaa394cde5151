"""Integration templates: the config each accounting system needs, and its checks.

Each system is one module beside this one declaring TEMPLATE. They are listed by hand
below, so adding a system means adding its import and its line in TEMPLATES.
"""

from __future__ import annotations

import copy
import json
import zoneinfo
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from integrations import outbound, schedules
from integrations.providers import (
    dynamics_365_business_central,
    firs_mbs,
    generic_rest,
    odoo,
    quickbooks_online,
    sage_business_cloud,
    sap_business_one,
    xero,
    zoho_books,
)
from integrations.providers.common import (
    PATTERN_MESSAGES,
    PEM_CERTIFICATE_FORMAT,
    TIME_ZONE_FORMAT,
    Template,
)

__all__ = [
    "TEMPLATES",
    "Template",
    "config_errors",
    "get_template",
    "public_schema",
    "secret_fields_in",
]

TEMPLATES: dict[str, Template] = {
    module.TEMPLATE.slug: module.TEMPLATE
    for module in (
        odoo,
        quickbooks_online,
        xero,
        zoho_books,
        sage_business_cloud,
        sap_business_one,
        dynamics_365_business_central,
        generic_rest,
        firs_mbs,
    )
}

TYPE_WORDS = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}

FORMAT_MESSAGES = {
    "uri": "must be a full URL such as https://erp.example.com, without a user name "
    "or password",
    "uuid": "must be a UUID such as 00000000-0000-0000-0000-000000000000",
    TIME_ZONE_FORMAT: "must be an IANA time zone name such as Africa/Lagos",
    PEM_CERTIFICATE_FORMAT: "must be one or more PEM certificates "
    "(-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
}


def get_template(slug: str) -> Template | None:
    return TEMPLATES.get(slug)


def public_schema(template: Template) -> dict[str, Any]:
    """Return the schema as the API serves it, with every secret marked write-only."""
    schema = copy.deepcopy(template.schema)
    for name in template.secret_fields:
        schema["properties"][name]["writeOnly"] = True
    return schema


def secret_fields_in(config: dict[str, Any], template: Template) -> tuple[str, ...]:
    """Return the template's secret keys present in config, in the template's order."""
    return tuple(name for name in template.secret_fields if name in config)


def config_errors(slug: str, config: Any) -> dict[str, list[str]]:
    """Check config against the template of slug; errors are keyed by JSON path.

    Secrets are never required, so a config whose secrets are stored elsewhere passes.
    An empty result means the config is valid.
    """
    template = TEMPLATES.get(slug)
    if template is None:
        choices = ", ".join(TEMPLATES)
        return {
            "integration_type": [f'unknown type "{slug}"; choose one of: {choices}']
        }

    errors: dict[str, list[str]] = {}
    for error in _validator(slug).iter_errors(config):
        for path, message in _explain(error):
            messages = errors.setdefault(path, [])
            if message not in messages:
                messages.append(message)
    return dict(sorted(errors.items()))


@cache
def _validator(slug: str) -> Draft202012Validator:
    return Draft202012Validator(TEMPLATES[slug].schema, format_checker=FORMAT_CHECKER)


def _path(parts: Any) -> str:
    path = "config"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _words(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _explain(error: ValidationError) -> list[tuple[str, str]]:
    """Turn one jsonschema error into (path, message) pairs in plain words."""
    here = list(error.absolute_path)
    kind, value, schema = error.validator, error.validator_value, error.schema

    # jsonschema reports each missing key and each extra key on the object holding it;
    # people look for the message next to the key itself.
    if kind == "required":
        missing = [name for name in value if name not in error.instance]
        return [(_path([*here, name]), "is required") for name in missing]
    if kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        expected = f"unknown field; expected one of: {', '.join(known)}"
        extra = [name for name in error.instance if name not in known]
        return [(_path([*here, name]), expected) for name in extra]

    return [(_path(here), _message(kind, value, schema, error))]


def _message(kind: str, value: Any, schema: dict, error: ValidationError) -> str:
    if kind == "type":
        kinds = value if isinstance(value, list) else [value]
        return "must be " + " or ".join(TYPE_WORDS.get(k, k) for k in kinds)
    if kind == "enum":
        return "must be one of: " + ", ".join(_words(option) for option in value)
    if kind == "const":
        return f"must be {_words(value)}"
    if kind == "minLength":
        if value == schema.get("maxLength"):
            return f"must be {value} characters"
        return (
            "must not be empty"
            if value == 1
            else f"must be at least {value} characters"
        )
    if kind == "maxLength":
        if value == schema.get("minLength"):
            return f"must be {value} characters"
        return f"must be at most {value} characters"
    if kind == "minimum":
        return f"must be {value} or more"
    if kind == "maximum":
        return f"must be {value} or less"
    if kind == "format":
        return FORMAT_MESSAGES.get(value, f"must be a valid {value}")
    if kind == "pattern":
        return _pattern_message(value, schema)
    return error.message


def _pattern_message(pattern: str, schema: dict) -> str:
    if pattern in PATTERN_MESSAGES:
        return PATTERN_MESSAGES[pattern]
    examples = schema.get("examples")
    if examples:
        return "must look like " + " or ".join(_words(item) for item in examples)
    return "is not in the expected format"


FORMAT_CHECKER = FormatChecker()


# jsonschema checks "uri" only when the optional rfc3987 package is installed, which it
# is not here; the check below is stricter anyway, as a URL must say where to connect.
@FORMAT_CHECKER.checks("uri", raises=ValueError)
def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if any(char.isspace() or ord(char) < 32 for char in value):
        return False
    parts = urlsplit(value)
    parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    no_credentials = parts.username is None and parts.password is None
    if not (parts.scheme in ("http", "https") and parts.hostname and no_credentials):
        return False
    # The outbound client's own check: a URL saved must be one it can use.
    try:
        outbound.check_url(value)
    except outbound.OutboundError:
        return False
    return True


@FORMAT_CHECKER.checks(PEM_CERTIFICATE_FORMAT)
def _is_pem_certificate(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        return bool(x509.load_pem_x509_certificates(value.encode()))
    except ValueError:
        return False


@FORMAT_CHECKER.checks(TIME_ZONE_FORMAT)
def _is_time_zone(value: Any) -> bool:
    # One definition of a valid time zone, shared with the scheduler.
    try:
        schedules.parse_timezone(value)
    except schedules.ScheduleError:
        return not isinstance(value, str)
    return True


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
