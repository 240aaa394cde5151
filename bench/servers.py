"""The product and the baseline, each served by one gunicorn worker on loopback."""

from __future__ import annotations

import socket
import subprocess  # noqa: S404 - starts gunicorn for this project only
import sys
import time
from pathlib import Path

import httpx

from bench.database import PROJECT


class Server:
    """One gunicorn process serving `app` on 127.0.0.1 at a free port."""

    def __init__(self, app: str, environment: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                app,
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "120",
            ],
            cwd=PROJECT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_ready()

    def wait_until_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        with httpx.Client(trust_env=False, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.url} exited; see {self.log.name}")
                try:
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"{self.url} did not answer /healthz in {seconds} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
