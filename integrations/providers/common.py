"""Schema pieces every integration template shares: URLs, secrets, schedule, time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Not a standard JSON Schema format: validators that do not know it ignore it, and
# config_errors registers a check for it against the IANA time zone database.
TIME_ZONE_FORMAT = "iana-time-zone"
PEM_CERTIFICATE_FORMAT = "pem-certificate"

URL_PATTERN = r"^https?://"
LETTERS_AND_DIGITS = r"^[A-Za-z0-9]*$"
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"
ABSOLUTE_PATH = r"^/"

# Plain-words messages for patterns whose examples alone would not explain them.
PATTERN_MESSAGES = {
    URL_PATTERN: "must start with http:// or https://",
    LETTERS_AND_DIGITS: "must contain only letters and digits",
    HEADER_NAME: "must be an HTTP header name such as X-API-Key (no spaces or colons)",
    ABSOLUTE_PATH: "must start with /",
}


@dataclass(frozen=True)
class Template:
    """What the product knows about one accounting system: its config and secrets."""

    slug: str
    name: str
    description: str
    schema: dict[str, Any]
    secret_fields: tuple[str, ...]
    example: dict[str, Any]
    # Config keys whose URL scheme, host and port are where requests go.
    origin_fields: tuple[str, ...] = ()
    # The connection test: probe(check) -> Outcome (see integrations.connection_tests).
    probe: Callable[..., Any] | None = None
    # What to do, per failed status, in this system's terms.
    hints: dict[str, str] = field(default_factory=dict)
    # The endpoints the probe and the product use, shown without discovery.
    endpoints: tuple[str, ...] = ()


def url(title: str, description: str, examples: list[str]) -> dict[str, Any]:
    """Return an http(s) URL property."""
    return {
        "type": "string",
        "title": title,
        "description": description,
        "format": "uri",
        "pattern": URL_PATTERN,
        "maxLength": 2000,
        "examples": examples,
    }


def text(title: str, description: str, examples: list[str], **rules: Any) -> dict:
    """Return a non-empty string property; rules add keywords such as pattern."""
    return {
        "type": "string",
        "title": title,
        "description": description,
        "minLength": 1,
        "maxLength": 500,
        "examples": examples,
        **rules,
    }


def choice(title: str, description: str, options: list[str], default: str) -> dict:
    return {
        "type": "string",
        "title": title,
        "description": description,
        "enum": options,
        "default": default,
        "examples": [default],
    }


def secret(title: str, description: str) -> dict[str, Any]:
    """Return a secret property: write-only, so the API never sends it back."""
    return {
        "type": "string",
        "title": title,
        "description": description,
        "minLength": 1,
        "maxLength": 4000,
        "writeOnly": True,
    }


def uuid(title: str, description: str, example: str) -> dict[str, Any]:
    return {
        "type": "string",
        "title": title,
        "description": description,
        "format": "uuid",
        "examples": [example],
    }


def environment(description: str) -> dict[str, Any]:
    return choice("Environment", description, ["sandbox", "production"], "sandbox")


def oauth_client(system: str) -> dict[str, dict[str, Any]]:
    """Return the client ID, client secret and refresh token of an OAuth 2.0 app."""
    return {
        "client_id": text(
            "Client ID",
            f"Client ID of the OAuth 2.0 app registered with {system}.",
            ["example-client-id"],
        ),
        "client_secret": secret(
            "Client secret",
            f"Client secret of the OAuth 2.0 app registered with {system}.",
        ),
        "refresh_token": secret(
            "Refresh token",
            f"Refresh token from the {system} consent screen; it is replaced "
            "whenever the system issues a new one.",
        ),
    }


# The secrets of an oauth_client(), and example values for its three fields.
OAUTH_SECRETS = ("client_secret", "refresh_token")
OAUTH_EXAMPLE = {
    "client_id": "example-client-id",
    "client_secret": "example-client-secret-not-real",
    "refresh_token": "example-refresh-token-not-real",
}


SCHEDULE = {
    "type": "string",
    "title": "Schedule",
    "description": "How often new invoices are fetched, such as hourly, daily or weekly.",
    "minLength": 1,
    "maxLength": 100,
    "default": "daily",
    "examples": ["hourly", "daily", "weekly"],
}

TIME_ZONE = {
    "type": "string",
    "title": "Time zone",
    "description": "IANA time zone the schedule runs in.",
    "format": TIME_ZONE_FORMAT,
    "default": "Africa/Lagos",
    "examples": ["Africa/Lagos", "UTC"],
}


def config_schema(
    title: str,
    properties: dict[str, dict[str, Any]],
    required: list[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the schema of a config object: the system's fields plus the shared ones.

    Unknown keys are refused so that a typo such as "api_ulr" is caught instead of
    silently ignored. A condition holds if/then/else keywords for fields that depend
    on another field's value.
    """
    return {
        "$schema": DIALECT,
        "title": title,
        "type": "object",
        "properties": {**properties, "schedule": SCHEDULE, "timezone": TIME_ZONE},
        "required": required,
        "additionalProperties": False,
        **(condition or {}),
    }
