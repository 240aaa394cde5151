"""The change log shared by clients and integrations.

django-simple-history writes one history row per saved change. This module adds what it
does not know: which kind of change it was, which fields changed (nested JSON keys as
paths such as config.schedule), the request id, and the username as it was at the time.
It also makes saves that change nothing into no-ops, so they leave no history row and, for
versioned models, do not bump the version.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import models, transaction
from django.dispatch import receiver
from django.http import Http404
from simple_history.signals import pre_create_historical_record

from taxpoynt.request_ids import current_request_id

# Fields every model has that say when or how often, not what: never a "change".
BOOKKEEPING_FIELDS = {"id", "created_at", "updated_at", "version"}


class ChangeType(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    ROLLED_BACK = "rolled_back"
    CLONED = "cloned"


DEFAULT_CHANGE_TYPES = {
    "+": ChangeType.CREATED,
    "~": ChangeType.UPDATED,
    "-": ChangeType.DELETED,
}


class VersionConflict(Exception):
    """Raised when a save starts from a version that someone else has since replaced."""

    def __init__(self, current_version: int):
        super().__init__(f"the object is now at version {current_version}")
        self.current_version = current_version


class ObjectGone(Http404):
    """Raised when saving or deleting an object that someone else deleted meanwhile.

    Saving would silently bring it back as a new object; it is a 404 instead (an Http404,
    so pages and the API answer it without each view catching it).
    """


class HistoryEntry(models.Model):
    """Extra columns of every history table (used as a base by simple-history)."""

    change_type = models.CharField(max_length=20, choices=ChangeType.choices)
    changed_fields = models.JSONField(default=list, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    # Kept as text so the history still names the user after the account is deleted.
    history_username = models.CharField(max_length=150, blank=True)

    class Meta:
        abstract = True


def canonical_json(value: Any) -> str:
    """Serialise so that 1, 1.0 and true, equal in Python, stay different."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def json_paths(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """Yield (path, leaf) pairs of a JSON value; non-empty objects are descended into."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from json_paths(item, f"{prefix}.{key}")
    else:
        yield prefix, value


def field_values(instance: models.Model) -> dict[str, Any]:
    """The tracked state of an instance, keyed by field name or JSON path."""
    state: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in instance.untracked_fields:
            continue
        value = getattr(instance, field.attname)
        if isinstance(field, models.JSONField):
            state.update(json_paths(value, field.name))
        else:
            state[field.name] = value
    return state


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names and JSON paths whose values differ between two tracked states."""
    missing = object()
    changed = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, missing), after.get(name, missing)
        if (
            old is missing
            or new is missing
            or canonical_json(old) != canonical_json(new)
        ):
            changed.append(name)
    return changed


def set_fields(instance: models.Model) -> list[str]:
    """Fields that have a value on a new object, reported as its creation's changes."""
    return [
        name
        for name, value in field_values(instance).items()
        if value not in ("", None)
    ]


class ChangeLogged(models.Model):
    """Base for models whose every change is recorded with who, why and what.

    Callers say who and why with record_change() before save() or delete(); the admin and
    the API do this for every write. A model with a `version` field is also protected
    against lost updates: saving an instance loaded at an older version raises
    VersionConflict instead of overwriting the newer state.
    """

    # Fields whose changes are not changes of the object itself.
    untracked_fields = BOOKKEEPING_FIELDS

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self.nothing_changed = False
        with transaction.atomic(using=kwargs.get("using")):
            stored = None
            if not self._state.adding and self.pk is not None:
                stored = type(self)._base_manager.select_for_update().filter(pk=self.pk)
                stored = stored.first()
                if stored is None:
                    raise ObjectGone(f"{self._meta.verbose_name} was deleted meanwhile")

            if stored is None:
                self._changed_fields = set_fields(self) + self.changes_beside_fields()
            else:
                self.check_version(stored)
                self._changed_fields = (
                    changed_fields(field_values(stored), field_values(self))
                    + self.changes_beside_fields()
                )
                if not self._changed_fields:
                    self.nothing_changed = True
                    return
                if self.is_versioned:
                    self.version = stored.version + 1

            super().save(*args, **kwargs)
        self.forget_change()

    def delete(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using")):
            stored = type(self)._base_manager.select_for_update().filter(pk=self.pk)
            stored = stored.first()
            if stored is None:
                raise ObjectGone(f"{self._meta.verbose_name} was deleted meanwhile")
            self.check_version(stored)
            loaded_version = getattr(self, "version", None)
            if self.is_versioned:
                # The "deleted" entry gets a version of its own so versions stay unique.
                self.version += 1
            self._changed_fields = []
            try:
                result = super().delete(*args, **kwargs)
            except Exception:
                if self.is_versioned:
                    self.version = loaded_version
                raise
        self.forget_change()
        return result

    def record_change(
        self, user=None, reason: str = "", change_type: str | None = None
    ) -> ChangeLogged:
        """Say who makes the next change and why; returns the instance for chaining."""
        if user is not None and user.is_authenticated:
            self._history_user = user
        self._change_reason = reason or ""
        self._change_type = change_type
        return self

    @property
    def is_versioned(self) -> bool:
        return any(field.name == "version" for field in self._meta.concrete_fields)

    def changes_beside_fields(self) -> list[str]:
        """Changes this save makes outside the model's own columns (e.g. secrets)."""
        return []

    def check_version(self, stored: ChangeLogged) -> None:
        if self.is_versioned and stored.version != self.version:
            raise VersionConflict(stored.version)

    def forget_change(self) -> None:
        """Drop the who/why of the change just saved so it cannot leak into the next."""
        for attribute in ("_history_user", "_change_reason", "_change_type"):
            self.__dict__.pop(attribute, None)


@receiver(pre_create_historical_record)
def fill_history_entry(sender, instance, history_instance, history_user, **kwargs):
    """Copy change type, changed fields, request id and username onto a history row."""
    if not isinstance(history_instance, HistoryEntry):
        return
    change_type = getattr(instance, "_change_type", None)
    history_instance.change_type = change_type or DEFAULT_CHANGE_TYPES.get(
        history_instance.history_type, ChangeType.UPDATED
    )
    history_instance.changed_fields = getattr(instance, "_changed_fields", [])
    history_instance.request_id = current_request_id.get() or ""
    history_instance.history_username = getattr(history_user, "username", "") or ""
