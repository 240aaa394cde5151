"""Fake hosted accounting systems on loopback: their token endpoints and read APIs.

Each fake is one FakeServer answering both the vendor's token endpoint and its API,
shaped as shared/research/erp-errors.md describes. `service_urls` is what a test puts
in settings.INTEGRATION_SERVICE_URLS, so probes reach the fake and never the vendor.
`api_reply`, when set, answers every API call instead, for the failure cases.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import ssl
from urllib.parse import parse_qs, unquote, urlsplit

from integrations.tests.fakes import FakeServer, Reply, Seen

CLIENT_ID = "example-client-id"
CLIENT_SECRET = "client-secret-not-real"
REFRESH_TOKEN = "refresh-token-not-real"
ROTATED_REFRESH_TOKEN = "rotated-refresh-token-not-real"
BC_CLIENT_ID = "22222222-2222-2222-2222-222222222222"
XML = "application/xml; charset=utf-8"


class TokenEndpoint:
    """An OAuth 2.0 token endpoint that knows one client and one refresh token."""

    def __init__(
        self, client_auth="basic", rotate=True, error_status=400, client_id=CLIENT_ID
    ):
        self.client_auth = client_auth
        self.client = (client_id, CLIENT_SECRET)
        self.rotate = rotate
        self.error_status = error_status
        self.refresh_token = REFRESH_TOKEN
        self.access_tokens: set[str] = set()
        self.numbers = itertools.count(1)
        self.extra: dict = {}

    def answer(self, seen: Seen) -> Reply:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        if client_of(seen, form, self.client_auth) != self.client:
            return self.error("invalid_client", 401)
        grant = form.get("grant_type")
        if grant == "refresh_token" and form.get("refresh_token") != self.refresh_token:
            return self.error("invalid_grant")
        if grant not in ("refresh_token", "client_credentials"):
            return self.error("unsupported_grant_type")

        access = f"access-token-{next(self.numbers)}-not-real"
        self.access_tokens.add(access)
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": 1800}
        if grant == "refresh_token":
            if self.rotate:
                self.refresh_token = ROTATED_REFRESH_TOKEN
            answer["refresh_token"] = self.refresh_token
        return Reply(body={**answer, **self.extra})

    def error(self, code: str, status: int | None = None) -> Reply:
        return Reply(status or self.error_status, {"error": code})

    def knows(self, authorization: str, scheme: str = "Bearer") -> bool:
        given = authorization.removeprefix(f"{scheme} ")
        return authorization.startswith(f"{scheme} ") and given in self.access_tokens


def client_of(seen: Seen, form: dict, client_auth: str) -> tuple[str, str] | None:
    if client_auth == "body":
        return form.get("client_id"), form.get("client_secret")
    header = seen.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


class HostedFake:
    """A fake vendor: the token endpoint under token_path, the API everywhere else."""

    token_path = "/token"

    def __init__(self, token: TokenEndpoint):
        self.token = token
        self.api_reply: Reply | None = None
        self.server = FakeServer(self.route)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Seen]:
        return self.server.requests

    def api_requests(self) -> list[Seen]:
        return [seen for seen in self.requests if not self.is_token(seen)]

    def is_token(self, seen: Seen) -> bool:
        return urlsplit(seen.path).path.endswith(self.token_path)

    def route(self, seen: Seen) -> Reply:
        if self.is_token(seen):
            return self.token.answer(seen)
        if self.api_reply is not None:
            return self.api_reply
        return self.api(seen)

    def api(self, seen: Seen) -> Reply:
        raise NotImplementedError

    def __enter__(self):
        self.server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.server.__exit__(*exc)


def intuit_gateway_fault(status: int, name: str, code: str, kind: str) -> Reply:
    """Intuit's lowercase gateway answer, as seen on 401 and 403."""
    message = f"message={name}; errorCode={code.zfill(6)}; statusCode={status}"
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {"message": message, "detail": name, "code": code, "element": None}
            ],
            "type": kind,
        },
        "time": 1700000000000,
    }
    return Reply(status, body)


class FakeIntuit(HostedFake):
    """Intuit's token endpoint and the sandbox and production QuickBooks APIs."""

    token_path = "/oauth2/v1/tokens/bearer"
    COMPANY = re.compile(r"^/(sandbox|production)/v3/company/(\d+)/companyinfo/(\d+)")

    def __init__(self, companies=None, environment="sandbox"):
        super().__init__(TokenEndpoint("basic", rotate=True))
        self.companies = companies or {"9130000000000001": "Adebayo Foods Ltd"}
        self.environment = environment

    def service_urls(self) -> dict:
        return {
            "token": self.url + self.token_path,
            "sandbox": self.url + "/sandbox",
            "production": self.url + "/production",
        }

    def api(self, seen: Seen) -> Reply:
        if not self.token.knows(seen.headers.get("authorization", "")):
            return intuit_gateway_fault(401, "AuthenticationFailed", "3200", "AUTH")
        match = self.COMPANY.match(seen.path)
        if not match:
            return Reply(404, "<html>Not Found</html>", "text/html")
        environment, realm, again = match.groups()
        if environment != self.environment or realm not in self.companies:
            # A token reaches only the company (and environment) it was issued for.
            return intuit_gateway_fault(
                403, "ApplicationAuthorizationFailed", "3100", "SERVICE"
            )
        if "json" not in seen.headers.get("accept", ""):
            return Reply(
                body='<IntuitResponse xmlns="http://schema.intuit.com/">',
                content_type=XML,
            )
        info = {"CompanyName": self.companies[realm], "Country": "NG", "Id": realm}
        return Reply(
            body={"CompanyInfo": info, "time": "2025-01-01T00:00:00Z"},
            headers={"intuit_tid": "1-abc"},
        )


