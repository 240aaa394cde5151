"""Reading API description documents: real public ones, hostile ones and small made-up ones."""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml

from conftest import shared_fixtures
from integrations import discovery
from integrations.discovery import (
    MAX_DOCUMENT_BYTES,
    DiscoveryError,
    Operation,
    is_relevant,
    parse_document,
    sorted_for_display,
)


def fixture_bytes(name: str) -> bytes:
    return (shared_fixtures("openapi") / name).read_bytes()


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Written in the test too, so that a change in the parser shows as a number that moved.
FIXTURE_FACTS = {
    "xero-accounting-3.0.yaml": ("3.0.0", "Xero Accounting API", 235),
    "apideck-accounting-3.0.yaml": ("3.0.3", "Accounting API", 150),
    "paystack-3.0.yaml": ("3.0.1", "Paystack", 163),
    "square-connect-swagger-2.0.json": ("2.0", "Square Connect API", 297),
    "adyen-checkout-v71-3.1.json": ("3.1.0", "Adyen Checkout API", 28),
    "petstore-swagger-2.0.json": ("2.0", "Swagger Petstore", 3),
    "petstore-expanded-3.0.yaml": ("3.0.0", "Swagger Petstore", 4),
}

# Appears in every hostile document below: no error message may repeat it.
CANARY = "canary-text-not-real"


@pytest.fixture(scope="module")
def parsed() -> dict:
    """Each fixture parsed once for the whole module: the large ones take a second."""
    return {name: parse_document(fixture_bytes(name)) for name in FIXTURE_FACTS}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Parsing never opens a connection, remote $refs included."""

    def refuse(*args, **kwargs):
        raise AssertionError("the parser tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def count_operations(name: str) -> int:
    """Count operations the plain way, with PyYAML's own loader, to check the parser."""
    raw = fixture_bytes(name)
    document = (
        json.loads(raw)
        if name.endswith(".json")
        else yaml.load(raw, Loader=yaml.CSafeLoader)
    )
    return sum(
        1 for item in document["paths"].values() for method in METHODS if method in item
    )


def find(description, method: str, path: str) -> Operation:
    matches = [
        operation
        for operation in description.operations
        if (operation.method, operation.path) == (method, path)
    ]
    assert len(matches) == 1, f"{method} {path} not found exactly once"
    return matches[0]


def document(**fields) -> bytes:
    base = {
        "openapi": "3.0.3",
        "info": {"title": "Made up", "version": "1"},
        "paths": {},
    }
    return json.dumps(base | fields).encode()


def swagger(**fields) -> bytes:
    base = {"swagger": "2.0", "info": {"title": "Made up", "version": "1"}, "paths": {}}
    return json.dumps(base | fields).encode()


def refused(raw: bytes, content_type: str = "") -> str:
    """Parse what must be refused and return the message, checked for the contract."""
    with pytest.raises(DiscoveryError) as caught:
        parse_document(raw, content_type)
    assert type(caught.value) is DiscoveryError
    message = str(caught.value)
    assert CANARY not in message
    assert "\n" not in message and message.endswith(".")
    return message


def nested(depth: int) -> dict:
    """A document whose deepest value sits `depth` levels down, the root counting 1."""
    value: dict = {}
    for _ in range(depth - 2):
        value = {"x": value}
    return {"openapi": "3.0.0", "info": {}, "paths": {}, "x-deep": value}


