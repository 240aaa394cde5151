"""Fake systems that answer after a delay, in a process of their own.

A real remote system does not share the tester's interpreter lock, so the fakes must
not either: they run here, and the bench starts this module as a subprocess.

    python -m bench.slow_servers COUNT DELAY_SECONDS

prints one JSON line with the servers' URLs, then serves until its stdin closes.
GET /bench-peak on any of them answers the most requests served at the same time
since the last such call.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from integrations.tests.fakes import FakeServer, Reply, Seen


class SlowRoute:
    def __init__(self, delay: float):
        self.delay = delay
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/bench-peak":
            with self.lock:
                peak, self.peak = self.peak, 0
            return Reply(200, {"peak": peak})

        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(self.delay)
        finally:
            with self.lock:
                self.now -= 1
        return Reply(200, {"status": "ok"})


def main() -> None:
    count, delay = int(sys.argv[1]), float(sys.argv[2])
    route = SlowRoute(delay)
    servers = [FakeServer(route) for _ in range(count)]
    for server in servers:
        server.__enter__()
    print(json.dumps([server.url for server in servers]), flush=True)

    sys.stdin.read()
    for server in servers:
        server.__exit__()


if __name__ == "__main__":
    main()
