"""Test the connections of many integrations from the shell, with a summary table."""

from __future__ import annotations

import argparse
import sys
import threading

from django.core.management.base import BaseCommand, CommandError

from clients.models import Client
from integrations import connection_tests, providers
from integrations.models import Integration
from taxpoynt.api import LARGEST_ID


def client_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= LARGEST_ID:
        raise argparse.ArgumentTypeError(f"not a client id: {text!r}")
    return value


class Command(BaseCommand):
    help = "Test integration connections: --client ID, --type SLUG, or --all."

    def add_arguments(self, parser):
        parser.add_argument(
            "--client", type=client_id, help="Only this client's integrations."
        )
        parser.add_argument(
            "--type", dest="kind", help="Only integrations of this type."
        )
        parser.add_argument("--all", action="store_true", help="Every integration.")

    def handle(self, *args, client=None, kind=None, all=False, **options):
        if client is None and not (kind or all):
            raise CommandError(
                "Say which integrations: --client ID, --type SLUG or --all."
            )
        if kind and providers.get_template(kind) is None:
            raise CommandError(
                f"Unknown type {kind!r}; choose one of: {', '.join(providers.TEMPLATES)}."
            )

        chosen = Integration.objects.select_related("client").order_by(
            "client__name", "name"
        )
        if client is not None:
            if not Client.objects.filter(pk=client).exists():
                raise CommandError(f"No client with id {client}.")
            chosen = chosen.filter(client_id=client)
        if kind:
            chosen = chosen.filter(integration_type=kind)
        chosen = list(chosen)
        if not chosen:
            self.stdout.write("No integration matches.")
            return

        results = connection_tests.test_many(
            chosen, progress=self.progress_bar(len(chosen))
        )
        self.stdout.write("")
        self.print_summary(chosen, results)

    def progress_bar(self, total: int):
        done = 0
        lock = threading.Lock()
        interactive = sys.stdout.isatty()

        def advance(integration, result):
            nonlocal done
            with lock:
                done += 1
                filled = int(30 * done / total)
                line = f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
                self.stdout.write(
                    ("\r" if interactive else "") + line,
                    ending="" if interactive else "\n",
                )

        return advance

    def print_summary(self, integrations, results) -> None:
        rows = [
            (
                integration.client.name[:28],
                integration.name[:28],
                integration.integration_type,
                result["status"],
                f"{result['latency_ms']:.0f} ms" if result["latency_ms"] else "-",
                result["message"][:70],
            )
            for integration, result in zip(integrations, results, strict=True)
        ]
        header = ("Client", "Integration", "Type", "Status", "Latency", "Message")
        widths = [
            max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
        ]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(
                    str(cell).ljust(width)
                    for cell, width in zip(row, widths, strict=True)
                )
            )
        passed = sum(result["ok"] for result in results)
        self.stdout.write(
            f"\n{len(results)} tested: {passed} ok, {len(results) - passed} failed."
        )