class FakeXero(HostedFake):
    """Xero's identity endpoint, the connections list and the accounting API."""

    token_path = "/connect/token"

    def __init__(self, tenants=None):
        super().__init__(TokenEndpoint("basic", rotate=True))
        self.tenants = tenants or {
            "4c4f5bd8-0000-4000-8000-000000000001": "Adebayo Foods Ltd"
        }

    def service_urls(self) -> dict:
        return {"token": self.url + self.token_path, "api": self.url}

    def api(self, seen: Seen) -> Reply:
        if not self.token.knows(seen.headers.get("authorization", "")):
            return Reply(
                401,
                {
                    "Title": "Unauthorized",
                    "Status": 401,
                    "Detail": "AuthenticationUnsuccessful",
                },
            )
        if seen.path == "/connections":
            return Reply(
                body=[
                    {
                        "id": "c-1",
                        "tenantId": tenant,
                        "tenantType": "ORGANISATION",
                        "tenantName": name,
                    }
                    for tenant, name in self.tenants.items()
                ]
            )
        if seen.path == "/api.xro/2.0/Organisation":
            return self.organisation(seen)
        return Reply(404, "Not found", "text/plain")

    def organisation(self, seen: Seen) -> Reply:
        name = self.tenants.get(seen.headers.get("xero-tenant-id", ""))
        if name is None:
            return Reply(
                403,
                {
                    "Title": "Forbidden",
                    "Status": 403,
                    "Detail": "AuthenticationUnsuccessful",
                },
            )
        if "json" not in seen.headers.get("accept", ""):
            return Reply(body="<Response><Organisations/></Response>", content_type=XML)
        organisation = {"Name": name, "Version": "GLOBAL", "IsDemoCompany": False}
        return Reply(body={"Status": "OK", "Organisations": [organisation]})


class FakeZoho(HostedFake):
    """Zoho's accounts server (errors come with HTTP 200) and the Books API."""

    token_path = "/oauth/v2/token"

    def __init__(self, organizations=None, data_centre="com"):
        super().__init__(TokenEndpoint("body", rotate=False, error_status=200))
        self.token.extra = {"api_domain": f"https://www.zohoapis.{data_centre}"}
        self.organizations = organizations or {"10234695": "Adebayo Foods Ltd"}

    def service_urls(self) -> dict:
        return {"token": self.url + self.token_path, "api": self.url}

    def api(self, seen: Seen) -> Reply:
        authorization = seen.headers.get("authorization", "")
        if not self.token.knows(authorization, "Zoho-oauthtoken"):
            return Reply(
                401,
                {
                    "code": 57,
                    "message": "You are not authorized to perform this operation",
                },
            )
        if seen.path != "/books/v3/organizations":
            return Reply(404, {"code": 5, "message": "Invalid URL Passed"})
        organizations = [
            {
                "organization_id": key,
                "name": name,
                "currency_code": "NGN",
                "is_org_active": True,
            }
            for key, name in self.organizations.items()
        ]
        return Reply(
            body={"code": 0, "message": "success", "organizations": organizations}
        )


class FakeSage(HostedFake):
    """Sage's OAuth server and the v3.1 accounting API."""

    token_path = "/token"

    def __init__(self, businesses=None):
        super().__init__(TokenEndpoint("body", rotate=True))
        self.businesses = businesses or {"b7e3a1": "Adebayo Foods Ltd"}

    def service_urls(self) -> dict:
        return {"token": self.url + self.token_path, "api": self.url + "/v3.1"}

    def api(self, seen: Seen) -> Reply:
        if not self.token.knows(seen.headers.get("authorization", "")):
            return Reply(401, [sage_error("AuthorizationFailure", "Access denied.")])
        if urlsplit(seen.path).path != "/v3.1/businesses":
            return Reply(404, [sage_error("RecordNotFound", "The path does not exist")])
        items = [
            {"id": key, "displayed_as": name, "$path": f"/businesses/{key}"}
            for key, name in self.businesses.items()
        ]
        return Reply(
            body={"$total": len(items), "$page": 1, "$next": None, "$items": items}
        )


def sage_error(code: str, message: str) -> dict:
    return {"$severity": "error", "$dataCode": code, "$message": message, "$source": ""}


