"""Run the health monitor: re-test active integrations on their schedules.

Runs until stopped; SIGTERM or Ctrl-C stop it after the batch in progress.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from integrations import monitor


class Command(BaseCommand):
    help = "Re-test active integrations when their schedules say they are due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Run one cycle over what is due, then stop.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=30.0,
            help="Seconds between cycles (default 30).",
        )

    def handle(self, *args, once=False, interval=30.0, **options):
        stopping = threading.Event()

        def stop(signum, frame):
            self.stdout.write("Stopping after the current batch...")
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        self.stdout.write(
            f"Monitor started ({'one cycle' if once else f'every {interval:g} s'})."
        )
        while not stopping.is_set():
            tested = monitor.run_cycle(should_stop=stopping.is_set)
            if tested:
                self.stdout.write(f"Tested {tested} integration(s).")
            if once:
                break
            stopping.wait(interval)
        self.stdout.write("Monitor stopped.")
