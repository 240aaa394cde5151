"""Dynamics 365 Business Central: its API with an Azure AD app (client credentials)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

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
    Template,
    config_schema,
    secret,
    text,
    uuid,
)
from integrations.providers.oauth import (
    TokenEndpoint,
    bearer,
    client_credentials_token,
)

SCHEMA = config_schema(
    "Dynamics 365 Business Central",
    {
        "tenant_id": text(
            "Tenant",
            "Azure AD tenant of the client, as its ID or its domain name.",
            ["00000000-0000-0000-0000-000000000000", "contoso.onmicrosoft.com"],
            pattern=r"^([0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
            r"|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$",
            maxLength=255,
        ),
        "environment": text(
            "Environment",
            "Name of the Business Central environment, as in the admin centre.",
            ["production", "sandbox"],
            pattern=r"^[A-Za-z0-9_-]+$",
            maxLength=100,
        ),
        "client_id": uuid(
            "Client ID",
            "Application (client) ID of the app registered in Azure AD.",
            "22222222-2222-2222-2222-222222222222",
        ),
        "client_secret": secret(
            "Client secret", "Client secret of the app registered in Azure AD."
        ),
        "company_id": uuid(
            "Company ID",
            "ID of the company inside the environment, from the companies endpoint.",
            "11111111-1111-1111-1111-111111111111",
        ),
    },
    # client_id stays optional: rows created before it was asked for lack it.
    ["tenant_id", "environment", "company_id"],
)


# "{tenant}" is replaced by the tenant ID or domain.
DEFAULT_URLS = {
    "token": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    "api": "https://api.businesscentral.dynamics.com",
}
SCOPE = "https://api.businesscentral.dynamics.com/.default"

HINTS = {
    "auth_failed": "Business Central rejected the app's token. Add the app's client "
    "ID on the Microsoft Entra Applications page in Business Central, set its state "
    "to Enabled and give it permission sets (such as D365 READ), then test again.",
    "forbidden": "The Entra app lacks Business Central permissions. Give it "
    "permission sets on the Microsoft Entra Applications page, and make sure the "
    "app registration has the API.ReadWrite.All application permission with admin "
    "consent.",
    "verification_failed": "Check tenant_id, environment (as named in the Business "
    "Central admin centre, such as Production or Sandbox) and company_id (from the "
    "companies the result lists).",
    "rate_limited": "Business Central is throttling requests (about 600 a minute "
    "for production, 300 for sandboxes). Wait and test again.",
    "server_error": "Business Central had a service problem. Test again after the "
    "time it asks for.",
    "unexpected_response": "The answer was not Business Central's JSON API. Test "
    "again; if it lasts, an outbound proxy may be rewriting the traffic.",
}

TOKEN_HINTS = {
    "invalid_client": "Microsoft Entra did not accept the client ID and secret. "
    "Check the Application (client) ID in the app registration, and enter the "
    "client secret's Value (not its Secret ID) from Certificates & secrets.",
    "invalid_scope": "Microsoft Entra refused the Business Central scope. Add the "
    "Dynamics 365 Business Central API.ReadWrite.All application permission to the "
    "app registration and grant admin consent.",
}
TOKEN_HINTS["invalid_grant"] = TOKEN_HINTS["invalid_client"]

DIRECTORY_CODES = {
    "7000215": (
        "auth_failed",
        "The client secret is wrong: enter the secret's Value from Certificates & "
        "secrets in the app registration, not its Secret ID.",
    ),
    "7000222": (
        "auth_failed",
        "The client secret has expired. Create a new one under Certificates & "
        "secrets in the app registration and enter its value.",
    ),
    "700016": (
        "auth_failed",
        "Microsoft Entra does not know this client ID in the tenant. Check client_id "
        "and tenant_id; a multi-tenant app needs an admin of the client's tenant to "
        "consent to it first.",
    ),
    "90002": (
        "verification_failed",
        "The tenant does not exist. Check tenant_id: the directory (tenant) ID or a "
        "domain such as contoso.onmicrosoft.com.",
    ),
    "50034": (
        "verification_failed",
        "The tenant does not match the account. Check tenant_id.",
    ),
    "70011": ("forbidden", TOKEN_HINTS["invalid_scope"]),
}


def probe(check: Check) -> Outcome:
    tenant = quote(check.config["tenant_id"], safe="")
    environment = quote(check.config["environment"], safe="")
    urls = {
        name: address.replace("{tenant}", tenant)
        for name, address in service_urls(
            "dynamics_365_business_central", DEFAULT_URLS
        ).items()
    }
    endpoint = TokenEndpoint(
        urls["token"], "Microsoft Entra", "body", TOKEN_HINTS, DIRECTORY_CODES
    )

    with check.stage("auth"):
        token = client_credentials_token(check, endpoint, SCOPE)

    api = urls["api"].rstrip("/")
    with check.stage("verify"):
        response = check.client.get(
            f"{api}/v2.0/{tenant}/{environment}/api/v2.0/companies",
            headers=bearer(token),
        )
        company = company_in(companies_of(response, check), check)

    name = str(company.get("displayname") or company.get("name") or "")
    return Outcome(
        "ok",
        f"Connected to the Business Central company {name} in the "
        f"{check.config['environment']} environment.",
        http_status=response.status_code,
        details={
            "company": name,
            "company_id": str(company.get("id", "")),
            "environment": check.config["environment"],
        },
    )


def companies_of(response, check: Check) -> list:
    body = folded_json(response)
    if response.status_code != 200:
        raise ProbeFailed(failure_outcome(response, body, check))
    companies = body.get("value") if isinstance(body, dict) else None
    if not isinstance(companies, list):
        found = "JSON without a value list" if body is not None else None
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"Business Central answered HTTP 200 with "
                f"{found or describe_body(response)}, not its companies.",
                http_status=200,
            )
        )
    return companies


def company_in(companies: list, check: Check) -> dict[str, Any]:
    """The configured company, or the only one when none is configured."""
    companies = [company for company in companies if isinstance(company, dict)]
    wanted = str(check.config.get("company_id") or "").lower()
    for company in companies:
        if not wanted or str(company.get("id", "")).lower() == wanted:
            return company

    environment = check.config["environment"]
    if not companies:
        message = (
            f"The {environment} environment has no company this app may see: it "
            "has none, or the app lacks permissions in it."
        )
    else:
        listed = ", ".join(
            f"{c.get('name', '')} ({c.get('id', '')})" for c in companies[:5]
        )
        message = (
            f"Company {wanted} is not in the {environment} environment, which has "
            f"{len(companies)}: {listed}."
        )
    raise ProbeFailed(Outcome("verification_failed", message, http_status=200))


def failure_outcome(response, body: Any, check: Check) -> Outcome:
    """Classify by the error code's category (Authentication_, ...), then status."""
    status = response.status_code
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code", "")) if isinstance(error, dict) else ""
    shown = f" ({code})" if code.replace("_", "").isalnum() and len(code) < 80 else ""
    environment = check.config["environment"]

    if code == "Internal_TenantUnavailable":
        return Outcome(
            "verification_failed",
            f"Business Central cannot reach tenant {check.config['tenant_id']}{shown}.",
            http_status=status,
        )
    if code == "Internal_CompanyNotFound":
        return Outcome(
            "verification_failed",
            f"Business Central did not find the company{shown}.",
            http_status=status,
        )
    if code.startswith("Authorization_") or status == 403:
        return Outcome(
            "forbidden",
            f"Business Central refused the app access{shown}.",
            http_status=status,
        )
    if code.startswith("Authentication_") or status == 401:
        return Outcome(
            "auth_failed",
            f"Business Central rejected the app's token{shown}.",
            http_status=status,
        )
    if status == 404 and code not in (
        "BadRequest_NotFound",
        "BadRequest_ResourceNotFound",
    ):
        return Outcome(
            "verification_failed",
            f"Business Central has no environment named {environment} in this "
            f"tenant (HTTP 404{', ' + code if shown else ''}).",
            http_status=status,
        )
    if status in (502, 503, 504):
        retry = response.headers.get("Retry-After", "")
        after = f"; it asks to retry after {int(retry)} s" if retry.isdigit() else ""
        return Outcome(
            "server_error",
            f"Business Central is unavailable for now (HTTP {status}){after}.",
            http_status=status,
        )
    failure = http_failure(response, "Business Central")
    if failure is not None:
        failure.message = failure.message.rstrip(".") + f"{shown}."
        return failure
    return Outcome(
        "unexpected_response",
        f"Business Central answered HTTP {status}{shown}.",
        http_status=status,
    )


TEMPLATE = Template(
    slug="dynamics_365_business_central",
    name="Dynamics 365 Business Central",
    description="Reads posted sales invoices from a Business Central company.",
    schema=SCHEMA,
    secret_fields=("client_secret",),
    example={
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "environment": "production",
        "client_id": "22222222-2222-2222-2222-222222222222",
        "client_secret": "example-client-secret-not-real",
        "company_id": "11111111-1111-1111-1111-111111111111",
        "schedule": "weekly",
        "timezone": "Africa/Lagos",
    },
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token "
        "(client_credentials)",
        "GET /v2.0/{tenant_id}/{environment}/api/v2.0/companies",
        "GET /v2.0/{tenant_id}/{environment}/api/v2.0/companies({company_id})"
        "/salesInvoices",
    ),
)
