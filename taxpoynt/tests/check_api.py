"""Fuzz every API operation with schemathesis against a live server on loopback.

    .venv/bin/python taxpoynt/tests/check_api.py --examples 25

The server runs on a fresh SQLite file in a temporary folder, loaded with the demo data,
with the outbound client in its loopback-only mode. The run is made once as a team
member and once as staff. It fails on any server error, any answer that contradicts the
schema, and any attempt by the server to look up a host name or reach an address other
than loopback (a watch inside the server process records and refuses such attempts).

Not collected by pytest: its name does not start with test_.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import socket
import socketserver
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SCHEMATHESIS = Path(PYTHON).with_name("st")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
PERSONAS = {"member": "ada", "staff": "admin"}


# --- The server, in its own process ------------------------------------------------


def loopback_or_local(host: object) -> bool:
    """True for localhost, a loopback address, or a Unix socket path."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def watch_the_network(violations: Path):
    """An audit hook refusing lookups and connections that would leave loopback."""
    lookups = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"}
    reverse = {"socket.gethostbyaddr", "socket.getnameinfo"}
    sends = {"socket.connect", "socket.sendto", "socket.sendmsg"}

    def refuse(event: str, target: object) -> None:
        with violations.open("a") as log:
            log.write(f"{event} {target!r}\n")
        raise PermissionError(f"check_api refused {event} to {target!r}")

    def hook(event: str, args: tuple) -> None:
        if event in lookups and not loopback_or_local(args[0]):
            refuse(event, args[0])
        elif event in reverse:
            address = args[0][0] if isinstance(args[0], tuple) else args[0]
            if not loopback_or_local(address):
                refuse(event, address)
        elif event in sends:
            address = args[-1] if event != "socket.connect" else args[1]
            if isinstance(address, tuple) and not loopback_or_local(address[0]):
                refuse(event, address)

    return hook


def serve(port: int, violations: Path) -> None:
    """Serve the WSGI app on 127.0.0.1:port with threads, as runserver does."""
    sys.addaudithook(watch_the_network(violations))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxpoynt.settings")
    sys.path.insert(0, str(PROJECT))

    import django

    django.setup()

    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    class LoopbackServer(WSGIServer):
        def server_bind(self) -> None:
            # HTTPServer would ask for the host's full name: a reverse lookup.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]
            self.setup_environ()

    run(
        "127.0.0.1",
        port,
        get_wsgi_application(),
        threading=True,
        server_cls=LoopbackServer,
    )


# --- Preparing the database and running schemathesis ------------------------------


def server_environment(folder: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().endswith("_proxy") and key != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'fuzz.sqlite3'}",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        OUTBOUND_LOOPBACK_ONLY="1",
        # Fuzzed tests reach only loopback, where a closed port answers at once.
        OUTBOUND_CONNECT_TIMEOUT="2",
        OUTBOUND_TOTAL_TIMEOUT="5",
        # Throttling would turn most fuzzed connection tests into 429s.
        CONNECTION_TEST_RATE="100000/min",
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
        NO_PROXY="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare(env: dict[str, str]) -> dict[str, str]:
    """Migrate, seed the demo data and return an API token for each persona."""
    manage(env, "migrate", "--noinput")
    # With DEBUG off, every HTML page (404s included) needs the static manifest.
    manage(env, "collectstatic", "--noinput")
    manage(env, "seed_demo")
    manage(env, "ensure_admin")
    tokens = {}
    for persona, username in PERSONAS.items():
        output = manage(env, "drf_create_token", username)
        found = re.search(r"token (\w+) for", output)
        if found is None:
            sys.exit(f"no token in the output of drf_create_token {username}")
        tokens[persona] = found.group(1)
    return tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped before it answered:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the server did not answer on {base} within 30 s:\n{log.read_text()}")


def fuzz(base: str, token: str, examples: int, seed: int, folder: Path) -> int:
    """Run schemathesis once with this token; return its exit code."""
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base}/api/schema",
        "--url",
        base,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Token {token}",
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--max-redirects",
        "0",
        "--report",
        "junit",
        "--report-dir",
        str(folder),
        "--no-color",
    ]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    # Run inside the temporary folder, so hypothesis keeps its files there too.
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(command, env=env, cwd=folder, check=False).returncode


def check(examples: int, seed: int) -> int:
    with tempfile.TemporaryDirectory(prefix="check-api-") as name:
        folder = Path(name)
        env = server_environment(folder)
        tokens = prepare(env)
        violations = folder / "network-violations.log"
        violations.touch()
        port = free_port()
        base = f"http://127.0.0.1:{port}"

        log = (folder / "server.log").open("w")
        server = subprocess.Popen(
            [PYTHON, __file__, "--serve", str(port), "--violations", str(violations)],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        failed = []
        try:
            wait_until_up(base, server, folder / "server.log")
            for persona, token in tokens.items():
                print(f"== schemathesis as {persona} ({examples} examples)", flush=True)
                if fuzz(base, token, examples, seed, folder / persona) != 0:
                    failed.append(persona)
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()

        return report(failed, violations, folder / "server.log")


def report(failed: list[str], violations: Path, server_log: Path) -> int:
    refused = violations.read_text()
    errors = [line for line in server_log.read_text().splitlines() if "ERROR" in line]
    if errors:
        print("== server errors logged:\n" + "\n".join(errors[:50]))
    if refused:
        print("== the server tried to leave loopback:\n" + refused)
    if failed:
        print(f"== schemathesis failed as: {', '.join(failed)}")
    return 1 if failed or refused or errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--violations", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.serve:
        serve(options.serve, options.violations)
        return 0
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    print(f"check_api: seed {seed} (repeat with --seed {seed})", flush=True)
    return check(options.examples, seed)


if __name__ == "__main__":
    sys.exit(main())
