"""Connection tests against fake systems on loopback, through the API and the shell."""

from __future__ import annotations

import socket
import threading
import time
import xmlrpc.client

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.db.backends.signals import connection_created

from conftest import api_as
from integrations import connection_tests
from integrations.connection_tests import WORKER_NAME
from integrations.models import ConnectionTest, Integration
from integrations.tests.fakes import FakeServer, OdooXmlRpc, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    """Fake systems listen on loopback, which production refuses; open it for tests."""
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_TOTAL_TIMEOUT = 5
    cache.clear()


def make_integration(client_record, kind, config, secrets, name="ERP"):
    integration = Integration(
        client=client_record, name=name, integration_type=kind, config=config
    )
    integration.write_secrets(secrets)
    integration.save()
    return integration


def rest_integration(client_record, url, name="ERP", **extra):
    config = {
        "api_url": url,
        "auth_method": "api_key",
        "health_path": "/health",
        **extra,
    }
    return make_integration(
        client_record,
        "generic_rest",
        config,
        {"api_key": "rest-key-not-real", "bearer_token": "unused-token-not-real"},
        name=name,
    )


def run_test(api, integration):
    response = api.post(f"/api/integrations/{integration.pk}/test")
    assert response.status_code == 200, response.content
    return response.json()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TestGenericRest:
    def test_a_healthy_api_is_ok_with_stages_and_target(self, member, client_record):
        with FakeServer(lambda seen: Reply(body={"status": "up"})) as fake:
            integration = rest_integration(client_record, fake.url)
            result = run_test(api_as(member), integration)

        assert result["ok"] is True, result
        assert result["status"] == "ok"
        assert result["hint"] is None
        names = [stage["name"] for stage in result["stages"]]
        assert names == ["url", "dns", "connect", "http", "auth", "verify"]
        assert all(stage["ok"] for stage in result["stages"])
        assert result["target"] == {
            "scheme": "http",
            "host": "127.0.0.1",
            "port": fake.server.server_address[1],
        }
        assert fake.requests[0].headers["x-api-key"] == "rest-key-not-real"

    def test_unused_secrets_are_never_sent(self, member, client_record):
        with FakeServer(lambda seen: Reply(body={})) as fake:
            run_test(api_as(member), rest_integration(client_record, fake.url))

        sent = repr(fake.requests[0].headers)
        assert "unused-token-not-real" not in sent
        assert "authorization" not in fake.requests[0].headers

    @pytest.mark.parametrize(
        "reply, status",
        [
            (Reply(401, {"error": "bad key"}), "auth_failed"),
            (Reply(403, {"error": "no"}), "forbidden"),
            (Reply(404, {"error": "no"}), "not_found"),
            (Reply(429, {}, headers={"Retry-After": "30"}), "rate_limited"),
            (Reply(500, "Internal error", "text/plain"), "server_error"),
            (
                Reply(200, "<html><form>Login</form></html>", "text/html"),
                "unexpected_response",
            ),
        ],
    )
    def test_each_failure_has_its_status_and_a_hint(
        self, member, client_record, reply, status
    ):
        with FakeServer(lambda seen: reply) as fake:
            result = run_test(api_as(member), rest_integration(client_record, fake.url))

        assert (result["ok"], result["status"]) == (False, status), result
        assert result["hint"]
        assert result["http_status"] == reply.status
        assert "Login" not in result["message"]

    def test_a_refused_connection_says_so(self, member, client_record):
        integration = rest_integration(
            client_record, f"http://127.0.0.1:{closed_port()}"
        )

        result = run_test(api_as(member), integration)

        assert result["status"] == "connection_refused"
        assert [s["name"] for s in result["stages"] if not s["ok"]] == ["connect"]

    def test_loopback_is_refused_unless_allowed(self, member, client_record, settings):
        settings.INTEGRATION_ALLOWED_NETWORKS = []
        with FakeServer(lambda seen: Reply(body={})) as fake:
            result = run_test(api_as(member), rest_integration(client_record, fake.url))

        assert result["status"] == "blocked_address"
        assert fake.requests == []

    def test_a_missing_secret_is_invalid_config(self, member, client_record):
        integration = make_integration(
            client_record,
            "generic_rest",
            {"api_url": "http://127.0.0.1:9", "auth_method": "bearer"},
            {},
        )

        result = run_test(api_as(member), integration)

        assert result["status"] == "invalid_config"
        assert "bearer_token" in result["message"]