class TestRealDocuments:
    @pytest.mark.parametrize("name", FIXTURE_FACTS)
    def test_it_reads_each_public_document(self, parsed, name):
        spec_version, title, operation_count = FIXTURE_FACTS[name]
        description = parsed[name]

        assert description.spec_version == spec_version
        assert description.title == title
        assert len(description.operations) == operation_count
        assert len(description.operations) == count_operations(name)
        json.dumps(description.as_dict())

    def test_it_marks_xero_invoices_and_credit_notes_relevant(self, parsed):
        xero = parsed["xero-accounting-3.0.yaml"]

        for method, path in [
            ("GET", "/Invoices"),
            ("PUT", "/Invoices"),
            ("GET", "/CreditNotes"),
            ("GET", "/Contacts"),
            ("GET", "/Items"),
            ("GET", "/TaxRates"),
        ]:
            assert find(xero, method, path).relevant, path
        assert not find(xero, "GET", "/Accounts").relevant

    def test_it_reads_what_a_xero_invoice_call_needs(self, parsed):
        xero = parsed["xero-accounting-3.0.yaml"]
        get_invoices = find(xero, "GET", "/Invoices")
        put_invoices = find(xero, "PUT", "/Invoices")

        assert get_invoices.operation_id == "getInvoices"
        assert get_invoices.needs_auth
        assert {"name": "xero-tenant-id", "in": "header", "required": True} in (
            get_invoices.parameters
        )
        assert "application/json" in put_invoices.request_media_types
        assert xero.api_version == "16.1.0"
        assert xero.servers == ["https://api.xero.com/api.xro/2.0"]

    def test_it_suggests_xeros_organisation_for_checking_a_connection(self, parsed):
        assert (
            parsed["xero-accounting-3.0.yaml"].suggested_health_path == "/Organisation"
        )

    def test_it_reads_apideck_despite_its_yaml_aliases(self, parsed):
        apideck = parsed["apideck-accounting-3.0.yaml"]

        assert find(apideck, "GET", "/accounting/invoices").relevant
        assert find(apideck, "POST", "/accounting/invoices").relevant
        assert find(apideck, "GET", "/accounting/credit-notes").relevant
        assert find(apideck, "GET", "/accounting/tax-rates").relevant
        assert not find(apideck, "GET", "/accounting/journal-entries").relevant
        assert apideck.suggested_health_path == "/accounting/company-info"

    def test_it_takes_paystack_payment_requests_for_invoices(self, parsed):
        paystack = parsed["paystack-3.0.yaml"]

        assert find(paystack, "POST", "/paymentrequest").relevant
        assert find(paystack, "GET", "/paymentrequest").relevant
        assert find(paystack, "GET", "/paymentrequest/{id}").relevant
        # Auth comes from the document-level `security`.
        assert all(operation.needs_auth for operation in paystack.operations)

    def test_it_reads_square_swagger_with_its_body_parameters(self, parsed):
        square = parsed["square-connect-swagger-2.0.json"]
        create_invoice = find(square, "POST", "/v2/invoices")

        assert find(square, "GET", "/v2/invoices").relevant
        assert find(square, "POST", "/v2/invoices/{invoice_id}/publish").relevant
        assert create_invoice.relevant and create_invoice.needs_auth
        assert create_invoice.request_media_types == ["application/json"]
        assert all(p["in"] != "body" for p in create_invoice.parameters)
        assert square.servers == ["https://connect.squareup.com"]

    def test_it_sees_squares_token_call_needs_no_auth(self, parsed):
        obtain_token = find(
            parsed["square-connect-swagger-2.0.json"], "POST", "/oauth2/token"
        )

        assert obtain_token.needs_auth is False

    def test_it_marks_nothing_relevant_in_payment_and_pet_apis(self, parsed):
        for name in (
            "adyen-checkout-v71-3.1.json",
            "petstore-swagger-2.0.json",
            "petstore-expanded-3.0.yaml",
        ):
            assert not any(operation.relevant for operation in parsed[name].operations)

    def test_it_sees_petstores_declare_no_auth(self, parsed):
        petstore = parsed["petstore-swagger-2.0.json"]

        assert not any(operation.needs_auth for operation in petstore.operations)
        assert find(petstore, "GET", "/pets/{petId}").parameters == [
            {"name": "petId", "in": "path", "required": True}
        ]
        assert petstore.servers == ["http://petstore.swagger.io/v1"]

    def test_it_reads_the_largest_documents_in_reasonable_time(self):
        for name in ("square-connect-swagger-2.0.json", "apideck-accounting-3.0.yaml"):
            raw = fixture_bytes(name)
            started = time.perf_counter()
            parse_document(raw)
            print(f"{name}: {len(raw)} bytes in {time.perf_counter() - started:.2f} s")


