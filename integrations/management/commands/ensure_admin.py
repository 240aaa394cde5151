"""Make sure a superuser named admin exists, for a developer's first login."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the superuser 'admin' if missing. The password comes from "
        "DJANGO_SUPERUSER_PASSWORD, else one is generated and printed once."
    )

    def handle(self, *args, **options):
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists():
            self.stdout.write(
                "Superuser 'admin' already exists; its password is unchanged."
            )
            return

        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "", password)

        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created superuser 'admin' with password: {password}\n"
                    "It is shown only this once; change it in the admin if you lose it."
                )
            )
        else:
            self.stdout.write(
                "Created superuser 'admin' with DJANGO_SUPERUSER_PASSWORD."
            )
