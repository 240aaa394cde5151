"""Odoo: XML-RPC up to version 18, the JSON-2 API with a bearer key from version 19."""

from __future__ import annotations

from integrations.providers.common import Template, config_schema, secret, text, url

SCHEMA = config_schema(
    "Odoo",
    {
        "api_url": url(
            "Odoo URL",
            "Address of the Odoo instance, without /xmlrpc or /json.",
            ["https://erp.example.com"],
        ),
        "version": {
            "type": "integer",
            "title": "Odoo version",
            "description": "Major version of the instance; JSON-2 needs 19 or later.",
            "minimum": 8,
            "maximum": 99,
            "examples": [17, 19],
        },
        "protocol": {
            "type": "string",
            "title": "Protocol",
            "description": "xmlrpc works up to version 18 (and 19, deprecated); "
            "json2 is the API of version 19 and later.",
            "enum": ["xmlrpc", "json2"],
            "default": "xmlrpc",
            "examples": ["xmlrpc"],
        },
        "database": text(
            "Database",
            "Name of the Odoo database; needed for XML-RPC, optional for JSON-2 "
            "when the server has only one.",
            ["production"],
        ),
        "username": text(
            "User name",
            "Login of the Odoo user the API key belongs to; needed for XML-RPC.",
            ["einvoice@erp.example.com"],
        ),
        "api_key": secret(
            "API key",
            "API key from the user's Odoo preferences: the password for XML-RPC, "
            "the bearer token for JSON-2.",
        ),
    },
    ["api_url"],
    # XML-RPC logs in with database and user; JSON-2 only exists from version 19.
    condition={
        "if": {
            "properties": {"protocol": {"const": "json2"}},
            "required": ["protocol"],
        },
        "then": {"properties": {"version": {"minimum": 19}}},
        "else": {"required": ["database", "username"]},
    },
)

TEMPLATE = Template(
    slug="odoo",
    name="Odoo",
    description="Reads invoices from Odoo through XML-RPC or, from version 19, JSON-2.",
    schema=SCHEMA,
    secret_fields=("api_key",),
    example={
        "api_url": "https://erp.adebayo-foods.example",
        "version": 17,
        "protocol": "xmlrpc",
        "database": "adebayo",
        "username": "einvoice@adebayo-foods.example",
        "api_key": "example-api-key-not-real",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
)
