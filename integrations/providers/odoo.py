"""Odoo: XML-RPC up to version 18, the JSON-2 API with a bearer key from version 19."""

from __future__ import annotations

import xmlrpc.client
from typing import Any
from urllib.parse import urljoin

from integrations.probing import (
    Check,
    Outcome,
    ProbeFailed,
    http_failure,
    json_of,
)
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

HINTS = {
    "auth_failed": "Odoo rejected the login or API key. Use the user's login (usually "
    "an e-mail address) and an API key made in Odoo under Preferences → Account "
    "Security → New API Key. Keys expire: make a new one if it is old.",
    "forbidden": "The Odoo user lacks access rights: give it at least the Invoicing / "
    "Billing role.",
    "verification_failed": "Odoo does not know this database. Database names are "
    "case-sensitive; they are listed at /web/database/selector.",
    "not_found": "This address does not answer like Odoo. Use the instance's address "
    "(https://mycompany.odoo.com), without /web or /xmlrpc.",
    "rate_limited": "Odoo pauses logins after repeated failures. Wait a minute.",
}


def probe(check: Check) -> Outcome:
    if check.config.get("protocol") == "json2":
        return probe_json2(check)
    return probe_xmlrpc(check)


def xmlrpc_call(check: Check, service: str, method: str, params: tuple) -> Any:
    """One XML-RPC call; faults come back as xmlrpc.client.Fault."""
    endpoint = urljoin(base_url(check), f"xmlrpc/2/{service}")
    body = xmlrpc.client.dumps(params, method, allow_none=True)
    response = check.client.post(
        endpoint, content=body, headers={"Content-Type": "text/xml"}
    )
    failure = http_failure(response, "Odoo", expect_json=False)
    if failure:
        raise ProbeFailed(failure)
    if response.truncated or b"methodResponse" not in response.body[:500]:
        raise ProbeFailed(
            Outcome(
                "not_found",
                "The address answered, but not with Odoo's XML-RPC interface.",
                http_status=response.status_code,
            )
        )
    try:
        return xmlrpc.client.loads(response.body)[0][0]
    except xmlrpc.client.Fault as fault:
        raise ProbeFailed(
            fault_outcome(fault, check.config.get("database", ""))
        ) from None
    except Exception:  # noqa: BLE001 - any malformed XML is the same finding
        raise ProbeFailed(
            Outcome("unexpected_response", "Odoo's XML-RPC answer could not be read.")
        ) from None


def base_url(check: Check) -> str:
    return check.config["api_url"].rstrip("/") + "/"


def probe_xmlrpc(check: Check) -> Outcome:
    with check.stage("http"):
        version = xmlrpc_call(check, "common", "version", ())
    server_version = (
        str(version.get("server_version", "")) if isinstance(version, dict) else ""
    )

    database, login = check.config["database"], check.config["username"]
    with check.stage("auth"):
        uid = xmlrpc_call(
            check,
            "common",
            "authenticate",
            (database, login, check.secret("api_key"), {}),
        )
        if not isinstance(uid, int) or isinstance(uid, bool):
            raise ProbeFailed(
                Outcome(
                    "auth_failed",
                    f"Odoo {server_version} rejected the login {login!r} or its API key.",
                )
            )

    details = {"server_version": server_version, "database": database, "uid": uid}
    with check.stage("verify"):
        company = company_name(check, database, uid)
    if company:
        details["company"] = company
    return Outcome(
        "ok",
        f"Signed in to Odoo {server_version} as {login} on {database}.",
        details=details,
    )


def fault_outcome(fault: xmlrpc.client.Fault, database: str) -> Outcome:
    """Tell Odoo's faults apart: its codes are reused, so the text matters too."""
    text = str(fault.faultString)
    if fault.faultCode == 3 or "AccessDenied" in text:
        return Outcome("auth_failed", "Odoo denied access to this login and API key.")
    if fault.faultCode == 4 or "AccessError" in text:
        return Outcome("forbidden", "The Odoo user lacks access rights for this call.")
    if "does not exist" in text and "database" in text.lower():
        return Outcome(
            "verification_failed",
            f"The Odoo server has no database named {database!r}.",
        )
    return Outcome(
        "server_error", f"Odoo raised an internal error (fault {fault.faultCode})."
    )


def company_name(check: Check, database: str, uid: int) -> str | None:
    """The user's company, for the result; the test passes without it."""
    try:
        rows = xmlrpc_call(
            check,
            "object",
            "execute_kw",
            (
                database,
                uid,
                check.secret("api_key"),
                "res.users",
                "read",
                [[uid]],
                {"fields": ["company_id"]},
            ),
        )
        return str(rows[0]["company_id"][1])
    except (ProbeFailed, LookupError, TypeError):
        return None


def probe_json2(check: Check) -> Outcome:
    with check.stage("http"):
        response = check.client.get(urljoin(base_url(check), "web/version"))
        version = json_of(response, "Odoo")
    server_version = (
        str(version.get("version", "")) if isinstance(version, dict) else ""
    )

    headers = {"Authorization": f"bearer {check.secret('api_key')}"}
    if check.config.get("database"):
        headers["X-Odoo-Database"] = check.config["database"]
    with check.stage("auth"):
        response = check.client.post(
            urljoin(base_url(check), "json/2/res.users/context_get"),
            json={},
            headers=headers,
        )
        if response.status_code == 404:
            raise ProbeFailed(
                Outcome(
                    "verification_failed",
                    "Odoo did not route the JSON-2 call: the database name may be wrong, "
                    "or the plan may not include the external API.",
                    http_status=404,
                )
            )
        json_of(response, "Odoo")

    details: dict[str, Any] = {"server_version": server_version}
    with check.stage("verify"):
        response = check.client.post(
            urljoin(base_url(check), "json/2/res.company/search_read"),
            json={"fields": ["name"], "limit": 1},
            headers=headers,
        )
        companies = json_of(response, "Odoo")
    if isinstance(companies, list) and companies and isinstance(companies[0], dict):
        details["company"] = str(companies[0].get("name", ""))
    return Outcome(
        "ok",
        f"Connected to Odoo {server_version} with the JSON-2 API.",
        details=details,
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
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST /xmlrpc/2/common version, authenticate",
        "POST /xmlrpc/2/object execute_kw (account.move, res.partner, res.company)",
        "POST /json/2/<model>/<method> (version 19 and later)",
    ),
)
