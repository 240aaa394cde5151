"""Any REST API that answers a health check, with a choice of authentication."""

from __future__ import annotations

from integrations.providers.common import (
    ABSOLUTE_PATH,
    HEADER_NAME,
    Template,
    choice,
    config_schema,
    secret,
    text,
    url,
)

SCHEMA = config_schema(
    "Generic REST API",
    {
        "api_url": url(
            "API URL", "Base URL of the API.", ["https://ledger.example.com/api"]
        ),
        "auth_method": choice(
            "Authentication",
            "api_key sends the key in a header, bearer sends a token, basic sends "
            "a user name and password, none sends nothing.",
            ["api_key", "bearer", "basic", "none"],
            "api_key",
        ),
        "api_key_header": {
            **text(
                "API key header",
                "Header that carries the API key.",
                ["X-API-Key"],
                pattern=HEADER_NAME,
                maxLength=100,
            ),
            "default": "X-API-Key",
        },
        "api_key": secret("API key", "Key sent when authentication is api_key."),
        "bearer_token": secret("Bearer token", "Token sent when it is bearer."),
        "username": text(
            "User name", "User sent when authentication is basic.", ["einvoice"]
        ),
        "password": secret("Password", "Password sent when authentication is basic."),
        "health_path": {
            **text(
                "Health check path",
                "Path, below the API URL, that a connection test requests.",
                ["/", "/health"],
                pattern=ABSOLUTE_PATH,
            ),
            "default": "/",
        },
        "retries": {
            "type": "integer",
            "title": "Retries",
            "description": "How many times a failed request is tried again.",
            "minimum": 0,
            "maximum": 10,
            "default": 3,
            "examples": [3],
        },
        "verify_tls": {
            "type": "boolean",
            "title": "Verify TLS certificate",
            "description": "Turn off only for a server with a self-signed certificate.",
            "default": True,
            "examples": [True],
        },
    },
    ["api_url", "auth_method"],
    # The password may already be stored, but a user name is needed to use it.
    condition={
        "if": {
            "properties": {"auth_method": {"const": "basic"}},
            "required": ["auth_method"],
        },
        "then": {"required": ["username"]},
    },
)

TEMPLATE = Template(
    slug="generic_rest",
    name="Generic REST API",
    description="Connects to any REST API with an API key, a bearer token or a password.",
    schema=SCHEMA,
    secret_fields=("api_key", "bearer_token", "password"),
    example={
        "api_url": "https://ledger.enugu-agro.example/api",
        "auth_method": "api_key",
        "api_key_header": "X-API-Key",
        "api_key": "example-api-key-not-real",
        "health_path": "/health",
        "retries": 3,
        "verify_tls": True,
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
)
