"""Connection tests of the hosted systems, against fakes of their tokens and APIs.

Every vendor address is pointed at a loopback fake through INTEGRATION_SERVICE_URLS,
and the outbound client runs loopback-only, so no test can reach a real vendor.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from django.core.cache import cache

from conftest import api_as
from integrations.models import Integration
from integrations.tests.fakes import Reply
from integrations.tests.hosted_fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    ROTATED_REFRESH_TOKEN,
    FakeBusinessCentral,
    FakeIntuit,
    FakeSage,
    FakeServiceLayer,
    FakeXero,
    FakeZoho,
    bc_error,
    intuit_gateway_fault,
    sage_error,
    service_layer_error,
)
from integrations.tests.tls_certs import self_signed

pytestmark = pytest.mark.django_db

HOSTED = [
    "quickbooks_online",
    "xero",
    "zoho_books",
    "sage_business_cloud",
    "dynamics_365_business_central",
]
NEVER_SHOWN = [CLIENT_SECRET, REFRESH_TOKEN, ROTATED_REFRESH_TOKEN, "access-token-"]


@pytest.fixture(autouse=True)
def loopback_only(settings):
    """Fakes listen on loopback; every vendor address points at a closed local port."""
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_LOOPBACK_ONLY = True
    settings.OUTBOUND_TOTAL_TIMEOUT = 5
    nowhere = "http://127.0.0.1:9"
    settings.INTEGRATION_SERVICE_URLS = {
        slug: {
            "token": nowhere,
            "api": nowhere,
            "sandbox": nowhere,
            "production": nowhere,
        }
        for slug in HOSTED
    }
    cache.clear()


def serve(settings, slug, fake):
    settings.INTEGRATION_SERVICE_URLS = {
        **settings.INTEGRATION_SERVICE_URLS,
        slug: fake.service_urls(),
    }
    return fake


def make_integration(client_record, kind, config, secrets):
    integration = Integration(
        client=client_record, name=kind, integration_type=kind, config=config
    )
    integration.write_secrets(secrets)
    integration.save()
    return integration


def oauth_secrets():
    return {"client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}


def run_test(user, integration):
    response = api_as(user).post(f"/api/integrations/{integration.pk}/test")
    assert response.status_code == 200, response.content
    result = response.json()
    shown = json.dumps(result)
    assert not [secret for secret in NEVER_SHOWN if secret in shown], result
    return result


def form_of(seen):
    return {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}


def basic_client(seen):
    encoded = seen.headers["authorization"].removeprefix("Basic ")
    return base64.b64decode(encoded).decode()


class TestWithoutServiceUrls:
    @pytest.mark.parametrize("slug", ["xero", "sage_business_cloud"])
    def test_the_real_vendor_is_refused_before_any_lookup(
        self, member, client_record, settings, slug
    ):
        settings.INTEGRATION_SERVICE_URLS = {}
        config = (
            {
                "client_id": CLIENT_ID,
                "tenant_id": "4c4f5bd8-0000-4000-8000-000000000001",
            }
            if slug == "xero"
            else {"client_id": CLIENT_ID, "business_id": "b7e3a1"}
        )
        integration = make_integration(client_record, slug, config, oauth_secrets())

        result = run_test(member, integration)

        assert result["status"] == "blocked_address"
        assert [s["name"] for s in result["stages"] if not s["ok"]] == ["url"]


class TestQuickBooksOnline:
    REALM = "9130000000000001"

    def quickbooks(self, client_record, environment="sandbox", realm=REALM):
        config = {"environment": environment, "client_id": CLIENT_ID, "realm_id": realm}
        return make_integration(
            client_record, "quickbooks_online", config, oauth_secrets()
        )

    def test_it_refreshes_the_token_and_reads_the_company(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()) as fake:
            integration = self.quickbooks(client_record)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"
        assert "Adebayo Foods Ltd" in result["message"]
        token_call, api_call = fake.requests
        assert basic_client(token_call) == f"{CLIENT_ID}:{CLIENT_SECRET}"
        assert form_of(token_call)["grant_type"] == "refresh_token"
        assert api_call.path.startswith(
            f"/sandbox/v3/company/{self.REALM}/companyinfo/{self.REALM}?minorversion="
        )
        assert api_call.headers["accept"] == "application/json"
        assert api_call.headers["authorization"].startswith("Bearer access-token-")

    def test_a_rotated_refresh_token_is_stored_without_a_new_version(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()):
            integration = self.quickbooks(client_record)
            history_before = integration.history.count()
            run_test(member, integration)

        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == ROTATED_REFRESH_TOKEN
        assert integration.secret_values()["client_secret"] == CLIENT_SECRET
        assert (integration.version, integration.history.count()) == (
            1,
            history_before,
        )

    @pytest.mark.django_db(transaction=True)
    def test_a_bulk_test_keeps_the_rotated_token_too(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()):
            integration = self.quickbooks(client_record)
            response = api_as(member).post(
                "/api/integrations/test", {"ids": [integration.pk]}, format="json"
            )

        assert response.json()[0]["status"] == "ok", response.json()
        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == ROTATED_REFRESH_TOKEN

    def test_the_next_test_uses_the_rotated_token(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()) as fake:
            integration = self.quickbooks(client_record)
            run_test(member, integration)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert form_of(fake.requests[2])["refresh_token"] == ROTATED_REFRESH_TOKEN

    def test_a_revoked_refresh_token_asks_to_reconnect(
        self, member, client_record, settings
    ):
        fake = FakeIntuit()
        fake.token.refresh_token = "a-newer-token-not-real"
        with serve(settings, "quickbooks_online", fake):
            result = run_test(member, self.quickbooks(client_record))

        assert result["status"] == "auth_failed"
        assert "invalid_grant" in result["message"]
        assert "Reconnect QuickBooks" in result["hint"]
        assert fake.api_requests() == []

    def test_a_wrong_client_secret_names_the_client_id_and_secret(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()):
            integration = self.quickbooks(client_record)
            integration.write_secrets({"client_secret": "another-secret-not-real"})
            integration.save()
            result = run_test(member, integration)

        assert (result["status"], result["http_status"]) == ("auth_failed", 401)
        assert "client ID and client secret" in result["hint"]

    def test_a_sandbox_realm_against_production_points_at_the_environment(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit(environment="sandbox")):
            result = run_test(member, self.quickbooks(client_record, "production"))

        assert result["status"] == "verification_failed"
        assert "set environment to sandbox" in result["hint"]

    def test_a_production_realm_against_sandbox_points_at_the_environment(
        self, member, client_record, settings
    ):
        fake = FakeIntuit(environment="production")
        with serve(settings, "quickbooks_online", fake):
            result = run_test(member, self.quickbooks(client_record, "sandbox"))

        assert result["status"] == "verification_failed"
        assert "set environment to production" in result["hint"]

    def test_another_companys_realm_is_verification_failed(
        self, member, client_record, settings
    ):
        with serve(settings, "quickbooks_online", FakeIntuit()):
            result = run_test(member, self.quickbooks(client_record, realm="42"))

        assert result["status"] == "verification_failed"
        assert "42" in result["message"]

    @pytest.mark.parametrize(
        "reply, status",
        [
            (
                intuit_gateway_fault(429, "ThrottleExceeded", "3001", "SERVICE"),
                "rate_limited",
            ),
            (
                Reply(
                    401,
                    {
                        "Fault": {
                            "Error": [
                                {"Message": "Authorization Failure", "code": "120"}
                            ],
                            "type": "AuthorizatonFault",
                        }
                    },
                ),
                "forbidden",
            ),
            (
                intuit_gateway_fault(401, "AuthenticationFailed", "3200", "AUTH"),
                "auth_failed",
            ),
            (Reply(503, {"Fault": {"type": "SystemFault"}}), "server_error"),
            (Reply(200, "<IntuitResponse/>", "application/xml"), "unexpected_response"),
            (Reply(200, {"QueryResponse": {}}), "unexpected_response"),
            (
                Reply(
                    200,
                    {"fault": {"error": [{"code": "6000"}], "type": "ValidationFault"}},
                ),
                "unexpected_response",
            ),
        ],
    )
    def test_each_failure_of_the_api_has_its_status(
        self, member, client_record, settings, reply, status
    ):
        fake = FakeIntuit()
        fake.api_reply = reply
        with serve(settings, "quickbooks_online", fake):
            result = run_test(member, self.quickbooks(client_record))

        assert (result["ok"], result["status"]) == (False, status), result
        assert result["hint"]


class TestXero:
    TENANT = "4c4f5bd8-0000-4000-8000-000000000001"

    def xero(self, client_record, tenant=TENANT):
        config = {"client_id": CLIENT_ID, "tenant_id": tenant}
        return make_integration(client_record, "xero", config, oauth_secrets())

    def test_it_checks_the_connection_and_reads_the_organisation(
        self, member, client_record, settings
    ):
        with serve(settings, "xero", FakeXero()) as fake:
            integration = self.xero(client_record)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"
        token_call, connections, organisation = fake.requests
        assert basic_client(token_call) == f"{CLIENT_ID}:{CLIENT_SECRET}"
        assert connections.path == "/connections"
        assert "xero-tenant-id" not in connections.headers
        assert organisation.headers["xero-tenant-id"] == self.TENANT
        assert organisation.headers["accept"] == "application/json"
        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == ROTATED_REFRESH_TOKEN

    def test_a_tenant_missing_from_the_connections_is_not_connected(
        self, member, client_record, settings
    ):
        other = "9d0a0000-0000-4000-8000-000000000009"
        with serve(settings, "xero", FakeXero()) as fake:
            result = run_test(member, self.xero(client_record, other))

        assert result["status"] == "verification_failed"
        assert "not connected" in result["message"]
        assert "Reconnect Xero" in result["hint"]
        assert [seen.path for seen in fake.api_requests()] == ["/connections"]

    @pytest.mark.parametrize(
        "reply, status, words",
        [
            (
                Reply(
                    401,
                    {"Title": "Unauthorized", "Detail": "AuthorizationUnsuccessful"},
                ),
                "forbidden",
                "scope",
            ),
            (
                Reply(
                    401,
                    {"title": "Unauthorized", "detail": "TokenExpired: token expired"},
                ),
                "auth_failed",
                "TokenExpired",
            ),
            (
                Reply(
                    403, {"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"}
                ),
                "verification_failed",
                "tenant",
            ),
            (
                Reply(
                    429,
                    {},
                    headers={"Retry-After": "42", "X-Rate-Limit-Problem": "minute"},
                ),
                "rate_limited",
                "per-minute limit was reached; retry after 42 s",
            ),
            (Reply(200, "<Response/>", "text/xml"), "unexpected_response", "not its"),
        ],
    )
    def test_each_failure_of_the_api_has_its_status(
        self, member, client_record, settings, reply, status, words
    ):
        fake = FakeXero()
        fake.api_reply = reply
        with serve(settings, "xero", fake):
            result = run_test(member, self.xero(client_record))

        assert result["status"] == status, result
        assert words in result["message"]

    def test_an_expired_refresh_token_asks_to_reconnect(
        self, member, client_record, settings
    ):
        fake = FakeXero()
        fake.token.refresh_token = "another-token-not-real"
        with serve(settings, "xero", fake):
            integration = self.xero(client_record)
            result = run_test(member, integration)

        assert result["status"] == "auth_failed"
        assert "Reconnect Xero" in result["hint"]
        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == REFRESH_TOKEN


class TestZohoBooks:
    ORG = "10234695"

    def zoho(self, client_record, organization=ORG, data_centre="com"):
        config = {
            "data_centre": data_centre,
            "client_id": CLIENT_ID,
            "organization_id": organization,
        }
        return make_integration(client_record, "zoho_books", config, oauth_secrets())

    def test_it_lists_the_organisations_and_finds_this_one(
        self, member, client_record, settings
    ):
        with serve(settings, "zoho_books", FakeZoho()) as fake:
            integration = self.zoho(client_record)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"
        token_call, organizations = fake.requests
        assert form_of(token_call)["client_id"] == CLIENT_ID
        assert "authorization" not in token_call.headers
        assert organizations.headers["authorization"].startswith("Zoho-oauthtoken ")
        assert organizations.headers["accept"] == "application/json"
        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == REFRESH_TOKEN

    def test_the_data_centre_picks_the_zoho_hosts(
        self, member, client_record, settings
    ):
        settings.INTEGRATION_SERVICE_URLS = {}

        result = run_test(member, self.zoho(client_record, data_centre="eu"))

        assert result["status"] == "blocked_address"
        assert "accounts.zoho.eu" in result["message"]

    def test_an_organisation_of_another_user_is_verification_failed(
        self, member, client_record, settings
    ):
        with serve(settings, "zoho_books", FakeZoho()):
            result = run_test(member, self.zoho(client_record, "999"))

        assert result["status"] == "verification_failed"
        assert "999" in result["message"] and self.ORG in result["message"]

    def test_a_revoked_token_answered_with_http_200_is_auth_failed(
        self, member, client_record, settings
    ):
        fake = FakeZoho()
        fake.token.refresh_token = "revoked-token-not-real"
        with serve(settings, "zoho_books", fake):
            result = run_test(member, self.zoho(client_record))

        assert (result["status"], result["http_status"]) == ("auth_failed", 200)
        assert "invalid_grant" in result["message"]
        assert fake.api_requests() == []

    def test_a_token_of_another_data_centre_names_it(
        self, member, client_record, settings
    ):
        fake = FakeZoho(data_centre="eu")
        fake.api_reply = Reply(401, {"code": 57, "message": "You are not authorized"})
        with serve(settings, "zoho_books", fake):
            result = run_test(member, self.zoho(client_record))

        assert result["status"] == "auth_failed"
        assert result["hint"] == "Set data_centre to eu and test again."

    @pytest.mark.parametrize(
        "reply, status",
        [
            (
                Reply(400, {"code": 6041, "message": "This user is not associated"}),
                "verification_failed",
            ),
            (
                Reply(429, {"code": 44, "message": "Rate Limit Exceeded"}),
                "rate_limited",
            ),
            (Reply(500, {"code": 1000, "message": "Internal error"}), "server_error"),
            (Reply(200, {"code": 0, "message": "success"}), "unexpected_response"),
        ],
    )
    def test_each_failure_of_the_api_has_its_status(
        self, member, client_record, settings, reply, status
    ):
        fake = FakeZoho()
        fake.api_reply = reply
        with serve(settings, "zoho_books", fake):
            result = run_test(member, self.zoho(client_record))

        assert result["status"] == status, result

    def test_too_many_token_requests_is_rate_limited(
        self, member, client_record, settings
    ):
        fake = FakeZoho()
        throttled = {
            "error": "Access Denied",
            "error_description": "You have made too many requests continuously.",
        }
        fake.token.answer = lambda seen: Reply(400, throttled)
        with serve(settings, "zoho_books", fake):
            result = run_test(member, self.zoho(client_record))

        assert result["status"] == "rate_limited"
        assert "10 minutes" in result["hint"]


class TestSageBusinessCloud:
    def sage(self, client_record, business="b7e3a1"):
        config = {"client_id": CLIENT_ID, "business_id": business}
        return make_integration(
            client_record, "sage_business_cloud", config, oauth_secrets()
        )

    def test_it_finds_the_business_and_keeps_the_rotated_token(
        self, member, client_record, settings
    ):
        with serve(settings, "sage_business_cloud", FakeSage()) as fake:
            integration = self.sage(client_record)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"
        token_call, businesses = fake.requests
        assert form_of(token_call)["client_secret"] == CLIENT_SECRET
        assert businesses.path.startswith("/v3.1/businesses")
        assert businesses.headers["accept"] == "application/json"
        integration.refresh_from_db()
        assert integration.secret_values()["refresh_token"] == ROTATED_REFRESH_TOKEN

    def test_a_business_the_user_cannot_reach_is_verification_failed(
        self, member, client_record, settings
    ):
        with serve(settings, "sage_business_cloud", FakeSage()):
            result = run_test(member, self.sage(client_record, "elsewhere"))

        assert result["status"] == "verification_failed"
        assert "Adebayo Foods Ltd (b7e3a1)" in result["message"]

    @pytest.mark.parametrize(
        "reply, status",
        [
            (
                Reply(401, [sage_error("AuthorizationFailure", "Access denied.")]),
                "auth_failed",
            ),
            (
                Reply(
                    401,
                    [
                        sage_error(
                            "AuthorizationFailure", "No active subscription. (MSE)"
                        )
                    ],
                ),
                "forbidden",
            ),
            (Reply(429, "Too Many Requests", "text/plain"), "rate_limited"),
            (Reply(503, "Service Unavailable", "text/plain"), "server_error"),
            (Reply(200, "<html>Sign in</html>", "text/html"), "unexpected_response"),
        ],
    )
    def test_each_failure_of_the_api_has_its_status(
        self, member, client_record, settings, reply, status
    ):
        fake = FakeSage()
        fake.api_reply = reply
        with serve(settings, "sage_business_cloud", fake):
            result = run_test(member, self.sage(client_record))

        assert result["status"] == status, result
        assert "Sign in" not in result["message"]

    def test_an_expired_refresh_token_asks_to_reconnect(
        self, member, client_record, settings
    ):
        fake = FakeSage()
        fake.token.refresh_token = "newer-token-not-real"
        with serve(settings, "sage_business_cloud", fake):
            result = run_test(member, self.sage(client_record))

        assert result["status"] == "auth_failed"
        assert "Reconnect Sage" in result["hint"]


class TestSapBusinessOne:
    def sap(self, client_record, url, **changes):
        config = {
            "api_url": url,
            "company_db": "KANO_TEXTILES",
            "username": "einvoice",
            **changes,
        }
        return make_integration(
            client_record,
            "sap_business_one",
            config,
            {"password": "b1-password-not-real"},
        )

    def test_it_logs_in_reads_the_company_and_logs_out(self, member, client_record):
        with FakeServiceLayer() as fake:
            result = run_test(member, self.sap(client_record, fake.url))

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Kano Textiles Ltd"
        assert result["details"]["server_version"] == "1000190"
        login, info, logout = fake.requests
        assert (login.method, login.path) == ("POST", "/b1s/v1/Login")
        assert json.loads(login.body) == {
            "CompanyDB": "KANO_TEXTILES",
            "UserName": "einvoice",
            "Password": "b1-password-not-real",
        }
        assert logout.path == "/b1s/v1/Logout"
        assert logout.headers["cookie"] == "B1SESSION=session-1"
        assert fake.logged_out == ["session-1"] and fake.sessions == set()
        assert "b1-password-not-real" not in json.dumps(result)

    @pytest.mark.parametrize(
        "changes, status",
        [
            ({"company_db": "KANO_OLD"}, "verification_failed"),
            ({"username": "someone"}, "auth_failed"),
        ],
    )
    def test_a_wrong_login_is_classified(self, member, client_record, changes, status):
        with FakeServiceLayer() as fake:
            result = run_test(member, self.sap(client_record, fake.url, **changes))

        assert result["status"] == status, result
        assert "b1-password-not-real" not in json.dumps(result)

    @pytest.mark.parametrize(
        "reply, status, hint",
        [
            (
                service_layer_error(401, 100000055, "User locked"),
                "auth_failed",
                "unlock",
            ),
            (
                service_layer_error(401, 301, "Invalid session"),
                "not_found",
                "/b1s/v1",
            ),
            (Reply(405, "", "text/plain"), "not_found", "/b1s/v1"),
            (service_layer_error(500, -1, "Internal error"), "server_error", "logs"),
            (
                Reply(200, "<html>Portal</html>", "text/html"),
                "unexpected_response",
                "root",
            ),
        ],
    )
    def test_each_failure_of_the_login_has_its_status(
        self, member, client_record, reply, status, hint
    ):
        with FakeServiceLayer() as fake:
            fake.api_reply = reply
            result = run_test(member, self.sap(client_record, fake.url))

        assert result["status"] == status, result
        assert hint in result["hint"]

    def test_a_lowercase_login_path_is_not_the_service_layer(
        self, member, client_record
    ):
        with FakeServiceLayer() as fake:
            url = fake.url.replace("/b1s/v1", "/b1s/V1")
            result = run_test(member, self.sap(client_record, url))

        assert result["status"] == "not_found"

    def test_a_self_signed_certificate_is_a_tls_error_with_the_way_out(
        self, member, client_record, tmp_path
    ):
        certificate = self_signed(tmp_path, "service-layer", "localhost")
        with FakeServiceLayer(certificate=certificate) as fake:
            result = run_test(member, self.sap(client_record, fake.url))

        assert result["status"] == "tls_error", result
        assert result["details"]["tls_problem"] == "self_signed"
        assert "verify_tls to false" in result["hint"] and "CA" in result["hint"]
        assert fake.requests == []

    def test_turning_tls_verification_off_reaches_a_self_signed_server(
        self, member, client_record, tmp_path
    ):
        certificate = self_signed(tmp_path, "service-layer", "localhost")
        with FakeServiceLayer(certificate=certificate) as fake:
            integration = self.sap(client_record, fake.url, verify_tls=False)
            result = run_test(member, integration)

        assert result["status"] == "ok", result
        assert fake.logged_out == ["session-1"]


class TestBusinessCentral:
    TENANT = "00000000-0000-0000-0000-0000000000aa"
    COMPANY = "11111111-1111-1111-1111-111111111111"

    def business_central(self, client_record, **changes):
        config = {
            "tenant_id": self.TENANT,
            "environment": "Production",
            "client_id": "22222222-2222-2222-2222-222222222222",
            "company_id": self.COMPANY,
            **changes,
        }
        return make_integration(
            client_record,
            "dynamics_365_business_central",
            config,
            {"client_secret": CLIENT_SECRET},
        )

    def fake(self, settings):
        fake = FakeBusinessCentral(self.TENANT)
        return serve(settings, "dynamics_365_business_central", fake)

    def test_it_gets_an_app_token_and_finds_the_company(
        self, member, client_record, settings
    ):
        with self.fake(settings) as fake:
            result = run_test(member, self.business_central(client_record))

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Abuja Motors Ltd"
        token_call, companies = fake.requests
        assert token_call.path == f"/{self.TENANT}/oauth2/v2.0/token"
        form = form_of(token_call)
        assert form["grant_type"] == "client_credentials"
        assert form["scope"] == "https://api.businesscentral.dynamics.com/.default"
        assert companies.path == f"/v2.0/{self.TENANT}/Production/api/v2.0/companies"
        assert companies.headers["accept"] == "application/json"

    def test_the_secret_id_instead_of_its_value_is_auth_failed(
        self, member, client_record, settings
    ):
        with self.fake(settings):
            integration = self.business_central(client_record)
            integration.write_secrets({"client_secret": "secret-id-not-real"})
            integration.save()
            result = run_test(member, integration)

        assert result["status"] == "auth_failed"
        assert "AADSTS7000215" in result["message"]
        assert "not its Secret ID" in result["hint"]

    def test_an_unknown_tenant_is_verification_failed(
        self, member, client_record, settings
    ):
        with self.fake(settings) as fake:
            integration = self.business_central(
                client_record, tenant_id="contoso.onmicrosoft.com"
            )
            result = run_test(member, integration)

        assert result["status"] == "verification_failed"
        assert "tenant_id" in result["hint"]
        assert fake.api_requests() == []

    @pytest.mark.parametrize(
        "changes, words",
        [
            ({"company_id": "33333333-3333-3333-3333-333333333333"}, "Abuja Motors"),
            ({"environment": "Sandbox"}, "no environment named Sandbox"),
        ],
    )
    def test_a_wrong_company_or_environment_is_verification_failed(
        self, member, client_record, settings, changes, words
    ):
        with self.fake(settings):
            result = run_test(member, self.business_central(client_record, **changes))

        assert result["status"] == "verification_failed", result
        assert words in result["message"]

    @pytest.mark.parametrize(
        "reply, status, words",
        [
            (
                bc_error(401, "Authentication_InvalidCredentials", "rejected"),
                "auth_failed",
                "Microsoft Entra Applications",
            ),
            (
                bc_error(403, "Authorization_AccessRestricted", "no"),
                "forbidden",
                "permission sets",
            ),
            (
                Reply(503, {}, headers={"Retry-After": "30"}),
                "server_error",
                "after the time",
            ),
            (Reply(429, {}), "rate_limited", "throttling"),
        ],
    )
    def test_each_failure_of_the_api_has_its_status(
        self, member, client_record, settings, reply, status, words
    ):
        with self.fake(settings) as fake:
            fake.api_reply = reply
            result = run_test(member, self.business_central(client_record))

        assert result["status"] == status, result
        assert words in result["hint"]


@pytest.mark.django_db
def test_a_pasted_ca_certificate_lets_a_self_signed_server_through(
    member, client_record, tmp_path
):
    certificate, _key = self_signed(tmp_path, "service-layer", "localhost")
    with FakeServiceLayer(certificate=(certificate, _key)) as fake:
        integration = TestSapBusinessOne().sap(
            client_record, fake.url, ca_certificate=Path(certificate).read_text()
        )
        result = run_test(member, integration)

    assert result["status"] == "ok", result


@pytest.mark.django_db
def test_an_unreadable_ca_certificate_is_refused_at_write_time(member, client_record):
    from integrations.secrets import write_errors

    config = {
        "api_url": "https://127.0.0.1:9/b1s/v1",
        "company_db": "SBODEMO",
        "username": "manager",
        "ca_certificate": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----",
    }
    errors = write_errors("sap_business_one", config, {}, None, set())

    assert "PEM" in errors["config.ca_certificate"][0]