class TestHostileDocuments:
    def test_it_refuses_malformed_json(self):
        message = refused(b'{"openapi": "3.0.0", "x": "' + CANARY.encode() + b'", ')

        assert "not valid JSON" in message

    def test_it_refuses_malformed_yaml(self):
        message = refused(f"openapi: 3.0.0\nx: [{CANARY}\n  y: : ]\n".encode())

        assert "YAML" in message

    def test_it_refuses_text_that_is_not_utf8(self):
        assert "UTF-8" in refused(b"openapi: \xff\xfe 3.0.0\n")

    def test_it_refuses_a_document_over_5_mb_before_parsing_it(self):
        raw = document(x=CANARY) + b" " * MAX_DOCUMENT_BYTES

        started = time.perf_counter()
        assert "5 MB" in refused(raw)
        assert time.perf_counter() - started < 1

    def test_it_accepts_a_document_of_exactly_5_mb(self):
        raw = document()
        raw += b" " * (MAX_DOCUMENT_BYTES - len(raw))

        assert parse_document(raw).title == "Made up"

    def test_it_refuses_billion_laughs_yaml(self):
        lines = ["openapi: 3.0.0", "paths: {}", f'a: &a ["{CANARY}", "lol"]']
        for level in "bcdefghij":
            previous = chr(ord(level) - 1)
            lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 10)}]")

        message = refused("\n".join(lines).encode())

        assert "aliases" in message

    def test_it_refuses_one_large_anchor_repeated_many_times(self):
        big = "[" + ", ".join(["x"] * 2000) + "]"
        raw = f"openapi: 3.0.0\npaths: {{}}\nbig: &big {big}\nmany: [{', '.join(['*big'] * 100)}]\n"

        assert "aliases" in refused(raw.encode())

    def test_it_refuses_yaml_with_too_many_values(self, monkeypatch):
        # The real limit (a million) takes seconds to reach; the counting is the same.
        monkeypatch.setattr(discovery, "MAX_YAML_VALUES", 1000)
        raw = b"openapi: 3.0.0\npaths: {}\nx: [" + b"a," * 1000 + b"a]\n"

        assert "more than 1,000 values" in refused(raw)
        assert parse_document(b"openapi: 3.0.0\npaths: {}\nx: [" + b"a," * 900 + b"a]")

    def test_it_refuses_an_alias_inside_its_own_anchor(self):
        raw = f"openapi: 3.0.0\npaths: {{}}\nloop: &loop [{CANARY}, *loop]\n"

        assert "alias" in refused(raw.encode())

    def test_it_refuses_json_nested_10000_deep(self):
        raw = b"[" * 10_000 + b"]" * 10_000

        assert "nested more than 64 levels" in refused(raw)

    @pytest.mark.parametrize("loader", ["libyaml", "pure-python"])
    def test_it_refuses_yaml_nested_10000_deep(self, loader, monkeypatch):
        if loader == "pure-python":
            monkeypatch.setattr(discovery, "_FastYamlLoader", None)
        raw = b"openapi: 3.0.0\npaths: " + b"[" * 10_000 + b"]" * 10_000

        assert "nested more than 64 levels" in refused(raw, "application/yaml")

    def test_it_reads_the_same_without_libyaml(self, monkeypatch):
        raw = fixture_bytes("petstore-expanded-3.0.yaml")
        raw += b"x-shared: &shared {a: [1, 2]}\nx-again: *shared\n"
        with_libyaml = parse_document(raw)
        monkeypatch.setattr(discovery, "_FastYamlLoader", None)

        assert parse_document(raw) == with_libyaml

    def test_it_refuses_billion_laughs_without_libyaml_too(self, monkeypatch):
        monkeypatch.setattr(discovery, "_FastYamlLoader", None)

        self.test_it_refuses_billion_laughs_yaml()

    def test_it_refuses_json_nested_just_past_the_limit(self):
        assert "nested" in refused(json.dumps(nested(65)).encode())

    def test_it_accepts_nesting_at_the_limit(self):
        assert parse_document(json.dumps(nested(64)).encode()).operations == []

    def test_it_refuses_a_parameter_ref_cycle(self):
        raw = document(
            paths={
                "/a": {"get": {"parameters": [{"$ref": "#/components/parameters/p"}]}}
            },
            components={
                "parameters": {
                    "p": {"$ref": "#/components/parameters/q"},
                    "q": {"$ref": "#/components/parameters/p", "x": CANARY},
                }
            },
        )

        assert "$ref cycle" in refused(raw)

    def test_it_refuses_a_path_item_that_refers_to_itself(self):
        raw = document(paths={"/a": {"$ref": "#/paths/~1a"}})

        assert "$ref cycle" in refused(raw)

    @pytest.mark.parametrize(
        "raw",
        [
            json.dumps({"name": CANARY, "paths": {}}).encode(),
            json.dumps([CANARY]).encode(),
            CANARY.encode(),
            b"",
            b"null",
            json.dumps({"openapi": "4.0", "paths": {}, "x": CANARY}).encode(),
            json.dumps({"openapi": "3.2.0", "paths": {}}).encode(),
            json.dumps({"openapi": 3.0, "paths": {}}).encode(),
            json.dumps({"swagger": "1.2", "paths": {}}).encode(),
            json.dumps({"swagger": "2.0", "openapi": "4.0", "paths": {}}).encode(),
        ],
        ids=[
            "plain-object",
            "list",
            "scalar",
            "empty",
            "null",
            "openapi-4.0",
            "openapi-3.2",
            "openapi-number",
            "swagger-1.2",
            "both-keys",
        ],
    )
    def test_it_refuses_what_is_not_an_api_description(self, raw):
        assert "is not an OpenAPI or Swagger document" in refused(raw)

    def test_it_refuses_paths_that_are_not_an_object(self):
        message = refused(json.dumps({"openapi": "3.0.0", "paths": [CANARY]}).encode())

        assert '"paths" is not an object' in message

    def test_it_refuses_a_30_document_without_paths(self):
        raw = json.dumps({"openapi": "3.0.0", "info": {}}).encode()

        assert '"paths" is not an object' in refused(raw)

    @pytest.mark.parametrize(
        "raw",
        [
            b"openapi: 3.0.0\npaths: {}\ndate: 2024-13-45\n",
            b"openapi: 3.0.0\npaths: {}\nbig: " + b"1" * 5000 + b"\n",
            b'{"openapi": "3.0.0", "paths": {}, "big": ' + b"1" * 5000 + b"}",
            b"openapi: 3.0.0\npaths: {}\n? [a, b]\n: c\n",
            b"openapi: 3.0.0\npaths: {}\nx: !!python/object:os.system ls\n",
            b"openapi: 3.0.0\npaths: {}\nx: *undefined\n",
            b"openapi: 3.0.0\n---\nopenapi: 3.0.0\n",
            b"\x00\x01\x02",
            b"\xef\xbb\xbf",
        ],
        ids=[
            "impossible-date",
            "huge-yaml-int",
            "huge-json-int",
            "list-as-key",
            "python-tag",
            "undefined-alias",
            "two-documents",
            "control-bytes",
            "bom-only",
        ],
    )
    def test_it_answers_odd_input_with_a_discovery_error_or_a_result(self, raw):
        try:
            parse_document(raw)
        except DiscoveryError as error:
            assert "\n" not in str(error)