class TestOdoo:
    def odoo(self, client_record, fake, **changes):
        config = {
            "api_url": fake.url,
            "protocol": "xmlrpc",
            "database": "adebayo",
            "username": "einvoice",
            **changes,
        }
        return make_integration(
            client_record, "odoo", config, {"api_key": "odoo-key-not-real"}
        )

    def test_it_signs_in_over_xml_rpc_and_reads_the_company(
        self, member, client_record
    ):
        with OdooXmlRpc() as fake:
            result = run_test(api_as(member), self.odoo(client_record, fake))

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"
        assert result["details"]["server_version"] == "17.0"

    def test_a_wrong_key_is_auth_failed_with_odoos_hint(self, member, client_record):
        with OdooXmlRpc(api_key="another-key") as fake:
            result = run_test(api_as(member), self.odoo(client_record, fake))

        assert result["status"] == "auth_failed"
        assert "Account Security" in result["hint"]

    def test_a_missing_database_is_verification_failed(self, member, client_record):
        with OdooXmlRpc(database="other") as fake:
            result = run_test(api_as(member), self.odoo(client_record, fake))

        assert result["status"] == "verification_failed"
        assert "adebayo" in result["message"]
        assert "Traceback" not in result["message"]

    def test_json2_with_a_bearer_key(self, member, client_record):
        def route(seen):
            if seen.path == "/web/version":
                return Reply(body={"version": "19.0"})
            if seen.headers.get("authorization") != "bearer odoo-key-not-real":
                return Reply(401, {"name": "werkzeug.exceptions.Unauthorized"})
            if seen.path.endswith("context_get"):
                return Reply(body={"lang": "en_US", "uid": 2})
            return Reply(body=[{"id": 1, "name": "Adebayo Foods Ltd"}])

        with FakeServer(route) as fake:
            integration = self.odoo(client_record, fake, protocol="json2", version=19)
            result = run_test(api_as(member), integration)

        assert result["status"] == "ok", result
        assert result["details"]["company"] == "Adebayo Foods Ltd"


class TestFirs:
    def firs(self, client_record, url):
        config = {
            "environment": "sandbox",
            "api_url": url,
            "business_id": "demo-business-0001",
            "service_id": "DEMO0001",
            "tin": "12345678-0001",
        }
        secrets = {"api_key": "firs-key-not-real", "api_secret": "firs-secret-not-real"}
        return make_integration(client_record, "firs_mbs", config, secrets)

    @staticmethod
    def gateway(valid_key):
        def route(seen):
            if seen.path == "/api":
                return Reply(body={"healthy": True})
            if seen.headers.get("x-api-key") != valid_key:
                return Reply(
                    400,
                    {
                        "code": 400,
                        "error": {"public_message": "unable to validate api key"},
                    },
                )
            return Reply(body={"code": 200, "data": [{"code": "NGN"}]})

        return route

    def test_a_valid_key_is_ok(self, member, client_record):
        with FakeServer(self.gateway("firs-key-not-real")) as fake:
            result = run_test(api_as(member), self.firs(client_record, fake.url))

        assert result["status"] == "ok", result
        assert all("invoice/sign" not in seen.path for seen in fake.requests)

    def test_a_rejected_key_answers_400_and_is_auth_failed(self, member, client_record):
        with FakeServer(self.gateway("another")) as fake:
            result = run_test(api_as(member), self.firs(client_record, fake.url))

        assert result["status"] == "auth_failed"
        assert "MBS dashboard" in result["hint"]


