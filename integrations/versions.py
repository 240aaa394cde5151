"""Versions of an integration: reading them, comparing them, rolling back and cloning.

History is never rewritten. A rollback saves the state of an old version as a new
version; a clone starts a new integration whose first entry names its origin.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from clients.models import Client
from integrations import secrets
from integrations.models import Integration
from taxpoynt.changelog import ChangeType, canonical_json, json_paths

# The fields a version restores, in the order they are shown.
VERSIONED_FIELDS = [
    "client",
    "name",
    "integration_type",
    "description",
    "status",
    "config",
]


def may_see_client(user, client_id: int) -> bool:
    """Whether the user may see a client, also one that has since been deleted."""
    if user.is_staff:
        return True
    if Client.objects.filter(pk=client_id).exists():
        return Client.objects.visible_to(user).filter(pk=client_id).exists()
    last_known = Client.history.filter(id=client_id).order_by("-history_id").first()
    return bool(last_known and user.groups.filter(pk=last_known.team_id).exists())


def history_for(user, integration_id: int) -> QuerySet | None:
    """The versions of an integration, newest first, or None if the user may not see it.

    Deleted integrations keep their history; access follows the client they belonged to.
    """
    entries = Integration.history.filter(id=integration_id).order_by(
        "-version", "-history_id"
    )
    latest = entries.first()
    if latest is None or not may_see_client(user, latest.client_id):
        return None
    return entries


def state_of(record) -> dict[str, Any]:
    """The versioned fields of an integration or of one of its history entries."""
    state = {
        name: getattr(record, name) for name in VERSIONED_FIELDS if name != "client"
    }
    state["client"] = record.client_id
    return state


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level differences, config compared key by key as JSON paths."""
    old_paths, new_paths = flatten(old), flatten(new)
    missing = object()
    changes = []
    for path in sorted(old_paths.keys() | new_paths.keys(), key=field_order):
        before, after = old_paths.get(path, missing), new_paths.get(path, missing)
        if (
            before is missing
            or after is missing
            or canonical_json(before) != canonical_json(after)
        ):
            changes.append(
                {
                    "field": path,
                    "old": None if before is missing else before,
                    "new": None if after is missing else after,
                }
            )
    return changes


def flatten(state: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, value in state.items():
        if name == "config":
            paths.update(json_paths(value, "config"))
        else:
            paths[name] = value
    return paths


def field_order(path: str) -> tuple[int, str]:
    top = path.split(".", 1)[0]
    return (VERSIONED_FIELDS.index(top) if top in VERSIONED_FIELDS else 99, path)


def roll_back(integration: Integration, entry, user, reason: str) -> bool:
    """Make an old version's state current as a new version; False if already current."""
    target = state_of(entry)
    if not differences(state_of(integration), target):
        return False
    moved = secrets.moved_origin_fields(
        entry.integration_type, integration.config, target["config"]
    )
    if moved:
        # The old version points elsewhere: its credentials must be entered again.
        integration.write_secrets(dict.fromkeys(integration.secret_names_set()))
    for name, value in target.items():
        setattr(integration, "client_id" if name == "client" else name, value)
    reason = reason or f"rolled back to v{entry.version}"
    integration.record_change(user, reason, ChangeType.ROLLED_BACK).save()
    return True


def clone(original: Integration, name: str, client: Client, user, reason: str):
    """Copy an integration as a draft; its history starts by naming the original.

    Secrets are never copied: they belong to one connection, and a copy usually goes
    to another client or another host.
    """
    copy = Integration(
        client=client,
        name=name,
        integration_type=original.integration_type,
        description=original.description,
        config=dict(original.config),
        status=Integration.Status.DRAFT,
    )
    origin = f"cloned from {original.name} v{original.version}"
    copy.record_change(
        user, f"{origin}: {reason}" if reason else origin, ChangeType.CLONED
    )
    copy.save()
    return copy
