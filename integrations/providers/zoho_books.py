"""Zoho Books: the Zoho Books API over OAuth 2.0, in the client's data centre."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from integrations.probing import (
    Check,
    Outcome,
    ProbeFailed,
    describe_body,
    folded_json,
    http_failure,
    service_urls,
)
from integrations.providers.common import (
    OAUTH_EXAMPLE,
    OAUTH_SECRETS,
    Template,
    choice,
    config_schema,
    oauth_client,
    text,
)
from integrations.providers.oauth import (
    TokenEndpoint,
    bearer,
    refresh_access_token,
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


# "{dc}" is replaced by the data centre's domain suffix.
DEFAULT_URLS = {
    "token": "https://accounts.zoho.{dc}/oauth/v2/token",
    "api": "https://www.zohoapis.{dc}",
}

HINTS = {
    "auth_failed": "Zoho rejected the access token. The app may lack the "
    "ZohoBooks.settings.READ scope, or the account lives in another data centre: "
    "set data_centre to the end of the accounts server the account signs in to "
    "(accounts.zoho.eu means eu), and reconnect if needed.",
    "verification_failed": "This user cannot reach the organisation. Copy the "
    "organisation ID from Zoho Books under Settings > Organisation profile, or from "
    "the organisations the result lists.",
    "rate_limited": "Zoho Books allows 100 requests a minute per organisation and a "
    "daily quota by plan (about 1,000 on Free up to 10,000), and at most 10 new "
    "access tokens per 10 minutes. Wait and test again.",
    "server_error": "Zoho Books had an internal error. Test again later.",
    "unexpected_response": "The answer was not the Zoho Books JSON API. Test again; "
    "if it lasts, an outbound proxy may be rewriting the traffic.",
}

TOKEN_HINTS = {
    "invalid_code": "Zoho no longer accepts the stored refresh token: it was revoked "
    "or the user removed the app. Authorise the app again in the Zoho API console "
    "and save the new refresh token.",
    "invalid_client": "Zoho did not accept the client ID and secret in this data "
    "centre. Copy them again from the Zoho API console, and check data_centre: a "
    "client registered at accounts.zoho.eu is unknown at accounts.zoho.com.",
    "rate_limited": "Zoho issues at most 10 access tokens per 10 minutes for one "
    "refresh token. Wait 10 minutes and test again.",
}
TOKEN_HINTS["invalid_grant"] = TOKEN_HINTS["invalid_code"]


def probe(check: Check) -> Outcome:
    data_centre = check.config.get("data_centre", "com")
    urls = {
        name: address.replace("{dc}", data_centre)
        for name, address in service_urls("zoho_books", DEFAULT_URLS).items()
    }
    organization_id = str(check.config["organization_id"])
    endpoint = TokenEndpoint(urls["token"], "Zoho", "body", TOKEN_HINTS)

    with check.stage("auth"):
        token = refresh_access_token(check, endpoint)

    with check.stage("verify"):
        response = check.client.get(
            f"{urls['api'].rstrip('/')}/books/v3/organizations",
            headers=bearer(token, "Zoho-oauthtoken"),
        )
        organizations = organizations_of(response, check, token)
        organization = organization_in(organizations, organization_id)

    name = str(organization.get("name", ""))
    return Outcome(
        "ok",
        f"Connected to the Zoho Books organisation {name} ({organization_id}) in "
        f"the {data_centre} data centre.",
        http_status=response.status_code,
        details={
            "company": name,
            "organization_id": organization_id,
            "data_centre": data_centre,
            "currency": str(organization.get("currency_code", "")),
            "active": organization.get("is_org_active") is not False,
        },
    )


def organizations_of(response, check: Check, token: dict[str, Any]) -> list:
    """The organisations of a successful answer; Zoho's code 0 means success."""
    body = folded_json(response)
    code = body.get("code") if isinstance(body, dict) else None
    if response.status_code != 200 or (code is not None and code != 0):
        raise ProbeFailed(failure_outcome(response, body, check, token))

    organizations = body.get("organizations") if isinstance(body, dict) else None
    if not isinstance(organizations, list):
        found = "JSON without organisations" if body is not None else None
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"Zoho Books answered HTTP 200 with "
                f"{found or describe_body(response)}, not its organisations.",
                http_status=200,
            )
        )
    return organizations


def organization_in(organizations: list, organization_id: str) -> dict[str, Any]:
    for organization in organizations:
        found = isinstance(organization, dict) and organization_id == str(
            organization.get("organization_id", "")
        )
        if found:
            return organization
    listed = [
        str(item.get("organization_id", ""))
        for item in organizations[:5]
        if isinstance(item, dict)
    ]
    raise ProbeFailed(
        Outcome(
            "verification_failed",
            f"Organisation {organization_id} is not among the {len(organizations)} "
            f"organisation(s) this Zoho user can reach"
            + (f": {', '.join(listed)}." if listed else "."),
            http_status=200,
        )
    )


def failure_outcome(response, body: Any, check: Check, token: dict) -> Outcome:
    """Classify by status and Zoho's numeric code; the message text only as backup."""
    status = response.status_code
    body = body if isinstance(body, dict) else {}
    code = body.get("code")
    text = str(body.get("message", "")).lower()
    organization_id = check.config["organization_id"]

    if status == 401 or code == 57:
        elsewhere = token_data_centre(token)
        if elsewhere and elsewhere != check.config.get("data_centre", "com"):
            return Outcome(
                "auth_failed",
                f"Zoho issued the token in the {elsewhere} data centre, but "
                f"data_centre is {check.config.get('data_centre')}.",
                f"Set data_centre to {elsewhere} and test again.",
                status,
            )
        return Outcome(
            "auth_failed",
            "Zoho Books did not authorise the access token (code 57)."
            if code == 57
            else "Zoho Books rejected the access token (HTTP 401).",
            http_status=status,
        )
    if code == 6041 or "organization_id" in text:
        return Outcome(
            "verification_failed",
            f"Zoho Books says this user may not use organisation {organization_id}"
            + (" (code 6041)." if code == 6041 else "."),
            http_status=status,
        )
    if status == 429 or code in (44, 45):
        return Outcome(
            "rate_limited",
            "Zoho Books' API usage limit was exceeded (HTTP 429).",
            http_status=status,
        )
    failure = http_failure(response, "Zoho Books")
    if failure is not None:
        return failure
    shown = f" (code {code})" if isinstance(code, int) else ""
    return Outcome(
        "unexpected_response",
        f"Zoho Books answered HTTP {status} with an error{shown} instead of the "
        "organisations.",
        http_status=status,
    )


def token_data_centre(token: dict[str, Any]) -> str | None:
    """The data centre of the token answer's api_domain, when it names a known one."""
    host = urlsplit(str(token.get("api_domain", ""))).hostname or ""
    suffix = host.removeprefix("www.zohoapis.")
    return suffix if suffix != host and suffix in DATA_CENTRES else None


TEMPLATE = Template(
    slug="zoho_books",
    name="Zoho Books",
    description="Reads invoices from a Zoho Books organisation in any data centre.",
    schema=SCHEMA,
    secret_fields=OAUTH_SECRETS,
    example={
        "data_centre": "com",
        **OAUTH_EXAMPLE,
        "organization_id": "10234695",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST https://accounts.zoho.{dc}/oauth/v2/token (refresh_token grant)",
        "GET https://www.zohoapis.{dc}/books/v3/organizations",
        "GET /books/v3/invoices?organization_id={organization_id}",
    ),
)
