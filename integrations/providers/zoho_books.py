"""Zoho Books: the Zoho Books API over OAuth 2.0, in the client's data centre."""

from __future__ import annotations

from integrations.providers.common import (
    Template,
    choice,
    config_schema,
    oauth_client,
    text,
)

# Top-level domain suffix of each Zoho data centre (zohoapis.<suffix>).
DATA_CENTRES = ["com", "eu", "in", "com.au", "jp", "ca", "com.cn", "sa", "uk"]

SCHEMA = config_schema(
    "Zoho Books",
    {
        "data_centre": choice(
            "Data centre",
            "Where the Zoho account lives, as the end of its domain "
            "(zoho.com, zoho.eu, ...); the API host follows from it.",
            DATA_CENTRES,
            "com",
        ),
        **oauth_client("Zoho"),
        "organization_id": text(
            "Organisation ID",
            "ID of the Zoho Books organisation, under Settings > Organisation profile.",
            ["10234695"],
            pattern=r"^[0-9]+$",
            maxLength=32,
        ),
    },
    ["data_centre", "client_id", "organization_id"],
)

TEMPLATE = Template(
    slug="zoho_books",
    name="Zoho Books",
    description="Reads invoices from a Zoho Books organisation in any data centre.",
    schema=SCHEMA,
    secret_fields=("client_secret", "refresh_token"),
    example={
        "data_centre": "com",
        "client_id": "example-client-id",
        "client_secret": "example-client-secret-not-real",
        "refresh_token": "example-refresh-token-not-real",
        "organization_id": "10234695",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
)
