"""Read an OpenAPI 3.0/3.1 or Swagger 2.0 document into the operations an integrator needs.

This is the parsing half of endpoint discovery: it takes the bytes someone else fetched
and never fetches anything itself, remote `$ref`s included. Hostile documents are refused
with a `DiscoveryError` whose message says what is wrong without repeating the document:
too large, YAML aliases that expand without bound, nesting too deep, or not an API
description at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import unquote

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the pure-Python loader still works.
    CParser = None

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64

# How many nodes YAML aliases may add in total once expanded. Real documents reuse a
# few examples (apideck's accounting spec adds 238 nodes this way); a billion
# laughs document needs millions.
MAX_ALIAS_EXPANSION = 100_000

# How many values a YAML document may hold. PyYAML builds an object for each, so 5 MB of
# "[a, a, a, ...]" would take half a minute and a gigabyte; the largest real document
# here (apideck, 1.2 MB) has 65,000.
MAX_YAML_VALUES = 1_000_000

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DISPLAY_METHOD_ORDER = ("get", "post", "put", "patch", "delete", "head", "options")

# Resources an e-invoicing integration reads or writes, as lowercase words. Two-word
# names also match when written as one word ("CreditNotes", "taxrate").
RELEVANT_WORDS = {
    "invoice",
    "invoices",
    "customer",
    "customers",
    "contact",
    "contacts",
    "item",
    "items",
    "product",
    "products",
    "tax",
    "taxes",
    "company",
    "companies",
    "organisation",
    "organisations",
    "organization",
    "organizations",
}
RELEVANT_PAIRS = {
    ("credit", "note"),
    ("credit", "notes"),
    ("tax", "rate"),
    ("tax", "rates"),
    # Paystack calls the invoices it sends "payment requests".
    ("payment", "request"),
    ("payment", "requests"),
}
RELEVANT_WORDS |= {first + second for first, second in RELEVANT_PAIRS}

# Words that mark a cheap GET for checking a connection, best first.
HEALTH_RANKS = (
    {"health", "healthz", "healthcheck"},
    {"ping"},
    {"status"},
    {"version"},
    {"organisation", "organisations", "organization", "organizations", "company", "me"},
)

WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
PATH_TEMPLATE = re.compile(r"\{[^}]*\}")
SUPPORTED_OPENAPI = re.compile(r"3\.[01](\.[0-9]+)?")


class DiscoveryError(ValueError):
    """str(error) is one sentence saying what is wrong, never echoing the document."""


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tags: list[str] = field(default_factory=list)
    parameters: list[dict] = field(default_factory=list)
    request_media_types: list[str] = field(default_factory=list)
    needs_auth: bool = False
    relevant: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ApiDescription:
    title: str
    api_version: str
    spec_version: str
    operations: list[Operation] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    suggested_health_path: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def parse_document(raw: bytes, content_type: str = "") -> ApiDescription:
    """Read an API description from JSON or YAML bytes, or raise DiscoveryError."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DiscoveryError("The document is larger than 5 MB, the most accepted.")

    text = _decode(raw)
    if _looks_like_json(text, content_type):
        document = _load_json(text)
    else:
        document = _load_yaml(text)
    _check_depth(document)

    spec_version = _spec_version(document)
    return _describe(document, spec_version)


def is_relevant(
    path: str, tags: list[str], operation_id: str, summary: str = ""
) -> bool:
    """Say whether an operation touches what an e-invoice is made of."""
    texts = [PATH_TEMPLATE.sub(" ", path), operation_id, summary, *tags]
    return any(_mentions_relevant(_words(text)) for text in texts)


def sorted_for_display(operations: Iterable[Operation]) -> list[Operation]:
    """Order operations relevant first, then by path, then by the usual method order."""

    def key(operation: Operation) -> tuple:
        method = operation.method.lower()
        rank = (
            DISPLAY_METHOD_ORDER.index(method)
            if method in DISPLAY_METHOD_ORDER
            else len(DISPLAY_METHOD_ORDER)
        )
        return (not operation.relevant, operation.path.lower(), operation.path, rank)

    return sorted(operations, key=key)