class TestRecording:
    def test_a_result_is_stored_without_a_new_version(self, member, client_record):
        with FakeServer(lambda seen: Reply(body={})) as fake:
            integration = rest_integration(client_record, fake.url)
            run_test(api_as(member), integration)

        integration.refresh_from_db()
        assert (integration.version, integration.history.count()) == (1, 1)
        assert integration.last_test_status == "ok"
        assert integration.last_tested_at is not None
        stored = ConnectionTest.objects.get(integration=integration)
        assert (stored.user, stored.status) == (member, "ok")

    def test_past_results_are_listed_newest_first(self, member, client_record):
        api = api_as(member)
        with FakeServer(lambda seen: Reply(body={})) as fake:
            integration = rest_integration(client_record, fake.url)
            run_test(api, integration)
        run_test(api, integration)  # the fake is gone: connection refused

        results = api.get(f"/api/integrations/{integration.pk}/tests").json()["results"]

        assert [item["status"] for item in results] == ["connection_refused", "ok"]
        assert results[0]["user"] == "ada"


class TestAccess:
    def test_it_needs_the_test_permission(self, limited_member, integration):
        response = api_as(limited_member).post(
            f"/api/integrations/{integration.pk}/test"
        )

        assert response.status_code == 403

    def test_another_team_gets_404(self, outsider, integration):
        response = api_as(outsider).post(f"/api/integrations/{integration.pk}/test")

        assert response.status_code == 404

    def test_anonymous_gets_401(self, integration):
        assert (
            api_as().post(f"/api/integrations/{integration.pk}/test").status_code == 401
        )

    def test_it_is_throttled_with_retry_after(self, member, integration, settings):
        settings.CONNECTION_TEST_RATE = "2/min"
        api = api_as(member)
        statuses = [
            api.post(f"/api/integrations/{integration.pk}/test").status_code
            for _ in range(3)
        ]

        assert statuses == [200, 200, 429]
        response = api.post(f"/api/integrations/{integration.pk}/test")
        assert int(response["Retry-After"]) > 0


