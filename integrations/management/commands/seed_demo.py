"""Load demo clients and integrations, each with a few history versions.

Running it again changes nothing: objects are found by name before anything is created.
All hosts are under .example, which never resolves, and no credential is real.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from clients.models import Client
from integrations.models import Integration
from integrations.secrets import secret_names

TEAMS = {"Lagos integrators": ["ada", "chinedu"], "Abuja integrators": ["bola"]}

CLIENTS = [
    {
        "name": "Adebayo Foods Ltd",
        "tin": "12345678-0001",
        "contact_email": "finance@adebayo-foods.example",
        "phone": "+234 801 000 0001",
        "address": "12 Creek Road, Apapa, Lagos",
        "team": "Lagos integrators",
    },
    {
        "name": "Kano Textiles Plc",
        "tin": "23456789-0001",
        "contact_email": "accounts@kano-textiles.example",
        "phone": "+234 802 000 0002",
        "address": "4 Bompai Road, Kano",
        "team": "Abuja integrators",
    },
    {
        "name": "Rivers Marine Services",
        "tin": "3456789012",
        "contact_email": "ap@rivers-marine.example",
        "phone": "+234 803 000 0003",
        "address": "Trans-Amadi Industrial Layout, Port Harcourt",
        "team": "Lagos integrators",
    },
    {
        "name": "Enugu Agro Processing",
        "tin": None,
        "contact_email": "office@enugu-agro.example",
        "phone": "",
        "address": "Independence Layout, Enugu",
        "team": None,
    },
]

# (client, name, type, description, config, later changes as (user, reason, changes))
INTEGRATIONS = [
    (
        "Adebayo Foods Ltd",
        "Odoo production",
        "odoo",
        "Sales invoices from the Odoo 17 instance.",
        {
            "api_url": "https://erp.adebayo-foods.example",
            "database": "adebayo",
            "username": "einvoice@adebayo-foods.example",
            "schedule": "daily",
            "timezone": "Africa/Lagos",
        },
        [
            ("chinedu", "Run every hour during month end", {"schedule": "hourly"}),
            ("ada", "Went live after sign-off", {"status": "active"}),
        ],
    ),
    (
        "Adebayo Foods Ltd",
        "FIRS MBS sandbox",
        "firs_mbs",
        "Submission to the e-invoicing gateway, sandbox.",
        {
            "api_url": "https://sandbox.einvoice.example",
            "environment": "sandbox",
            "business_id": "demo-business-0001",
            "service_id": "DEMO0001",
            "tin": "12345678-0001",
            "schedule": "daily",
            "timezone": "Africa/Lagos",
        },
        [
            (
                "ada",
                "Say which environment",
                {"description": "Submission to the sandbox gateway."},
            )
        ],
    ),
    (
        "Kano Textiles Plc",
        "QuickBooks Online",
        "quickbooks_online",
        "Invoices and credit notes from QuickBooks Online.",
        {
            "environment": "sandbox",
            "realm_id": "9130000000000000",
            "schedule": "daily",
            "timezone": "Africa/Lagos",
        },
        [
            ("bola", "Production company connected", {"environment": "production"}),
            ("bola", "Activated", {"status": "active"}),
        ],
    ),
    (
        "Rivers Marine Services",
        "Dynamics 365 Business Central",
        "dynamics_365_business_central",
        "Posted sales invoices from Business Central.",
        {
            "tenant_id": "00000000-0000-0000-0000-000000000000",
            "environment": "production",
            "company_id": "11111111-1111-1111-1111-111111111111",
            "schedule": "weekly",
            "timezone": "Africa/Lagos",
        },
        [("chinedu", "Paused while the client migrates", {"status": "paused"})],
    ),
    (
        "Enugu Agro Processing",
        "Custom REST ledger",
        "generic_rest",
        "The client's in-house ledger API.",
        {
            "api_url": "https://ledger.enugu-agro.example/api",
            "auth_method": "api_key",
            "api_key_header": "X-API-Key",
            "health_path": "/health",
            "schedule": "daily",
            "timezone": "Africa/Lagos",
        },
        [],
    ),
]


class Command(BaseCommand):
    help = "Load demo clients and integrations with history (safe to run twice)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = self.ensure_teams()
        clients = {
            spec["name"]: self.ensure_client(spec, users["ada"]) for spec in CLIENTS
        }
        created = 0
        for client_name, name, kind, description, config, changes in INTEGRATIONS:
            client = clients[client_name]
            if client.integrations.filter(name__iexact=name).exists():
                continue
            integration = Integration(
                client=client,
                name=name,
                integration_type=kind,
                description=description,
                config=config,
            )
            # Demo credentials: obviously fake, encrypted like real ones.
            integration.write_secrets(
                dict.fromkeys(secret_names(kind)[:1], "demo-value-not-a-real-secret")
            )
            integration.record_change(users["ada"], "Created by the demo data").save()
            for username, reason, fields in changes:
                self.apply_change(integration, users[username], reason, fields)
            created += 1
        self.stdout.write(
            f"Demo data ready: {Client.objects.count()} clients, "
            f"{Integration.objects.count()} integrations ({created} new)."
        )

    def ensure_teams(self) -> dict:
        user_model = get_user_model()
        integrator_permissions = Permission.objects.filter(
            content_type__app_label__in=["clients", "integrations"]
        )
        users = {}
        for team_name, usernames in TEAMS.items():
            team, _ = Group.objects.get_or_create(name=team_name)
            team.permissions.add(*integrator_permissions)
            for username in usernames:
                user, created = user_model.objects.get_or_create(username=username)
                if created:
                    user.set_unusable_password()
                    user.save()
                user.groups.add(team)
                users[username] = user
        return users

    def ensure_client(self, spec: dict, user) -> Client:
        existing = Client.objects.filter(name__iexact=spec["name"]).first()
        if existing:
            return existing
        team = Group.objects.get(name=spec["team"]) if spec["team"] else None
        client = Client(**{**spec, "team": team})
        client.record_change(user, "Created by the demo data").save()
        return client

    def apply_change(self, integration: Integration, user, reason: str, fields: dict):
        for name, value in fields.items():
            if hasattr(integration, name) and name != "config":
                setattr(integration, name, value)
            else:
                integration.config = {**integration.config, name: value}
        integration.record_change(user, reason).save()