# Reading bytes into plain data.


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DiscoveryError("The document is not valid UTF-8 text.") from None


def _looks_like_json(text: str, content_type: str) -> bool:
    content_type = content_type.lower()
    if "json" in content_type:
        return True
    if "yaml" in content_type or "yml" in content_type:
        return False
    return text.lstrip()[:1] in ("{", "[")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise DiscoveryError(
            "The document is not valid JSON; check it with a JSON validator."
        ) from None


def _load_yaml(text: str) -> Any:
    loader = _FastYamlLoader(text) if _FastYamlLoader else _SafeYamlLoader(text)
    try:
        return loader.get_single_data()
    except DiscoveryError:
        raise
    except RecursionError:
        raise _too_deep() from None
    except yaml.MarkedYAMLError as error:
        # libyaml stops flow nesting at 1,000 levels, before the composer's own check.
        if "nesting depth" in str(error.problem):
            raise _too_deep() from None
        raise _not_yaml() from None
    except (yaml.YAMLError, ValueError, TypeError):
        # ValueError and TypeError come from values PyYAML cannot build, such as
        # integers too long to convert or unhashable mapping keys.
        raise _not_yaml() from None
    finally:
        loader.dispose()


def _not_yaml() -> DiscoveryError:
    return DiscoveryError(
        "The document is neither valid JSON nor valid YAML; check its syntax."
    )


def _too_deep() -> DiscoveryError:
    return DiscoveryError(
        f"The document is nested more than {MAX_DEPTH} levels deep, "
        "which no API description needs."
    )


class _GuardedComposition:
    """Compose YAML nodes while refusing deep nesting and runaway alias expansion."""

    def _start_guard(self) -> None:
        self._depth = 0
        self._sizes: dict[int, int] = {}
        self._open_anchors: set[str] = set()
        self._alias_expansion = 0
        self._values = 0

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            self._count_alias(self.peek_event().anchor)
            return super().compose_node(parent, index)

        self._depth += 1
        self._values += 1
        if self._depth > MAX_DEPTH:
            raise _too_deep()
        if self._values + self._alias_expansion > MAX_YAML_VALUES:
            raise DiscoveryError(
                f"The YAML document holds more than {MAX_YAML_VALUES:,} values, "
                "more than an API description needs."
            )
        anchor = getattr(self.peek_event(), "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)

        node = super().compose_node(parent, index)

        self._open_anchors.discard(anchor)
        self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in _kids(node))
        return node

    def _count_alias(self, anchor: str) -> None:
        if anchor in self._open_anchors:
            raise DiscoveryError(
                "The YAML document uses an alias inside its own anchor."
            )
        node = self.anchors.get(anchor)
        if node is None:
            return  # PyYAML itself reports the undefined alias.

        # An alias repeats its anchor's whole subtree, aliases inside it included.
        self._alias_expansion += self._sizes[id(node)]
        if self._alias_expansion > MAX_ALIAS_EXPANSION:
            raise DiscoveryError(
                "The YAML document's aliases expand to too many values; "
                "write the repeated parts out or use $ref instead."
            )


def _kids(node) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return node.value
    return []


class _SafeYamlLoader(_GuardedComposition, yaml.SafeLoader):
    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._start_guard()


# Keep dates as the strings they were written as, like JSON would; building them can
# also fail on impossible dates such as 2024-13-45.
_SafeYamlLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str
)

if CParser is not None:

    class _FastYamlLoader(
        _GuardedComposition, CParser, Composer, SafeConstructor, Resolver
    ):
        """The same loader with libyaml's scanner and parser, about four times faster."""

        # libyaml's own composer cannot be guarded, so the Python one runs on its events.
        get_single_node = Composer.get_single_node
        check_node = Composer.check_node
        get_node = Composer.get_node

        def __init__(self, stream) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._start_guard()

    _FastYamlLoader.add_constructor(
        "tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str
    )
else:
    _FastYamlLoader = None


def _check_depth(document: Any) -> None:
    # A loop, not recursion: the depth being checked is the thing that may be hostile.
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)