class TestOperations:
    def test_it_lets_operation_security_override_the_documents(self):
        raw = document(
            security=[{"key": []}],
            paths={
                "/open": {"get": {"security": []}},
                "/closed": {"get": {}},
                "/optional": {"get": {"security": [{}, {"key": []}]}},
            },
        )
        description = parse_document(raw)

        assert find(description, "GET", "/open").needs_auth is False
        assert find(description, "GET", "/closed").needs_auth is True
        assert find(description, "GET", "/optional").needs_auth is False

    def test_it_reads_swagger_security_the_same_way(self):
        raw = swagger(
            securityDefinitions={
                "key": {"type": "apiKey", "in": "header", "name": "X"}
            },
            paths={"/a": {"get": {"security": [{"key": []}]}, "post": {}}},
        )
        description = parse_document(raw)

        assert find(description, "GET", "/a").needs_auth is True
        assert find(description, "POST", "/a").needs_auth is False

    def test_it_merges_path_and_operation_parameters(self):
        raw = document(
            paths={
                "/things/{id}": {
                    "parameters": [
                        {"name": "id", "in": "path"},
                        {"name": "q", "in": "query", "required": True},
                        {"name": "q", "in": "header"},
                    ],
                    "get": {"parameters": [{"name": "q", "in": "query"}]},
                }
            }
        )
        get = parse_document(raw).operations[0]

        assert get.parameters == [
            {"name": "id", "in": "path", "required": True},
            {"name": "q", "in": "query", "required": False},
            {"name": "q", "in": "header", "required": False},
        ]

    def test_it_resolves_refs_with_json_pointer_escapes(self):
        raw = document(
            paths={
                "/a": {
                    "post": {
                        "parameters": [{"$ref": "#/components/parameters/a~1b~0c"}],
                        "requestBody": {"$ref": "#/components/requestBodies/Thing"},
                    }
                },
                "/b": {"$ref": "#/paths/~1a"},
            },
            components={
                "parameters": {"a/b~c": {"name": "x", "in": "query", "required": True}},
                "requestBodies": {
                    "Thing": {"content": {"application/json": {}, "text/csv": {}}}
                },
            },
        )
        description = parse_document(raw)
        post = find(description, "POST", "/a")

        assert post.parameters == [{"name": "x", "in": "query", "required": True}]
        assert post.request_media_types == ["application/json", "text/csv"]
        assert find(description, "POST", "/b").parameters == post.parameters

    def test_it_leaves_remote_and_dangling_refs_unresolved(self):
        raw = document(
            paths={
                "/a": {
                    "get": {
                        "parameters": [
                            {"$ref": "https://example.com/common.json#/p"},
                            {"$ref": "#/components/parameters/missing"},
                            {"name": "kept", "in": "query"},
                        ]
                    }
                },
                "/remote": {"$ref": "https://example.com/paths.json#/a"},
            }
        )
        description = parse_document(raw)

        assert [p["name"] for p in find(description, "GET", "/a").parameters] == [
            "kept"
        ]
        assert len(description.operations) == 1

    def test_it_reads_schemas_that_refer_to_each_other(self):
        schema_a = {
            "type": "object",
            "properties": {"b": {"$ref": "#/components/schemas/B"}},
        }
        schema_b = {"type": "array", "items": {"$ref": "#/components/schemas/A"}}
        raw = document(
            paths={
                "/invoices": {
                    "post": {
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/A"}
                                }
                            }
                        }
                    }
                }
            },
            components={"schemas": {"A": schema_a, "B": schema_b}},
        )
        post = parse_document(raw).operations[0]

        assert post.relevant and post.request_media_types == ["application/json"]

    def test_it_takes_swagger_body_types_from_consumes(self):
        raw = swagger(
            consumes=["application/xml"],
            paths={
                "/a": {
                    "post": {"parameters": [{"name": "body", "in": "body"}]},
                    "put": {
                        "consumes": ["application/json"],
                        "parameters": [{"name": "body", "in": "body"}],
                    },
                    "get": {"parameters": [{"name": "q", "in": "query"}]},
                }
            },
        )
        description = parse_document(raw)

        assert find(description, "POST", "/a").request_media_types == [
            "application/xml"
        ]
        assert find(description, "PUT", "/a").request_media_types == [
            "application/json"
        ]
        assert find(description, "GET", "/a").request_media_types == []
        assert find(description, "POST", "/a").parameters == []

    def test_it_assumes_the_usual_swagger_types_when_none_are_declared(self):
        raw = swagger(
            paths={
                "/a": {
                    "post": {"parameters": [{"name": "body", "in": "body"}]},
                    "put": {"parameters": [{"name": "f", "in": "formData"}]},
                }
            }
        )
        description = parse_document(raw)

        assert find(description, "POST", "/a").request_media_types == [
            "application/json"
        ]
        assert find(description, "PUT", "/a").request_media_types == [
            "application/x-www-form-urlencoded"
        ]

    def test_it_builds_swagger_servers_from_host_schemes_and_base_path(self):
        raw = swagger(host="api.example.com", basePath="/v2", schemes=["https", "http"])

        assert parse_document(raw).servers == [
            "https://api.example.com/v2",
            "http://api.example.com/v2",
        ]

    def test_it_reads_unquoted_swagger_version_and_dates_in_yaml(self):
        raw = b"swagger: 2.0\ninfo:\n  title: T\n  version: 2024-01-31\npaths: {}\n"
        description = parse_document(raw)

        assert description.spec_version == "2.0"
        assert description.api_version == "2024-01-31"

    def test_it_reads_yaml_flow_style_when_told_it_is_yaml(self):
        raw = b"{openapi: 3.1.0, info: {title: Flow, version: '1'}, paths: {}}"

        assert parse_document(raw, "application/yaml; charset=utf-8").title == "Flow"
        assert "not valid JSON" in refused(raw)

    def test_it_accepts_a_31_document_without_paths(self):
        raw = json.dumps({"openapi": "3.1.0", "info": {}, "webhooks": {}}).encode()

        assert parse_document(raw).operations == []