class FakeServiceLayer:
    """SAP Business One's Service Layer at /b1s/v1; HTTPS when given a certificate."""

    def __init__(
        self,
        company_db="KANO_TEXTILES",
        username="einvoice",
        password="b1-password-not-real",
        certificate=None,
    ):
        self.company_db, self.username, self.password = company_db, username, password
        self.sessions: set[str] = set()
        self.logged_out: list[str] = []
        self.api_reply: Reply | None = None
        self.fake = FakeServer(self.route)
        self.scheme = "http"
        if certificate is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.fake.server.socket = context.wrap_socket(
                self.fake.server.socket, server_side=True
            )
            self.scheme = "https"

    @property
    def url(self) -> str:
        port = self.fake.server.server_address[1]
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{port}/b1s/v1"

    @property
    def requests(self) -> list[Seen]:
        return self.fake.requests

    def route(self, seen: Seen) -> Reply:
        if self.api_reply is not None:
            return self.api_reply
        if seen.path == "/b1s/v1/Login":
            return self.login(seen)
        session = session_in(seen.headers.get("cookie", ""))
        if session not in self.sessions:
            return service_layer_error(
                401, 301, "Invalid session or session already timeout."
            )
        if seen.path == "/b1s/v1/Logout":
            self.sessions.discard(session)
            self.logged_out.append(session)
            return Reply(204, b"")
        if seen.path == "/b1s/v1/CompanyService_GetCompanyInfo":
            return Reply(
                body={"CompanyName": "Kano Textiles Ltd", "LocalCurrency": "NGN"}
            )
        return service_layer_error(404, -2028, "Resource not found")

    def login(self, seen: Seen) -> Reply:
        body = json.loads(seen.body or b"{}")
        if body.get("CompanyDB") != self.company_db:
            return service_layer_error(401, -304, "Fail to get DB Credentials from SLD")
        if (body.get("UserName"), body.get("Password")) != (
            self.username,
            self.password,
        ):
            return service_layer_error(401, 100000027, "Login failed")
        session = f"session-{len(self.sessions) + len(self.logged_out) + 1}"
        self.sessions.add(session)
        headers = {"Set-Cookie": f"B1SESSION={session}; HttpOnly"}
        answer = {"SessionId": session, "Version": "1000190", "SessionTimeout": 30}
        return Reply(body=answer, headers=headers)

    def __enter__(self) -> FakeServiceLayer:
        self.fake.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.fake.__exit__(*exc)


def session_in(cookie: str) -> str | None:
    match = re.search(r"B1SESSION=([^;]+)", cookie)
    return match.group(1) if match else None


def service_layer_error(status: int, code: int, text: str) -> Reply:
    body = {"error": {"code": code, "message": {"lang": "en-us", "value": text}}}
    return Reply(status, body)


class FakeBusinessCentral(HostedFake):
    """Microsoft Entra's token endpoint for one tenant, and the Business Central API."""

    token_path = "/oauth2/v2.0/token"

    def __init__(self, tenant, environment="Production", companies=None):
        super().__init__(TokenEndpoint("body", client_id=BC_CLIENT_ID))
        self.tenant, self.environment = tenant, environment
        self.companies = companies or {
            "11111111-1111-1111-1111-111111111111": "Abuja Motors Ltd"
        }

    def service_urls(self) -> dict:
        return {"token": self.url + "/{tenant}" + self.token_path, "api": self.url}

    def route(self, seen: Seen) -> Reply:
        if self.is_token(seen):
            return self.entra(seen)
        return super().route(seen)

    def entra(self, seen: Seen) -> Reply:
        tenant = unquote(seen.path.split("/")[1])
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        if tenant != self.tenant:
            return entra_error(
                400, "invalid_request", 90002, f"Tenant '{tenant}' not found."
            )
        if form.get("client_secret") != CLIENT_SECRET:
            return entra_error(
                401, "invalid_client", 7000215, "Invalid client secret provided."
            )
        if form.get("scope") != "https://api.businesscentral.dynamics.com/.default":
            return entra_error(
                400,
                "invalid_scope",
                70011,
                "The provided value for scope is not valid.",
            )
        return self.token.answer(seen)

    def api(self, seen: Seen) -> Reply:
        if not self.token.knows(seen.headers.get("authorization", "")):
            return bc_error(
                401,
                "Authentication_InvalidCredentials",
                "The server has rejected the client credentials.",
            )
        expected = f"/v2.0/{self.tenant}/{self.environment}/api/v2.0/companies"
        if unquote(seen.path) != expected:
            return bc_error(404, "NoEnvironment", "The environment does not exist.")
        value = [
            {"id": key, "name": name, "displayName": name, "systemVersion": "25.0"}
            for key, name in self.companies.items()
        ]
        return Reply(
            body={"@odata.context": "https://example.invalid/$metadata", "value": value}
        )


def entra_error(status: int, code: str, number: int, text: str) -> Reply:
    description = f"AADSTS{number}: {text}\r\nTrace ID: 0\r\nCorrelation ID: 0"
    body = {"error": code, "error_description": description, "error_codes": [number]}
    return Reply(status, body)


def bc_error(status: int, code: str, text: str) -> Reply:
    return Reply(
        status, {"error": {"code": code, "message": f"{text}  CorrelationId:  0."}}
    )
