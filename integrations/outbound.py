"""Every HTTP request the product sends to a client's system goes through this module.

It is the product's guard against server-side request forgery: a URL is checked, its
host is looked up once, every address is checked against the block list, and the
connection goes to the checked address itself, so DNS cannot swap it afterwards.

Known limitations: the first checked address is the only one tried (no fallback to
the next address on failure), connections are never reused (every request opens a
new one, so a pooled TLS connection cannot be shared between two host names that
share an address), and an OutboundClient is not safe to share between threads.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import ipaddress
import json as jsonlib
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import certifi
import httpx
from django.conf import settings

USER_AGENT = "TaxPoynt-Integrations/1.0"
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_CODES = {301, 302, 303, 307, 308}
CROSS_ORIGIN_KEPT_HEADERS = {"accept", "accept-language", "user-agent", "content-type"}

Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _networks(*cidrs: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Spelled out rather than left to ipaddress.is_global, whose tables change between
# Python releases; is_global is still consulted as a second opinion.
BLOCKED_IPV4 = _networks(
    "0.0.0.0/8",  # "this network", includes the unspecified address
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # retired 6to4 relay anycast
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, includes the broadcast address
)
BLOCKED_IPV6 = _networks(
    "::/128",
    "::1/128",
    "::/96",  # IPv4-compatible, deprecated and never routed
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard
    "2001::/23",  # IETF protocol assignments, includes Teredo and benchmarking
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation
    "5f00::/16",  # segment routing identifiers
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # retired site-local
    "ff00::/8",  # multicast
)
# Cloud metadata services: never reachable, even inside an allowed network.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(ip)
    for ip in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "192.0.0.192",
        "168.63.129.16",
    )
)
IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
BROADCAST = ipaddress.IPv4Address("255.255.255.255")
LOOPBACK_NAMES = ("localhost",)
LOCALHOST_ADDRESSES = ["127.0.0.1", "::1"]
HOST_NAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*$")
TLS_PROBLEMS = {
    9: ("other", "its certificate is not valid yet"),
    10: ("expired", "its certificate has expired"),
    18: ("self_signed", "its certificate is self-signed"),
    19: ("self_signed", "its certificate chain ends in a self-signed certificate"),
    2: ("untrusted", "its certificate is not signed by a trusted authority"),
    20: ("untrusted", "its certificate is not signed by a trusted authority"),
    21: ("untrusted", "its certificate is not signed by a trusted authority"),
    62: ("hostname_mismatch", "its certificate is for another host name"),
    64: ("hostname_mismatch", "its certificate is for another IP address"),
}


class OutboundError(Exception):
    """A request that could not be made or answered, with a sentence safe to show."""

    def __init__(
        self, status: str, stage: str, message: str, tls_problem: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.stage = stage
        self.message = message
        self.tls_problem = tls_problem


@dataclass
class Stage:
    name: str
    ok: bool
    duration_ms: float
    detail: str = ""


@dataclass
class Response:
    status_code: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    url: str
    elapsed_ms: float

    def json(self) -> Any:
        """Parse the body as JSON; raise ValueError when it is not."""
        return jsonlib.loads(self.body)

    def text(self) -> str:
        charset = self.headers.get("content-type", "")
        match = re.search(r"charset=\"?([\w.:-]+)", charset, re.IGNORECASE)
        encoding = match.group(1) if match else "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "utf-8"
        return self.body.decode(encoding, errors="replace")

    @property
    def content_type(self) -> str:
        value = self.headers.get("content-type", "")
        return value.split(";", 1)[0].strip().lower()


@dataclass
class _Target:
    """A checked URL: where to connect, and what to call the host in the request."""

    scheme: str
    host: str  # lower case, no trailing dot, IPv6 without brackets
    port: int
    path: str
    query: str
    literal: Address | None = None

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return urlunsplit((self.scheme, self.host_header, self.path, self.query, ""))


@dataclass
class _Hop:
    """Timings of one request as httpcore reports them through its trace hook."""

    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    sock: socket.socket | None = None
    cut_off: bool = False

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        name, _, phase = event.rpartition(".")
        name = name.split(".", 1)[-1]
        if name == "connect_tcp" and phase == "complete":
            stream = info.get("return_value")
            self.sock = stream.get_extra_info("socket") if stream is not None else None
        if phase == "started":
            self.started[name] = time.monotonic()
        else:
            self.ended[name] = time.monotonic()
        if phase == "failed":
            self.failed.add(name)

    def cut(self) -> None:
        """Shut the connection when the total timeout is up.

        Read timeouts restart with every byte, so a server sending a header line a
        second would never trip them; this ends the request at the deadline anyway.
        """
        self.cut_off = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def duration_ms(self, name: str) -> float:
        """Time an event took, or has taken so far when it has not ended."""
        start = self.started.get(name)
        end = self.ended.get(name, time.monotonic())
        return 0.0 if start is None else round((end - start) * 1000, 2)

    def since_ms(self, name: str) -> float:
        start = self.started.get(name)
        return 0.0 if start is None else round((time.monotonic() - start) * 1000, 2)


def _fail(status: str, stage: str, message: str, tls_problem: str | None = None):
    return OutboundError(status, stage, message, tls_problem)


def _invalid(message: str) -> OutboundError:
    return _fail("invalid_config", "url", message)


def _parse(url: str) -> _Target:
    """Split a URL into a target, refusing everything check_url refuses."""
    if not isinstance(url, str) or not url:
        raise _invalid("The URL is empty.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _invalid("The URL contains spaces or control characters.")

    try:
        parts = urlsplit(url)
    except ValueError:
        raise _invalid("The URL could not be read.") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _invalid("The URL must start with http:// or https://.")
    if "@" in parts.netloc:
        raise _invalid("The URL must not contain a user name or password.")
    if "\\" in parts.netloc:
        raise _invalid("The URL host contains a backslash.")

    host = _normalise_host(parts.netloc)
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise _invalid("The URL port must be a number from 1 to 65535.") from None
    if parts.port == 0:
        raise _invalid("The URL port must be a number from 1 to 65535.")

    literal = _ip_literal(host)
    if literal is not None:
        host = str(literal)
    return _Target(scheme, host, port, parts.path or "/", parts.query, literal)


def _normalise_host(netloc: str) -> str:
    """Return the host of a netloc in lower case, without brackets or trailing dot."""
    if netloc.startswith("["):
        host, bracket, rest = netloc[1:].partition("]")
        if not bracket or not host or not re.fullmatch(r"(:\d*)?", rest):
            raise _invalid("The URL has an IPv6 address without its closing bracket.")
        return host.lower()

    host = netloc.rpartition(":")[0] if netloc.count(":") == 1 else netloc
    if ":" in host:
        raise _invalid("An IPv6 address in a URL must be written in brackets.")
    host = host.rstrip(".").lower() if host.strip(".") else ""
    if not host:
        raise _invalid("The URL has no host.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid("The URL host is not a valid host name.") from None
    if _ip_literal(host) is None and not HOST_NAME.match(host):
        raise _invalid("The URL host is not a valid host name.")
    return host


def _ip_literal(host: str) -> Address | None:
    """Read a host as an IP address in any notation a resolver would accept."""
    if ":" in host:
        address, _, zone = host.partition("%")
        try:
            parsed = ipaddress.IPv6Address(address)
        except ValueError:
            raise _invalid("The URL host is not a valid IPv6 address.") from None
        if zone:
            # Zone ids only make sense for link-local addresses, which are refused.
            raise _fail(
                "blocked_address", "url", "Addresses with an IPv6 zone are not allowed."
            )
        return parsed
    try:
        # inet_aton accepts the legacy forms too: 2130706433, 0x7f000001, 0177.0.0.1,
        # 127.1. Whatever it accepts is an address and never goes to a resolver.
        packed = socket.inet_aton(host)
    except OSError:
        return None
    return ipaddress.IPv4Address(packed)


def check_url(url: str) -> None:
    """Raise OutboundError(invalid_config, url) unless the URL is one we may request."""
    _parse(url)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in IPV4_MAPPED:
        return address.ipv4_mapped
    if address in SIX_TO_FOUR:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _as_address(ip: str | Address) -> Address | None:
    try:
        return ipaddress.ip_address(str(ip).split("%", 1)[0])
    except ValueError:
        return None


def is_blocked(ip: str) -> bool:
    """Tell whether an address is anything but a globally routable unicast address."""
    address = _as_address(ip)
    if address is None or address in METADATA_ADDRESSES:
        return True

    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_blocked(str(embedded))
        networks = BLOCKED_IPV6
    else:
        networks = BLOCKED_IPV4

    if any(address in network for network in networks):
        return True
    return not address.is_global or address.is_multicast


def _is_loopback(address: Address) -> bool:
    if address.version == 6 and address in IPV4_MAPPED:
        address = address.ipv4_mapped
    return address.is_loopback


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for cidr in getattr(settings, "INTEGRATION_ALLOWED_NETWORKS", []) or []:
        try:
            networks.append(ipaddress.ip_network(str(cidr).strip(), strict=False))
        except ValueError:
            raise _fail(
                "invalid_config",
                "url",
                "INTEGRATION_ALLOWED_NETWORKS has an entry that is not a network.",
            ) from None
    return networks


def _is_permitted(address: Address) -> bool:
    """Apply the loopback-only mode, the block list, then the allowed networks."""
    if getattr(settings, "OUTBOUND_LOOPBACK_ONLY", False):
        return _is_loopback(address)
    if not is_blocked(str(address)):
        return True

    embedded = _embedded_ipv4(address) if address.version == 6 else None
    candidates = [address] if embedded is None else [address, embedded]
    if any(_never_allowed(a) for a in candidates):
        return False
    networks = _allowed_networks()
    return any(a in n for a in candidates for n in networks if a.version == n.version)


def _never_allowed(address: Address) -> bool:
    """Metadata, unspecified, multicast and broadcast stay refused in any network."""
    return (
        address in METADATA_ADDRESSES
        or address.is_unspecified
        or address.is_multicast
        or address == BROADCAST
    )


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _resolve(resolver: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """Call the resolver once, giving up after timeout seconds."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["addresses"] = list(resolver(host, port))
        except Exception as exc:  # noqa: BLE001 - every failure is a lookup failure
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="outbound-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise _fail(
            "dns_error", "dns", f"Looking up {host} took longer than {timeout:g} s."
        )
    if "error" in outcome or not outcome.get("addresses"):
        raise _fail("dns_error", "dns", f"The host name {host} could not be found.")
    return [str(a) for a in outcome["addresses"]]


