"""Xero: the Xero accounting API over OAuth 2.0."""

from __future__ import annotations

from typing import Any

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
    config_schema,
    oauth_client,
    uuid,
)
from integrations.providers.oauth import (
    TokenEndpoint,
    bearer,
    refresh_access_token,
)

SCHEMA = config_schema(
    "Xero",
    {
        **oauth_client("Xero"),
        "tenant_id": uuid(
            "Tenant ID",
            "ID of the Xero organisation, from the connections endpoint.",
            "00000000-0000-0000-0000-000000000000",
        ),
    },
    ["client_id", "tenant_id"],
)


DEFAULT_URLS = {
    "token": "https://identity.xero.com/connect/token",
    "api": "https://api.xero.com",
}

HINTS = {
    "auth_failed": "Xero rejected the app or its token. Check the client ID and "
    "secret in the Xero developer portal (My Apps), or reconnect Xero to get a new "
    "refresh token.",
    "forbidden": "The app lacks a scope it needs. Reconnect Xero asking for "
    "offline_access and accounting.settings.read (plus the accounting scopes the "
    "sync uses).",
    "verification_failed": "The organisation is not reachable with this connection. "
    "The user may have disconnected the app or lost their role, or the organisation "
    "was deleted, its trial ended, or the demo company was reset (which gives it a "
    "new tenant ID). Reconnect Xero and pick the organisation, then copy its tenant "
    "ID from the connections list.",
    "rate_limited": "Xero allows 60 calls a minute and 5,000 a day per organisation. "
    "Wait as long as the message says and test again.",
    "server_error": "Xero had a service problem. Test again later, and check "
    "status.xero.com if it lasts.",
    "unexpected_response": "The answer was not Xero's JSON API. Test again; if it "
    "lasts, an outbound proxy may be rewriting the traffic.",
}

TOKEN_HINTS = {
    "invalid_grant": "Xero no longer accepts the stored refresh token: it expired "
    "(60 days unused), was revoked, or was replaced by a newer one. Reconnect Xero "
    "to authorise the app again.",
    "invalid_client": "Xero did not accept the client ID and client secret. Copy "
    "them again from the app in the Xero developer portal; generate a new secret if "
    "the old one is lost.",
    "unauthorized_client": "Xero does not know this client ID or it is not enabled "
    "for this grant. Check the app in the Xero developer portal.",
}


def probe(check: Check) -> Outcome:
    urls = service_urls("xero", DEFAULT_URLS)
    api = urls["api"].rstrip("/")
    tenant_id = check.config["tenant_id"]
    endpoint = TokenEndpoint(urls["token"], "Xero", "basic", TOKEN_HINTS)

    with check.stage("auth"):
        token = refresh_access_token(check, endpoint)

    with check.stage("verify"):
        response = check.client.get(f"{api}/connections", headers=bearer(token))
        connection = connection_of(answer_of(response, list), tenant_id)

        headers = {**bearer(token), "xero-tenant-id": tenant_id}
        response = check.client.get(f"{api}/api.xro/2.0/Organisation", headers=headers)
        organisation = organisation_of(answer_of(response, dict))

    name = str(organisation.get("name", ""))
    details: dict[str, Any] = {
        "company": name,
        "tenant_id": tenant_id,
        "tenant_type": str(connection.get("tenanttype", "")),
        "edition": str(organisation.get("version", "")),
        "demo": organisation.get("isdemocompany") is True,
    }
    return Outcome(
        "ok",
        f"Connected to the Xero organisation {name}.",
        http_status=response.status_code,
        details=details,
    )


def answer_of(response, shape: type) -> Any:
    """The folded JSON of a 200 answer of the expected shape; else a classified stop."""
    if response.status_code != 200:
        raise ProbeFailed(failure_outcome(response))
    body = folded_json(response)
    if not isinstance(body, shape):
        found = "JSON of another shape" if body is not None else describe_body(response)
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"Xero answered HTTP 200 with {found}, not its JSON API's answer.",
                http_status=200,
            )
        )
    return body


def connection_of(connections: list, tenant_id: str) -> dict[str, Any]:
    """The connection of the configured tenant; the token may reach other ones."""
    for connection in connections:
        if not isinstance(connection, dict):
            continue
        if str(connection.get("tenantid", "")).lower() == tenant_id.lower():
            return connection
    listed = [
        f"{item.get('tenantname', '')} ({item.get('tenantid', '')})"
        for item in connections[:5]
        if isinstance(item, dict)
    ]
    reaches = f": it reaches {', '.join(listed)}" if listed else ""
    raise ProbeFailed(
        Outcome(
            "verification_failed",
            f"Xero tenant {tenant_id} is not connected to this app{reaches}.",
            http_status=200,
        )
    )


def organisation_of(body: dict[str, Any]) -> dict[str, Any]:
    organisations = body.get("organisations")
    if isinstance(organisations, list) and organisations:
        first = organisations[0]
        if isinstance(first, dict) and first.get("name"):
            return first
    raise ProbeFailed(
        Outcome(
            "unexpected_response",
            "Xero answered HTTP 200 without an organisation in its answer.",
            http_status=200,
        )
    )


def failure_outcome(response) -> Outcome:
    """Classify by status and Detail: Xero answers a missing scope with 401 too."""
    status = response.status_code
    body = folded_json(response) or {}
    detail = str(body.get("detail", "")).lower() if isinstance(body, dict) else ""

    if status == 401 and detail.startswith("authorizationunsuccessful"):
        return Outcome(
            "forbidden",
            "Xero refused the call: the app was not granted the scope it needs "
            "(AuthorizationUnsuccessful).",
            http_status=status,
        )
    if status == 401:
        reason = "TokenExpired" if detail.startswith("tokenexpired") else None
        reason = reason or "AuthenticationUnsuccessful"
        return Outcome(
            "auth_failed",
            f"Xero rejected the access token it had just issued ({reason}).",
            http_status=status,
        )
    if status == 403:
        return Outcome(
            "verification_failed",
            "Xero refused access to this tenant (HTTP 403): it is not, or no longer, "
            "authorised for this connection.",
            http_status=status,
        )
    if status == 429:
        return rate_limited(response)
    return http_failure(response, "Xero") or Outcome(
        "unexpected_response", f"Xero answered HTTP {status}.", http_status=status
    )


def rate_limited(response) -> Outcome:
    """Say which of Xero's limits was hit and when to try again."""
    problem = response.headers.get("X-Rate-Limit-Problem", "")
    which = {"minute": "per-minute", "day": "daily", "appminute": "app-wide"}.get(
        problem.lower().replace("-", "").replace(" ", ""), ""
    )
    message = f"Xero's {which} limit was reached" if which else "Xero is limiting calls"
    retry = response.headers.get("Retry-After", "")
    if retry.isdigit():
        message += f"; retry after {int(retry)} s"
    return Outcome("rate_limited", message + ".", http_status=429)


TEMPLATE = Template(
    slug="xero",
    name="Xero",
    description="Reads invoices from one Xero organisation.",
    schema=SCHEMA,
    secret_fields=OAUTH_SECRETS,
    example={
        **OAUTH_EXAMPLE,
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST https://identity.xero.com/connect/token (refresh_token grant)",
        "GET https://api.xero.com/connections",
        "GET /api.xro/2.0/Organisation (xero-tenant-id)",
        "GET /api.xro/2.0/Invoices (xero-tenant-id)",
    ),
)
