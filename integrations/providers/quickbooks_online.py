"""QuickBooks Online: the Intuit accounting API over OAuth 2.0."""

from __future__ import annotations

from integrations.providers.common import (
    Template,
    config_schema,
    environment,
    oauth_client,
    text,
)

SCHEMA = config_schema(
    "QuickBooks Online",
    {
        "environment": environment(
            "Intuit sandbox companies or live ones; the API host follows from it."
        ),
        **oauth_client("Intuit"),
        "realm_id": text(
            "Company ID (realm ID)",
            "Number of the QuickBooks company, shown after connecting the app.",
            ["9130000000000000"],
            pattern=r"^[0-9]+$",
            maxLength=32,
        ),
    },
    # client_id stays optional: rows created before it was asked for lack it.
    ["environment", "realm_id"],
)

TEMPLATE = Template(
    slug="quickbooks_online",
    name="QuickBooks Online",
    description="Reads invoices and credit notes from a QuickBooks Online company.",
    schema=SCHEMA,
    secret_fields=("client_secret", "refresh_token"),
    example={
        "environment": "sandbox",
        "client_id": "example-client-id",
        "client_secret": "example-client-secret-not-real",
        "refresh_token": "example-refresh-token-not-real",
        "realm_id": "9130000000000000",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
)
