"""Fake accounting systems on loopback, answering as the real ones do.

Their answers follow shared/research/erp-errors.md. Each fake runs in a thread on
127.0.0.1 with a port of its own and records the requests it received, so tests can
check what was sent (and what was not).
"""

from __future__ import annotations

import json
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> bytes:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeServer:
    """An HTTP server whose answers come from `route(request) -> Reply`."""

    def __init__(self, route: Callable[[Seen], Reply]):
        self.route = route
        self.requests: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                fake.requests.append(seen)
                reply = fake.route(seen)
                time.sleep(reply.delay)
                body = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class OdooXmlRpc:
    """An Odoo server's XML-RPC interface (/xmlrpc/2/common and /xmlrpc/2/object)."""

    def __init__(
        self, database="adebayo", login="einvoice", api_key="odoo-key-not-real"
    ):
        self.database, self.login, self.api_key = database, login, api_key
        self.calls: list[tuple] = []

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

            def log_message(self, *args):
                pass

        self.server = SimpleXMLRPCServer(
            ("127.0.0.1", 0), requestHandler=Handler, allow_none=True, logRequests=False
        )
        self.server.register_function(self.version, "version")
        self.server.register_function(self.authenticate, "authenticate")
        self.server.register_function(self.execute_kw, "execute_kw")
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def version(self):
        return {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0]}

    def authenticate(self, database, login, key, context):
        self.calls.append(("authenticate", database, login))
        if database != self.database:
            # What Odoo really sends: fault code 1 with a traceback naming the database.
            raise xmlrpc.client.Fault(
                1,
                f'Traceback ...\npsycopg2.OperationalError: FATAL: database "{database}" does not exist',
            )
        return 7 if (login, key) == (self.login, self.api_key) else False

    def execute_kw(self, database, uid, key, model, method, args, kwargs=None):
        self.calls.append(("execute_kw", model, method))
        if (uid, key) != (7, self.api_key):
            raise xmlrpc.client.Fault(3, "Access Denied")
        return [{"id": uid, "company_id": [1, "Adebayo Foods Ltd"]}]

    def __enter__(self) -> OdooXmlRpc:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