class TestHealthPath:
    def health_path(self, *paths: str, **operations) -> str | None:
        items = {path: {"get": {}} for path in paths} | operations
        return parse_document(document(paths=items)).suggested_health_path

    def test_it_prefers_health_then_ping_then_status_then_version(self):
        assert (
            self.health_path("/me", "/version", "/status", "/ping", "/health")
            == "/health"
        )
        assert self.health_path("/me", "/version", "/status", "/ping") == "/ping"
        assert self.health_path("/me", "/version", "/status") == "/status"
        assert self.health_path("/me", "/version") == "/version"
        assert self.health_path("/pets", "/v1/me") == "/v1/me"

    def test_it_skips_calls_that_need_arguments(self):
        needs_query = {
            "get": {"parameters": [{"name": "q", "in": "query", "required": True}]}
        }
        needs_path = {"get": {"parameters": [{"name": "id", "in": "path"}]}}

        assert self.health_path("/version", **{"/health": needs_query}) == "/version"
        assert self.health_path("/status", **{"/ping/{id}": needs_path}) == "/status"

    def test_it_finds_health_in_the_operation_id(self):
        item = {"get": {"operationId": "checkHealth"}}

        assert self.health_path("/status", **{"/v1/check": item}) == "/v1/check"

    def test_it_suggests_nothing_without_a_fitting_get(self):
        assert self.health_path("/pets") is None
        assert self.health_path(**{"/health": {"post": {}}}) is None