# Understanding the data as an API description.


def _spec_version(document: Any) -> str:
    not_api = DiscoveryError(
        'The document is not an OpenAPI or Swagger document this reader accepts: it needs "openapi": "3.0.x" or "3.1.x", or "swagger": "2.0".'
    )
    if not isinstance(document, dict):
        raise not_api

    openapi = document.get("openapi")
    swagger = document.get("swagger")
    if isinstance(openapi, str) and SUPPORTED_OPENAPI.fullmatch(openapi.strip()):
        version = openapi.strip()
    elif swagger in ("2.0", 2.0) and "openapi" not in document:
        version = "2.0"
    else:
        raise not_api

    paths = document.get("paths", {} if version.startswith("3.1") else None)
    if not isinstance(paths, dict):
        raise DiscoveryError(
            'The document is not an OpenAPI or Swagger document: its "paths" is not an object.'
        )
    return version


def _describe(document: dict, spec_version: str) -> ApiDescription:
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    operations = _operations(document, spec_version)
    return ApiDescription(
        title=_text(info.get("title")),
        api_version=_text(info.get("version")),
        spec_version=spec_version,
        operations=operations,
        servers=_servers(document, spec_version),
        suggested_health_path=_suggest_health_path(operations),
    )


def _operations(document: dict, spec_version: str) -> list[Operation]:
    operations = []
    for path, item in (document.get("paths") or {}).items():
        item = _path_item(document, item)
        shared_parameters = item.get("parameters")
        for method in HTTP_METHODS:
            raw = item.get(method)
            if isinstance(raw, dict):
                operations.append(
                    _operation(
                        document,
                        spec_version,
                        str(path),
                        method,
                        raw,
                        shared_parameters,
                    )
                )
    return operations


def _path_item(document: dict, item: Any) -> dict:
    if not isinstance(item, dict):
        return {}
    if "$ref" not in item:
        return item

    # Fields written next to the $ref win over the ones it points to (OpenAPI 3.1).
    target = _resolve(document, item)
    merged = dict(target) if isinstance(target, dict) else {}
    merged.update((key, value) for key, value in item.items() if key != "$ref")
    return merged


def _operation(
    document: dict,
    spec_version: str,
    path: str,
    method: str,
    raw: dict,
    shared_parameters: Any,
) -> Operation:
    parameters = _parameters(document, shared_parameters, raw.get("parameters"))
    tags = [
        _text(tag)
        for tag in raw.get("tags") or []
        if isinstance(tag, str | int | float)
    ]
    operation_id = _text(raw.get("operationId"))
    summary = _text(raw.get("summary"))

    if spec_version == "2.0":
        media_types = _swagger_media_types(document, raw, parameters)
        parameters = [p for p in parameters if p["in"] != "body"]
    else:
        media_types = _request_media_types(document, raw.get("requestBody"))

    return Operation(
        method=method.upper(),
        path=path,
        operation_id=operation_id,
        summary=summary,
        tags=tags,
        parameters=parameters,
        request_media_types=media_types,
        needs_auth=_needs_auth(document, raw),
        relevant=is_relevant(path, tags, operation_id, summary),
    )


def _parameters(document: dict, shared: Any, own: Any) -> list[dict]:
    """Merge path-level and operation-level parameters; the operation's win by name and place."""
    merged: dict[tuple[str, str], dict] = {}
    for group in (shared, own):
        for raw in group if isinstance(group, list) else []:
            parameter = _resolve(document, raw)
            if not isinstance(parameter, dict):
                continue  # A remote or dangling $ref: nothing to read.
            name, place = _text(parameter.get("name")), _text(parameter.get("in"))
            if name and place:
                required = place == "path" or parameter.get("required") is True
                merged[(name, place)] = {
                    "name": name,
                    "in": place,
                    "required": required,
                }
    return list(merged.values())


def _request_media_types(document: dict, request_body: Any) -> list[str]:
    body = _resolve(document, request_body)
    if not isinstance(body, dict) or not isinstance(body.get("content"), dict):
        return []
    return [_text(media_type) for media_type in body["content"]]


