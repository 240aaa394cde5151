"""SAP Business One: the Service Layer REST API with a company user and password."""

from __future__ import annotations

from integrations.providers.common import Template, config_schema, secret, text, url

SCHEMA = config_schema(
    "SAP Business One",
    {
        "api_url": url(
            "Service Layer URL",
            "Base URL of the Service Layer, including /b1s/v1 or /b1s/v2.",
            ["https://sap.example.com:50000/b1s/v2"],
        ),
        "company_db": text(
            "Company database",
            "Name of the company database to log in to.",
            ["SBODEMOUS"],
        ),
        "username": text("User name", "SAP Business One user.", ["manager"]),
        "password": secret("Password", "Password of the SAP Business One user."),
        "verify_tls": {
            "type": "boolean",
            "title": "Verify TLS certificate",
            "description": "Turn off only for an on-premise server with a self-signed "
            "certificate; the connection is then open to interception.",
            "default": True,
            "examples": [True],
        },
    },
    ["api_url", "company_db", "username"],
)

TEMPLATE = Template(
    slug="sap_business_one",
    name="SAP Business One",
    description="Reads A/R invoices from SAP Business One through its Service Layer.",
    schema=SCHEMA,
    secret_fields=("password",),
    example={
        "api_url": "https://sap.kano-textiles.example:50000/b1s/v2",
        "company_db": "KANO_TEXTILES",
        "username": "einvoice",
        "password": "example-password-not-real",
        "verify_tls": True,
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
)