class TestRelevance:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/invoices",
            "/Invoices/{InvoiceID}",
            "/invoice",
            "/credit-notes",
            "/credit_notes",
            "/CreditNotes",
            "/creditnote",
            "/customers",
            "/contacts",
            "/v1/items",
            "/products/{id}",
            "/tax-rates",
            "/TaxRates",
            "/taxrate",
            "/taxes",
            "/companies",
            "/company/info",
            "/organisation",
            "/organizations",
            "/paymentrequest",
        ],
    )
    def test_it_marks_e_invoicing_paths(self, path):
        assert is_relevant(path, [], "")

    @pytest.mark.parametrize(
        "path",
        [
            "/pets",
            "/itemsets",
            "/invoicing-settings",
            "/taxonomy",
            "/pets/{customerId}",
            "/contactless",
            "/payments",
        ],
    )
    def test_it_leaves_other_paths_out(self, path):
        assert not is_relevant(path, [], "")

    def test_it_reads_tags_operation_ids_and_summaries(self):
        assert is_relevant("/x", ["Credit Notes"], "")
        assert is_relevant("/x", [], "listInvoices")
        assert is_relevant("/x", [], "", "Create an invoice")
        assert not is_relevant("/x", ["Pets"], "listPets", "List all pets")


class TestDisplayOrder:
    def test_it_puts_relevant_operations_first_then_path_then_method(self):
        def op(method: str, path: str, relevant: bool) -> Operation:
            return Operation(method, path, "", "", relevant=relevant)

        operations = [
            op("GET", "/pets", False),
            op("DELETE", "/invoices", True),
            op("POST", "/invoices", True),
            op("GET", "/invoices", True),
            op("GET", "/customers", True),
            op("GET", "/accounts", False),
        ]

        assert [(o.method, o.path) for o in sorted_for_display(operations)] == [
            ("GET", "/customers"),
            ("GET", "/invoices"),
            ("POST", "/invoices"),
            ("DELETE", "/invoices"),
            ("GET", "/accounts"),
            ("GET", "/pets"),
        ]