def _swagger_media_types(
    document: dict, raw: dict, parameters: list[dict]
) -> list[str]:
    """Swagger 2 sends a body or form fields in the types the operation `consumes`."""
    places = {parameter["in"] for parameter in parameters}
    if not places & {"body", "formData"}:
        return []

    consumes = raw.get("consumes", document.get("consumes"))
    if isinstance(consumes, list) and consumes:
        return [_text(media_type) for media_type in consumes]
    # Nothing declared: what Swagger 2 tools assume.
    return (
        ["application/json"]
        if "body" in places
        else ["application/x-www-form-urlencoded"]
    )


def _needs_auth(document: dict, raw: dict) -> bool:
    """Say whether every way to call the operation needs credentials."""
    security = raw.get("security")
    if not isinstance(security, list):
        security = document.get("security")
    if not isinstance(security, list) or not security:
        return False

    # An empty requirement object ({}) makes credentials optional.
    return all(
        isinstance(requirement, dict) and requirement for requirement in security
    )


def _servers(document: dict, spec_version: str) -> list[str]:
    if spec_version != "2.0":
        servers = document.get("servers")
        servers = servers if isinstance(servers, list) else []
        return [
            _text(server["url"])
            for server in servers
            if isinstance(server, dict) and isinstance(server.get("url"), str)
        ]

    host = document.get("host")
    base_path = _text(document.get("basePath"))
    if not isinstance(host, str) or not host:
        return [base_path] if base_path else []
    schemes = document.get("schemes")
    schemes = (
        [s for s in schemes if isinstance(s, str)] if isinstance(schemes, list) else []
    )
    return [f"{scheme}://{host}{base_path}" for scheme in schemes or ["https"]]


def _suggest_health_path(operations: list[Operation]) -> str | None:
    """Pick a GET that needs no arguments and looks made for checking a connection."""
    candidates = []
    for operation in operations:
        rank = _health_rank(operation)
        if rank is not None:
            has_template = "{" in operation.path
            candidates.append((rank, has_template, len(operation.path), operation.path))
    return min(candidates)[3] if candidates else None


def _health_rank(operation: Operation) -> int | None:
    if operation.method != "GET" or _needs_arguments(operation):
        return None

    text = f"{PATH_TEMPLATE.sub(' ', operation.path)} {operation.operation_id}"
    words = {word.lower() for word in _words(text)}
    for rank, marks in enumerate(HEALTH_RANKS):
        if words & marks:
            return rank
    return None


def _needs_arguments(operation: Operation) -> bool:
    # Required headers are usually the connection's own (a tenant id, an app id), which
    # every call sends anyway; required path or query values are not known in advance.
    return any(
        parameter["required"] and parameter["in"] in ("path", "query")
        for parameter in operation.parameters
    )


# $ref resolution and small readers.


def _resolve(document: dict, value: Any) -> Any:
    """Follow local $refs to what they point to: None for remote or dangling ones."""
    seen: set[str] = set()
    while isinstance(value, dict) and isinstance(value.get("$ref"), str):
        ref = value["$ref"]
        if not ref.startswith("#"):
            return None  # Remote: never fetched.
        if ref in seen:
            raise DiscoveryError(
                "The document has a $ref cycle where a parameter, request body or path item must be, so it cannot be read."
            )
        seen.add(ref)
        value = _pointer_target(document, ref[1:])
    return value


def _pointer_target(document: dict, pointer: str) -> Any:
    """Find a JSON Pointer (RFC 6901) target, URI-escaped as $ref fragments are."""
    pointer = unquote(pointer)
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return None

    value: Any = document
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            value = value.get(token)
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return None
    return value


def _words(text: str) -> list[str]:
    return WORD.findall(text)


def _mentions_relevant(words: list[str]) -> bool:
    lowered = [word.lower() for word in words]
    if any(word in RELEVANT_WORDS for word in lowered):
        return True
    return any(
        pair in RELEVANT_PAIRS for pair in zip(lowered, lowered[1:], strict=False)
    )


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)