def _tls_problem(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ssl.SSLCertVerificationError):
        known = TLS_PROBLEMS.get(exc.verify_code)
        if known:
            return known
        return ("other", "its certificate could not be verified")
    return ("other", "the secure connection could not be set up")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    return next((e for e in _causes(exc) if isinstance(e, ssl.SSLError)), None)


class OutboundClient:
    """Send HTTP requests to a client's system, enforcing the outbound rules.

    `ca_bundle` names a PEM file of extra authorities to trust next to the public
    ones, for an on-premise system whose certificates a private authority signs.
    """

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        verify_tls: bool = True,
        connect_timeout: float | None = None,
        total_timeout: float | None = None,
        max_body: int | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.resolver = resolver or _default_resolver
        self.connect_timeout = float(
            connect_timeout
            if connect_timeout is not None
            else getattr(settings, "OUTBOUND_CONNECT_TIMEOUT", 5.0)
        )
        self.total_timeout = float(
            total_timeout
            if total_timeout is not None
            else getattr(settings, "OUTBOUND_TOTAL_TIMEOUT", 15.0)
        )
        self.max_body = int(
            max_body
            if max_body is not None
            else getattr(settings, "OUTBOUND_MAX_BODY_BYTES", 1048576)
        )
        self.max_redirects = int(getattr(settings, "OUTBOUND_MAX_REDIRECTS", 3))
        self.stages: list[Stage] = []
        self._client = httpx.Client(
            transport=httpx.HTTPTransport(
                verify=_ssl_context(verify_tls, ca_bundle),
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
                retries=0,
            ),
            trust_env=False,
            follow_redirects=False,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            headers={"User-Agent": USER_AGENT},
        )

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def target(self, url: str) -> dict:
        """Describe where a URL points, for display: scheme, host and port only."""
        parsed = _parse(url)
        return {"scheme": parsed.scheme, "host": parsed.host, "port": parsed.port}

    def get(self, url: str, **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Response:
        return self.request("POST", url, **kw)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: dict | None = None,
        auth: tuple[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> Response:
        """Send one request, following redirects through the same checks."""
        started = time.monotonic()
        deadline = started + self.total_timeout
        method = method.upper()
        headers = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        body = {"json": json, "content": content, "data": data}
        origin = None

        for _redirect in range(self.max_redirects + 1):
            target = self._check(url)
            if origin is not None and target.origin != origin:
                # Credentials and custom headers belong to the origin they were
                # meant for; once dropped they stay dropped for the later hops.
                headers = _cross_origin_headers(headers)
                auth = None
            origin = target.origin

            address = self._lookup(target, deadline)
            response = self._send(
                method, target, address, headers, body, auth, deadline
            )
            response.elapsed_ms = round((time.monotonic() - started) * 1000, 2)
            location = response.headers.get("location")
            if not follow_redirects or response.status_code not in REDIRECT_CODES:
                return response
            if not location:
                return response

            url = urljoin(target.url, location)
            if _becomes_get(response.status_code, method):
                method = "GET"
                body = {"json": None, "content": None, "data": None}
                headers = {
                    k: v for k, v in headers.items() if k.lower() != "content-type"
                }

        raise _fail(
            "unexpected_response",
            "http",
            f"The server redirected more than {self.max_redirects} times.",
        )

    def _record(
        self, name: str, ok: bool, duration_ms: float, detail: str = ""
    ) -> None:
        self.stages.append(Stage(name, ok, round(duration_ms, 2), detail))

    @contextmanager
    def _stage(self, name: str) -> Iterator[dict[str, str]]:
        """Record a stage around a block; a refusal inside it marks the stage failed."""
        started = time.monotonic()
        note = {"detail": ""}
        try:
            yield note
        except OutboundError as exc:
            self._record(name, False, (time.monotonic() - started) * 1000, exc.message)
            raise
        self._record(name, True, (time.monotonic() - started) * 1000, note["detail"])

    def _check(self, url: str) -> _Target:
        with self._stage("url") as note:
            target = _parse(url)
            loopback_only = getattr(settings, "OUTBOUND_LOOPBACK_ONLY", False)
            if target.literal is not None and not _is_permitted(target.literal):
                raise _blocked("url", target.host)
            named = target.literal is None
            if named and loopback_only and target.host not in LOOPBACK_NAMES:
                raise _blocked("url", target.host)
            note["detail"] = f"{target.scheme} {target.host} port {target.port}"
        return target

    def _lookup(self, target: _Target, deadline: float) -> str:
        """Return the one checked address to connect to."""
        if target.literal is not None:
            self._record("dns", True, 0.0, "IP address given; no lookup")
            return str(target.literal)

        with self._stage("dns") as note:
            addresses = [_as_address(a) for a in self._addresses(target, deadline)]
            if any(a is None or not _is_permitted(a) for a in addresses):
                raise _blocked("dns", target.host)
            note["detail"] = f"{target.host} resolved to {addresses[0]}"
        return str(addresses[0])

    def _addresses(self, target: _Target, deadline: float) -> list[str]:
        if target.host in LOOPBACK_NAMES or target.host.endswith(".localhost"):
            # RFC 6761: these names are the local host, and no resolver is asked.
            return list(LOCALHOST_ADDRESSES)
        timeout = max(0.0, min(self.connect_timeout, deadline - time.monotonic()))
        return _resolve(self.resolver, target.host, target.port, timeout)

    def _send(
        self,
        method: str,
        target: _Target,
        address: str,
        headers: dict[str, str],
        body: dict[str, Any],
        auth: tuple[str, str] | None,
        deadline: float,
    ) -> Response:
        """Connect to the checked address and read a capped response."""
        remaining = self._remaining(deadline)
        timeouts = {
            "connect": min(self.connect_timeout, remaining),
            "read": remaining,
            "write": remaining,
            "pool": remaining,
        }
        hop = _Hop()
        request = self._build(method, target, address, headers, body, timeouts, hop)
        watchdog = threading.Timer(remaining, hop.cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            return self._exchange(
                request, auth, hop, target, address, timeouts, deadline
            )
        finally:
            watchdog.cancel()

    def _exchange(self, request, auth, hop, target, address, timeouts, deadline):
        """Send the request and read its capped answer; httpx errors become ours."""
        try:
            response = self._client.send(
                request, auth=httpx.BasicAuth(*auth) if auth else None, stream=True
            )
        except httpx.HTTPError as exc:
            raise self._failure(exc, hop, target, address) from None
        except httpx.InvalidURL:
            # httpx reads a redirect's Location even when it is not asked to follow.
            self._record("http", False, hop.since_ms("send_request_headers"))
            raise _fail(
                "unexpected_response",
                "http",
                "The server redirected to something that is not a usable URL.",
            ) from None

        self._record_connection(hop, target, address)
        try:
            content, truncated = self._read(response, timeouts, deadline)
        except (httpx.HTTPError, OutboundError) as exc:
            error = (
                exc
                if isinstance(exc, OutboundError)
                else _classify(exc, hop, self, target)
            )
            self._record(
                "http", False, hop.since_ms("send_request_headers"), error.message
            )
            raise error from None
        finally:
            response.close()

        detail = f"HTTP {response.status_code}"
        self._record("http", True, hop.since_ms("send_request_headers"), detail)
        return Response(
            status_code=response.status_code,
            headers=response.headers,
            body=content,
            truncated=truncated,
            url=target.url,
            elapsed_ms=0.0,
        )

    def _build(
        self,
        method: str,
        target: _Target,
        address: str,
        headers: dict[str, str],
        body: dict[str, Any],
        timeouts: dict[str, float],
        hop: _Hop,
    ) -> httpx.Request:
        """Address the request to the checked IP, naming the original host in it."""
        extensions: dict[str, Any] = {"timeout": timeouts, "trace": hop}
        if target.scheme == "https" and target.literal is None:
            # Both SNI and certificate verification use this name, not the IP.
            extensions["sni_hostname"] = target.host

        url = httpx.URL(scheme=target.scheme, host=address, port=target.port)
        url = url.copy_with(raw_path=_raw_path(target))
        try:
            return self._client.build_request(
                method,
                url,
                headers={**headers, "Host": target.host_header},
                extensions=extensions,
                **body,
            )
        except (TypeError, ValueError, httpx.HTTPError):
            raise _fail(
                "invalid_config",
                "http",
                "The request headers or body could not be encoded.",
            ) from None

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _total_timeout(self.total_timeout)
        return remaining

    def _read(
        self, response: httpx.Response, timeouts: dict[str, float], deadline: float
    ) -> tuple[bytes, bool]:
        """Read the body as it arrives, stopping at max_body bytes or the deadline."""
        decoder = _decoder(response.headers.get("content-encoding", ""))
        limit = self.max_body
        chunks: list[bytes] = []
        size = 0
        raw = response.iter_raw()
        while True:
            # httpcore reads the timeout for every read, so each read gets what is
            # left of the total budget, and a slow drip cannot outlast it.
            timeouts["read"] = self._remaining(deadline)
            chunk = next(raw, None)
            if chunk is None:
                break
            chunk = decoder(chunk, limit + 1 - size)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        content = b"".join(chunks)
        return content[:limit], size > limit

    def _record_connection(self, hop: _Hop, target: _Target, address: str) -> None:
        detail = f"{address} port {target.port}"
        self._record("connect", True, hop.duration_ms("connect_tcp"), detail)
        if target.scheme == "https":
            self._record(
                "tls", True, hop.duration_ms("start_tls"), "certificate accepted"
            )

    def _failure(
        self, exc: httpx.HTTPError, hop: _Hop, target: _Target, address: str
    ) -> OutboundError:
        """Turn an httpx error into an OutboundError and record the failed stage."""
        error = _classify(exc, hop, self, target)
        stage_started = {"connect": "connect_tcp", "tls": "start_tls"}
        if error.stage in stage_started:
            if error.stage == "tls":
                detail = f"{address} port {target.port}"
                self._record("connect", True, hop.duration_ms("connect_tcp"), detail)
            name = stage_started[error.stage]
            self._record(error.stage, False, hop.duration_ms(name), error.message)
            return error

        self._record_connection(hop, target, address)
        self._record("http", False, hop.since_ms("send_request_headers"), error.message)
        return error


def _raw_path(target: _Target) -> bytes:
    """Keep the caller's path and query, escaping only what HTTP cannot carry."""
    path = target.path + (f"?{target.query}" if target.query else "")
    return quote(path, safe="!#$%&'()*+,/:;=?@[]~").encode("ascii")


def _ssl_context(verify_tls: bool, ca_bundle: str | None) -> ssl.SSLContext:
    # Loading the public authorities costs ~80 ms of CPU: do it once per process, not
    # per test. A CA bundle of one integration is read for its test only.
    if ca_bundle:
        return _new_ssl_context(verify_tls, ca_bundle)
    return _shared_ssl_context(verify_tls)


@functools.cache
def _shared_ssl_context(verify_tls: bool) -> ssl.SSLContext:
    return _new_ssl_context(verify_tls, None)


def _new_ssl_context(verify_tls: bool, ca_bundle: str | None) -> ssl.SSLContext:
    if not verify_tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    return context


def _decoder(encoding: str) -> Callable[[bytes, int], bytes]:
    """Return a decoder that never produces more than it is asked for."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, _most: chunk
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _fail(
            "unexpected_response",
            "http",
            "The server answered with a content encoding this product cannot read.",
        )
    # 47 reads gzip or zlib headers; deflate may also come raw, tried on failure.
    state = {"z": zlib.decompressobj(47 if encoding != "deflate" else 15)}

    def decode(chunk: bytes, most: int) -> bytes:
        try:
            return state["z"].decompress(chunk, max(most, 1))
        except zlib.error:
            if encoding == "deflate" and not state.get("raw"):
                state["raw"] = True
                state["z"] = zlib.decompressobj(-15)
                return state["z"].decompress(chunk, max(most, 1))
            raise _fail(
                "unexpected_response",
                "http",
                "The server sent a damaged compressed body.",
            ) from None

    return decode


def _becomes_get(status_code: int, method: str) -> bool:
    """303 always turns into GET, and 301/302 do after a POST, as browsers do."""
    if method == "HEAD":
        return False
    return status_code == 303 or (status_code in (301, 302) and method == "POST")


def _cross_origin_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in CROSS_ORIGIN_KEPT_HEADERS}


def _blocked(stage: str, host: str) -> OutboundError:
    return _fail(
        "blocked_address",
        stage,
        f"{host} points to an address that integrations may not reach.",
    )


def _total_timeout(seconds: float) -> OutboundError:
    return _fail(
        "timeout",
        "http",
        f"The server did not answer within the total timeout of {seconds:g} s.",
    )


def _classify(
    exc: httpx.HTTPError, hop: _Hop, client: OutboundClient, target: _Target
) -> OutboundError:
    host = target.host
    if hop.cut_off:
        return _total_timeout(client.total_timeout)
    in_tls = "start_tls" in hop.started
    connected = "connect_tcp" in hop.ended and "connect_tcp" not in hop.failed

    if isinstance(exc, httpx.ConnectTimeout):
        return _fail(
            "timeout",
            "tls" if in_tls else "connect",
            f"Connecting to {host} took longer than the connect timeout"
            f" of {client.connect_timeout:g} s.",
        )
    if isinstance(exc, httpx.TimeoutException):
        return _total_timeout(client.total_timeout)

    ssl_error = _ssl_cause(exc)
    if ssl_error is not None or (in_tls and "start_tls" in hop.failed):
        problem, reason = _tls_problem(ssl_error) if ssl_error else _CUT_TLS
        return _fail(
            "tls_error", "tls", f"{host} failed the TLS check: {reason}.", problem
        )

    if isinstance(exc, httpx.ConnectError) and not connected:
        return _fail(
            "connection_refused",
            "connect",
            f"{host} refused the connection on port {target.port}.",
        )
    if isinstance(exc, httpx.LocalProtocolError):
        return _fail("invalid_config", "http", "A request header is not valid.")
    if isinstance(exc, httpx.NetworkError) or (
        isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in str(exc)
    ):
        return _fail(
            "connection_refused",
            "http",
            f"{host} closed the connection before answering.",
        )
    return _fail(
        "unexpected_response", "http", f"{host} did not answer with valid HTTP."
    )


_CUT_TLS = ("other", "the connection was cut during the TLS handshake")