class TestDrafts:
    URL = "/api/integration-types/generic_rest/test"

    def test_a_draft_with_its_secret_is_tested(self, member):
        with FakeServer(lambda seen: Reply(body={})) as fake:
            config = {
                "api_url": fake.url,
                "auth_method": "api_key",
                "api_key": "draft-key-not-real",
            }
            response = api_as(member).post(self.URL, {"config": config}, format="json")

        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert fake.requests[0].headers["x-api-key"] == "draft-key-not-real"
        assert ConnectionTest.objects.count() == 0

    def test_stored_secrets_fill_in_while_the_host_is_unchanged(
        self, member, client_record
    ):
        with FakeServer(lambda seen: Reply(body={})) as fake:
            integration = rest_integration(client_record, fake.url)
            config = {"api_url": fake.url + "/v2", "auth_method": "api_key"}
            api_as(member).post(
                self.URL,
                {"config": config, "integration": integration.pk},
                format="json",
            )

        assert fake.requests[0].headers["x-api-key"] == "rest-key-not-real"

    def test_stored_secrets_never_go_to_a_new_host(self, member, client_record):
        integration = rest_integration(client_record, "http://127.0.0.1:9")
        with FakeServer(lambda seen: Reply(401, {})) as fake:
            config = {"api_url": fake.url, "auth_method": "api_key"}
            response = api_as(member).post(
                self.URL,
                {"config": config, "integration": integration.pk},
                format="json",
            )

        assert response.json()["status"] == "invalid_config"
        assert fake.requests == []

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"config": []},
            {"config": {}, "integration": "x"},
            {"config": {}, "other": 1},
        ],
    )
    def test_a_malformed_request_answers_400(self, member, body):
        assert api_as(member).post(self.URL, body, format="json").status_code == 400

    def test_an_invalid_draft_answers_200_with_invalid_config(self, member):
        response = api_as(member).post(
            self.URL, {"config": {"api_url": "ftp://x.example"}}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["status"] == "invalid_config"

    def test_an_unknown_type_answers_404(self, member):
        response = api_as(member).post(
            "/api/integration-types/sap_r3/test", {"config": {}}, format="json"
        )

        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
class TestBulk:
    def test_many_slow_systems_take_about_the_time_of_one(self, member, client_record):
        delay, count = 0.5, 8
        with FakeServer(lambda seen: Reply(body={}, delay=delay)) as fake:
            integrations = [
                make_integration(
                    client_record,
                    "generic_rest",
                    {"api_url": fake.url, "auth_method": "none"},
                    {},
                    name=f"ERP {number}",
                )
                for number in range(count)
            ]
            started = time.perf_counter()
            response = api_as(member).post(
                "/api/integrations/test",
                {"ids": [integration.pk for integration in integrations]},
                format="json",
            )
            elapsed = time.perf_counter() - started

        assert response.status_code == 200
        results = response.json()
        assert [item["integration"] for item in results] == [i.pk for i in integrations]
        assert all(item["status"] == "ok" for item in results)
        assert elapsed < delay * count / 2, (
            f"{elapsed:.2f}s for {count} tests of {delay}s"
        )

    def test_workers_hold_no_database_connection(self, settings, client_record):
        settings.CONNECTION_TEST_CONCURRENCY = 4
        opened_by = []

        def note_thread(sender, connection, **kwargs):
            opened_by.append(threading.current_thread().name)

        with FakeServer(lambda seen: Reply(body={}, delay=0.1)) as fake:
            integrations = [
                rest_integration(client_record, fake.url, f"ERP {n}") for n in range(8)
            ]
            connection_created.connect(note_thread)
            try:
                results = connection_tests.test_many(integrations)
            finally:
                connection_created.disconnect(note_thread)

        assert [result["status"] for result in results] == ["ok"] * 8
        assert [name for name in opened_by if name.startswith(WORKER_NAME)] == []
        assert ConnectionTest.objects.count() == 8

    def test_each_integration_keeps_its_own_result_and_health(self, client_record):
        with FakeServer(lambda seen: Reply(body={})) as fake:
            working = rest_integration(client_record, fake.url, "Working")
            broken = rest_integration(
                client_record, f"http://127.0.0.1:{closed_port()}"
            )
            for _ in range(3):
                connection_tests.test_many([working, broken])

        working.refresh_from_db()
        broken.refresh_from_db()
        assert (working.health, working.consecutive_failures) == ("healthy", 0)
        assert (broken.health, broken.consecutive_failures) == ("failing", 3)
        assert broken.last_test_status == "connection_refused"
        assert working.connection_tests.filter(status="ok").count() == 3
        assert (working.version, broken.version) == (1, 1)

    def test_an_integration_deleted_meanwhile_leaves_the_others_stored(
        self, client_record
    ):
        doomed = []

        def delete_while_testing(seen):
            Integration.objects.filter(pk__in=doomed).delete()
            return Reply(body={})

        with FakeServer(delete_while_testing) as fake:
            kept = rest_integration(client_record, fake.url)
            deleted = rest_integration(client_record, fake.url, "Deleted")
            doomed.append(deleted.pk)
            results = connection_tests.test_many([kept, deleted])

        assert [result["status"] for result in results] == ["ok", "ok"]
        assert list(ConnectionTest.objects.values_list("integration", flat=True)) == [
            kept.pk
        ]

    def test_when_storing_fails_the_workers_stop_taking_tests(
        self, settings, client_record, monkeypatch
    ):
        settings.CONNECTION_TEST_CONCURRENCY = 1

        def database_gone(tested, user=None):
            raise OperationalError("the database went away")

        monkeypatch.setattr(connection_tests, "record_results", database_gone)
        with FakeServer(lambda seen: Reply(body={}, delay=0.1)) as fake:
            integrations = [
                rest_integration(client_record, fake.url, f"ERP {n}") for n in range(6)
            ]
            with pytest.raises(OperationalError):
                connection_tests.test_many(integrations)
            asked = len(fake.requests)

        assert asked < 6
        assert not [
            thread
            for thread in threading.enumerate()
            if thread.name.startswith(WORKER_NAME)
        ]

    @pytest.mark.parametrize("ids", [["1"], [True], [1, "2"], [1.5]])
    def test_ids_must_be_integers(self, member, integration, ids):
        response = api_as(member).post(
            "/api/integrations/test", {"ids": ids}, format="json"
        )

        assert response.status_code == 400
        assert "ids" in response.json()
        assert not ConnectionTest.objects.exists()

    def test_unknown_ids_answer_400(self, member, integration):
        response = api_as(member).post(
            "/api/integrations/test", {"ids": [integration.pk, 999999]}, format="json"
        )

        assert response.status_code == 400
        assert "999999" in response.json()["ids"][0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--client", "9" * 20], "not a client id"),
        (["--client", "0"], "not a client id"),
        (["--client", "abc"], "not a client id"),
        (["--client", "987654"], "No client with id 987654"),
        ([], "Say which integrations"),
    ],
)
def test_the_command_refuses_bad_arguments_plainly(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("test_integrations", *arguments)


@pytest.mark.django_db(transaction=True)
def test_the_command_tests_and_prints_a_summary(client_record, capsys):
    with FakeServer(lambda seen: Reply(body={})) as fake:
        rest_integration(client_record, fake.url)
        call_command("test_integrations", "--all")

    output = capsys.readouterr().out
    assert "ERP" in output
    assert "ok" in output
    assert "1 tested" in output


@pytest.mark.django_db(transaction=True)
def test_a_bug_in_a_probe_becomes_a_plain_result(
    member, client_record, monkeypatch, caplog
):
    import dataclasses

    from integrations import providers

    def broken_probe(check):
        raise RuntimeError("probe bug")

    broken = dataclasses.replace(
        providers.TEMPLATES["generic_rest"], probe=broken_probe
    )
    monkeypatch.setitem(providers.TEMPLATES, "generic_rest", broken)
    integration = rest_integration(client_record, "http://127.0.0.1:9")

    result = run_test(api_as(member), integration)

    assert result["status"] == "unexpected_response"
    assert "probe bug" not in result["message"]
    assert "probe bug" in caplog.text


def dripping_server():
    """A server that sends one header line a second, for ever: read timeouts never trip."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                for number in range(120):
                    connection.sendall(f"X-Drip-{number}: 1\r\n".encode())
                    time.sleep(1)
            except OSError:
                pass
            finally:
                connection.close()

    import threading

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_server_dripping_headers_is_cut_at_the_total_timeout(
    member, client_record, settings
):
    settings.OUTBOUND_TOTAL_TIMEOUT = 2
    listener = dripping_server()
    try:
        integration = rest_integration(
            client_record, f"http://127.0.0.1:{listener.getsockname()[1]}"
        )
        started = time.perf_counter()
        result = run_test(api_as(member), integration)
        elapsed = time.perf_counter() - started
    finally:
        listener.close()

    assert result["status"] == "timeout", result
    assert elapsed < 5, elapsed


@pytest.mark.parametrize(
    "url",
    [
        "http://loc%61lhost:9001/",
        "http://127.0.0.1:0/",
        "http://xn--/",
        "http://[::1%25eth0]:9001/",
    ],
)
def test_urls_the_client_cannot_use_are_refused_on_save(member, integration, url):
    response = api_as(member).patch(
        f"/api/integrations/{integration.pk}",
        {"config": {"api_url": url}},
        format="json",
    )

    assert response.status_code == 400
    assert "config.api_url" in response.json()


@pytest.mark.django_db(transaction=True)
def test_a_stored_unusable_url_gives_a_result_in_every_way_of_testing(
    member, client_record
):
    integration = rest_integration(client_record, "http://127.0.0.1:9")
    Integration.objects.filter(pk=integration.pk).update(
        config={"api_url": "http://loc%61lhost:9001/", "auth_method": "none"},
        status="active",
    )
    api = api_as(member)

    single = api.post(f"/api/integrations/{integration.pk}/test")
    bulk = api.post("/api/integrations/test", {"ids": [integration.pk]}, format="json")
    draft = api.post(
        "/api/integration-types/generic_rest/test",
        {"config": {"api_url": "http://loc%61lhost:9001/", "auth_method": "none"}},
        format="json",
    )
    call_command("run_monitor", "--once")

    assert single.status_code == 200 and single.json()["status"] != "ok"
    assert bulk.status_code == 200 and bulk.json()[0]["status"] != "ok"
    assert draft.status_code == 200 and draft.json()["status"] == "invalid_config"


def test_an_odoo_fault_on_version_is_a_plain_result(member, client_record):
    with OdooXmlRpc() as fake:

        def broken_version():
            raise xmlrpc.client.Fault(1, "Traceback ... KeyError")

        fake.server.register_function(broken_version, "version")
        integration = TestOdoo().odoo(client_record, fake)
        result = run_test(api_as(member), integration)

    assert result["status"] == "server_error", result
    assert "Traceback" not in result["message"]
