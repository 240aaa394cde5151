"""The integrator pages: list, create, read, edit, clone, delete and the history."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clients.models import Client
from integrations import discovery_search, secrets, versions
from integrations.api.views import ConnectionTestThrottle
from integrations.forms import (
    CloneForm,
    CompareForm,
    IntegrationFilterForm,
    IntegrationPageForm,
    IntegrationTypeChoiceForm,
    ReasonForm,
    RestoreForm,
)
from integrations.models import ApiDiscovery, Integration
from integrations.providers import TEMPLATES, get_template
from taxpoynt.changelog import ChangeType, VersionConflict

PAGE_SIZE = 25

# Sort keys of the list, as shown in its links, and the ordering each one means.
SORTS = {
    "client": ["client__name", "name"],
    "name": ["name", "client__name"],
    "type": ["integration_type", "client__name", "name"],
    "status": ["status", "client__name", "name"],
    "tested": ["last_tested_at", "client__name", "name"],
    "updated": ["updated_at", "client__name", "name"],
}
COLUMNS = [
    ("client", "Client"),
    ("name", "Name"),
    ("type", "Type"),
    ("status", "Status"),
    ("tested", "Last test"),
]

DUPLICATE_NAME = (
    "This client already has an integration with this name (names are compared "
    "ignoring case)."
)


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so no link or image can do it) and say so."""
    logout(request)
    messages.success(request, "You are logged out.")
    return redirect("login")


def require_permission(user, codename: str) -> None:
    if not user.has_perm(f"integrations.{codename}"):
        raise PermissionDenied(f"You may not {codename.replace('_', ' ')}s.")


def visible_integration(request: HttpRequest, pk: int) -> Integration:
    """The integration if the user's teams may see it; another team's answers 404."""
    integrations = Integration.objects.visible_to(request.user).select_related("client")
    return get_object_or_404(integrations, pk=pk)


def as_json(value: Any) -> str:
    """A value as JSON text for showing: "1" and 1 must look different."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def permissions_of(user) -> dict[str, bool]:
    return {
        action: user.has_perm(f"integrations.{action}_integration")
        for action in ("add", "change", "delete", "test", "rollback")
    }


# The list.


@login_required
def integration_list(request: HttpRequest) -> HttpResponse:
    visible = Integration.objects.visible_to(request.user).select_related("client")
    filters = IntegrationFilterForm(request.GET or None, user=request.user)
    integrations, status = visible, 200
    if filters.is_bound and not filters.is_valid():
        integrations, status = visible.none(), 400
    elif filters.is_bound:
        integrations = filtered(visible, filters.cleaned_data)

    sort = request.GET.get("sort", "client")
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = "client", "client"
    ordering = SORTS[key]
    if sort.startswith("-"):
        ordering = [f"-{ordering[0]}", *ordering[1:]]
    page = Paginator(integrations.order_by(*ordering), PAGE_SIZE).get_page(
        request.GET.get("page")
    )

    context = {
        "filters": filters,
        "page": page,
        "rows": [list_row(integration) for integration in page],
        "columns": sort_links(request, sort),
        "query": query_without(request, "page"),
        "any_at_all": visible.exists(),
        "perms_on": permissions_of(request.user),
    }
    return render(request, "integrations/list.html", context, status=status)


def filtered(integrations, wanted: dict[str, Any]):
    if wanted.get("q"):
        integrations = integrations.matching(wanted["q"])
    if wanted.get("client"):
        integrations = integrations.filter(client=wanted["client"])
    if wanted.get("type"):
        integrations = integrations.filter(integration_type=wanted["type"])
    if wanted.get("status"):
        integrations = integrations.filter(status=wanted["status"])
    return integrations


def list_row(integration: Integration) -> dict[str, Any]:
    template = get_template(integration.integration_type)
    config = integration.config if isinstance(integration.config, dict) else {}
    return {
        "integration": integration,
        "type_name": template.name if template else integration.integration_type,
        "schedule": config.get("schedule", ""),
        "timezone": config.get("timezone", ""),
    }


def query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def sort_links(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    """Each column's header link: sorting by it, or reversing when it is the sort."""
    base = query_without(request, "page", "sort")
    links = []
    for key, label in COLUMNS:
        direction = None
        if current.removeprefix("-") == key:
            direction = "descending" if current.startswith("-") else "ascending"
        target = f"-{key}" if current == key else key
        links.append(
            {
                "label": label,
                "href": f"?{base}&sort={target}" if base else f"?sort={target}",
                "direction": direction,
            }
        )
    return links


# Creating and editing.


@login_required
def integration_new(request: HttpRequest) -> HttpResponse:
    require_permission(request.user, "add_integration")
    slug = request.GET.get("type") or request.POST.get("integration_type")
    if request.method == "GET" and not slug:
        return choose_type(request)
    if get_template(slug or "") is None:
        messages.error(request, "Choose one of the integration types below.")
        return choose_type(request, status=400)

    form = IntegrationPageForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        integration_type=slug,
        initial=new_initial(request, slug),
    )
    if request.method == "POST" and form.is_valid():
        integration = Integration(
            client=form.cleaned_data["client"],
            name=form.cleaned_data["name"].strip(),
            integration_type=slug,
            description=form.cleaned_data["description"],
            status=form.cleaned_data["status"],
            config=form.plain_config,
        )
        integration.write_secrets(form.secret_writes)
        if save_or_explain(request, form, integration):
            messages.success(request, f"Saved {integration.name}.")
            return redirect("integration-detail", pk=integration.pk)
    return render_form(request, "integrations/new.html", form, status_for(form))


def choose_type(request: HttpRequest, status: int = 200) -> HttpResponse:
    form = IntegrationTypeChoiceForm(
        initial={"client": request.GET.get("client")}, user=request.user
    )
    context = {"form": form, "templates": TEMPLATES.values()}
    return render(request, "integrations/choose_type.html", context, status=status)


def new_initial(request: HttpRequest, slug: str) -> dict[str, Any]:
    """A new config starts from the template's defaults, never from its example."""
    template = TEMPLATES[slug]
    defaults = {
        name: schema["default"]
        for name, schema in template.schema["properties"].items()
        if "default" in schema and name not in template.secret_fields
    }
    return {"client": request.GET.get("client"), "config": as_json(defaults)}


def status_for(form: IntegrationPageForm) -> int:
    return 400 if form.is_bound else 200


def save_or_explain(
    request: HttpRequest, form: IntegrationPageForm, integration: Integration
) -> bool:
    """Save with who and why; a taken name becomes a form error, never a 500."""
    name = integration.name
    taken = Integration.objects.filter(client=integration.client, name__iexact=name)
    if integration.pk:
        taken = taken.exclude(pk=integration.pk)
    if taken.exists():
        form.add_error("name", DUPLICATE_NAME)
        return False
    try:
        with transaction.atomic():
            integration.record_change(request.user, form.cleaned_data["reason"])
            integration.save()
    except IntegrityError:
        form.add_error("name", DUPLICATE_NAME)
        return False
    return True


def render_form(
    request: HttpRequest,
    template_name: str,
    form: IntegrationPageForm,
    status: int,
    **extra: Any,
) -> HttpResponse:
    if form.is_bound and form.errors:
        messages.error(request, "Nothing was saved: fix what is marked below.")
    template = get_template(form.integration_type)
    context = {
        "form": form,
        "template": template,
        "integration": form.integration,
        "page_data": {
            "type": form.integration_type,
            "integration": form.integration.pk if form.integration else None,
            "secrets": list(form.secret_names),
            "may_test": request.user.has_perm("integrations.test_integration"),
        },
        **extra,
    }
    return render(request, template_name, context, status=status)


@login_required
def integration_edit(request: HttpRequest, pk: int) -> HttpResponse:
    integration = visible_integration(request, pk)
    require_permission(request.user, "change_integration")
    initial = {
        "client": integration.client_id,
        "name": integration.name,
        "description": integration.description,
        "status": integration.status,
        "config": as_json(integration.config),
        "version": integration.version,
    }
    form = IntegrationPageForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        integration_type=integration.integration_type,
        integration=integration,
        initial=initial,
    )
    if request.method != "POST" or not form.is_valid():
        return render_form(request, "integrations/edit.html", form, status_for(form))

    started = form.cleaned_data["version"]
    if started != integration.version:
        return show_conflict(request, integration, started)

    integration.client = form.cleaned_data["client"]
    integration.name = form.cleaned_data["name"].strip()
    integration.description = form.cleaned_data["description"]
    integration.status = form.cleaned_data["status"]
    integration.config = form.plain_config
    integration.write_secrets(form.secret_writes)
    try:
        saved = save_or_explain(request, form, integration)
    except VersionConflict:
        return show_conflict(request, Integration.objects.get(pk=pk), started)
    if not saved:
        return render_form(request, "integrations/edit.html", form, 400)
    if integration.nothing_changed:
        messages.info(request, "Nothing changed, so no new version was made.")
    else:
        messages.success(
            request, f"Saved {integration.name} as v{integration.version}."
        )
    return redirect("integration-detail", pk=integration.pk)


def show_conflict(
    request: HttpRequest, integration: Integration, started: int
) -> HttpResponse:
    """Re-show the user's input with what others changed since the version they read.

    The form now carries the current version, so saving again applies the user's
    input on top of the other changes, knowingly.
    """
    entry = integration.history.filter(version=started).first()
    changes = []
    if entry is not None:
        changes = versions.differences(
            versions.state_of(entry), versions.state_of(integration)
        )
    newer = integration.history.filter(version__gt=started).order_by("version")

    data = request.POST.copy()
    data["version"] = str(integration.version)
    form = IntegrationPageForm(
        data,
        user=request.user,
        integration_type=integration.integration_type,
        integration=integration,
    )
    form.is_valid()
    messages.error(
        request,
        f"Not saved: someone else saved v{integration.version} after you opened "
        f"v{started}. Review their changes, then save again to apply yours.",
    )
    conflict = {
        "started": started,
        "current": integration.version,
        "changes": [display_change(change) for change in changes],
        "entries": newer,
    }
    return render_form(request, "integrations/edit.html", form, 409, conflict=conflict)


def display_change(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "field": change["field"],
        "old": as_json(change["old"]),
        "new": as_json(change["new"]),
    }


# Reading, cloning, deleting.


@login_required
def integration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    integration = visible_integration(request, pk)
    template = get_template(integration.integration_type)
    config = integration.config if isinstance(integration.config, dict) else {}
    titles = template.schema.get("properties", {}) if template else {}
    context = {
        "integration": integration,
        "template": template,
        "config_rows": [
            {
                "key": key,
                "title": titles.get(key, {}).get("title", key),
                "value": as_json(value),
            }
            for key, value in config.items()
        ],
        "secret_rows": [
            {"name": name, "title": titles.get(name, {}).get("title", name), **state}
            for name, state in integration.secret_status().items()
        ],
        "recent": integration.history.order_by("-version", "-history_id")[:5],
        "perms_on": permissions_of(request.user),
        "page_data": {"integration": integration.pk},
    }
    return render(request, "integrations/detail.html", context)


@login_required
def integration_clone(request: HttpRequest, pk: int) -> HttpResponse:
    original = visible_integration(request, pk)
    require_permission(request.user, "add_integration")
    form = CloneForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        initial={"name": f"Copy of {original.name}", "client": original.client_id},
    )
    if request.method == "POST" and form.is_valid():
        copy = clone_or_explain(request, form, original)
        if copy is not None:
            messages.success(
                request,
                f"Cloned {original.name} as {copy.name}, a draft. Secrets are not "
                "copied: enter them on the edit page.",
            )
            return redirect("integration-detail", pk=copy.pk)
    if form.is_bound:
        messages.error(request, "Nothing was cloned: fix what is marked below.")
    context = {"form": form, "integration": original}
    return render(request, "integrations/clone.html", context, status=status_for(form))


def clone_or_explain(
    request: HttpRequest, form: CloneForm, original: Integration
) -> Integration | None:
    name, client = form.cleaned_data["name"].strip(), form.cleaned_data["client"]
    if Integration.objects.filter(client=client, name__iexact=name).exists():
        form.add_error("name", DUPLICATE_NAME)
        return None
    try:
        with transaction.atomic():
            return versions.clone(
                original, name, client, request.user, form.cleaned_data["reason"]
            )
    except IntegrityError:
        form.add_error("name", DUPLICATE_NAME)
        return None


@login_required
def integration_delete(request: HttpRequest, pk: int) -> HttpResponse:
    integration = visible_integration(request, pk)
    require_permission(request.user, "delete_integration")
    form = ReasonForm(
        request.POST if request.method == "POST" else None,
        initial={"version": integration.version},
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["version"] != integration.version:
            messages.error(
                request,
                f"Not deleted: it changed to v{integration.version} after you "
                "opened it. Check the changes, then delete again if you still mean to.",
            )
            return redirect("integration-detail", pk=pk)
        try:
            integration.record_change(
                request.user, form.cleaned_data["reason"] or "Deleted on its page"
            ).delete()
        except VersionConflict:
            messages.error(request, "Not deleted: someone saved it at the same time.")
            return redirect("integration-detail", pk=pk)
        messages.success(
            request,
            f"Deleted {integration.name}. Its history stays readable.",
        )
        return redirect("integration-list")
    context = {"form": form, "integration": integration}
    return render(request, "integrations/delete.html", context, status=status_for(form))


# History.


@login_required
def integration_history(request: HttpRequest, pk: int) -> HttpResponse:
    return history_page(request, pk)


def history_page(
    request: HttpRequest, pk: int, status: int = 200, restore_error: str = ""
) -> HttpResponse:
    entries = versions.history_for(request.user, pk)
    if entries is None:
        raise Http404("No such integration.")
    entries = list(entries)
    integration = Integration.objects.filter(pk=pk).select_related("client").first()
    numbers = sorted({entry.version for entry in entries}, reverse=True)

    compare, comparison = compare_form(request, numbers), None
    if compare.is_bound and compare.is_valid():
        comparison = side_by_side(entries, compare.cleaned_data)
    elif compare.is_bound:
        status = 400

    may_restore = integration is not None and request.user.has_perm(
        "integrations.rollback_integration"
    )
    context = {
        "integration": integration,
        "name": entries[0].name,
        "pk": pk,
        "entries": entries,
        "compare": compare,
        "comparison": comparison,
        "may_restore": may_restore,
        "restore_error": restore_error,
    }
    return render(request, "integrations/history.html", context, status=status)


def compare_form(request: HttpRequest, numbers: list[int]) -> CompareForm:
    if "a" in request.GET or "b" in request.GET:
        return CompareForm(request.GET, numbers=numbers)
    initial = {"a": numbers[1] if len(numbers) > 1 else numbers[0], "b": numbers[0]}
    return CompareForm(initial=initial, numbers=numbers)


def side_by_side(entries: list, wanted: dict[str, int]) -> dict[str, Any]:
    by_version = {entry.version: entry for entry in entries}
    older, newer = by_version[wanted["a"]], by_version[wanted["b"]]
    changes = versions.differences(versions.state_of(older), versions.state_of(newer))
    return {
        "older": older,
        "newer": newer,
        "changes": [display_change(change) for change in changes],
    }


@login_required
@require_POST
def integration_restore(request: HttpRequest, pk: int) -> HttpResponse:
    integration = visible_integration(request, pk)
    require_permission(request.user, "rollback_integration")
    form = RestoreForm(request.POST)
    if not form.is_valid():
        return history_page(request, pk, 400, "Choose a version to restore.")

    number = form.cleaned_data["version"]
    entry = (
        integration.history.filter(version=number)
        .exclude(change_type=ChangeType.DELETED)
        .first()
    )
    if entry is None:
        return history_page(
            request, pk, 400, f"There is no version {number} to restore."
        )
    if not Client.objects.visible_to(request.user).filter(pk=entry.client_id).exists():
        return history_page(
            request,
            pk,
            409,
            f"Version {number} belongs to a client that no longer exists.",
        )

    moved = secrets.moved_origin_fields(
        entry.integration_type, integration.config, entry.config
    )
    had_secrets = bool(integration.secret_names_set())
    try:
        with transaction.atomic():
            changed = versions.roll_back(
                integration, entry, request.user, form.cleaned_data["reason"]
            )
    except IntegrityError:
        return history_page(
            request,
            pk,
            409,
            f"Another integration of this client is now named {entry.name!r}; "
            "rename it first.",
        )
    except VersionConflict:
        return history_page(
            request, pk, 409, "Someone saved it at the same time; try again."
        )

    if not changed:
        messages.info(request, f"Already at the state of v{number}; nothing changed.")
    else:
        cleared = moved and had_secrets
        note = " Its secrets were cleared: enter them again." if cleared else ""
        messages.success(
            request, f"Restored v{number} as v{integration.version}.{note}"
        )
    return redirect("integration-history", pk=pk)


# API endpoint discovery.

DISCOVERY_PAGE_SIZE = 100


@login_required
def integration_discovery(request: HttpRequest, pk: int) -> HttpResponse:
    """The operations discovery found, relevant first; discover again; pick a health path."""
    integration = visible_integration(request, pk)
    if request.method == "POST":
        return discovery_action(request, integration)

    template = get_template(integration.integration_type)
    latest = integration.discoveries.first()
    wanted = {
        "q": request.GET.get("q", "").strip()[:200],
        "method": request.GET.get("method", "").lower()[:10],
        "relevant": request.GET.get("relevant") == "1",
    }
    operations = [
        op for op in (latest.operations if latest else []) if matches(op, wanted)
    ]
    page = Paginator(operations, DISCOVERY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "integration": integration,
        "template": template,
        "latest": latest,
        "wanted": wanted,
        "page": page,
        "query": query_without(request, "page"),
        "methods": sorted(
            {op["method"].lower() for op in (latest.operations if latest else [])}
        ),
        "can_set_health_path": has_health_path(template),
        "perms_on": permissions_of(request.user),
    }
    return render(request, "integrations/discovery.html", context)


def matches(operation: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if wanted["relevant"] and not operation.get("relevant"):
        return False
    if (
        wanted["method"]
        and str(operation.get("method", "")).lower() != wanted["method"]
    ):
        return False
    text = " ".join(
        [
            operation.get("path", ""),
            operation.get("summary", ""),
            operation.get("operation_id", ""),
        ]
        + list(operation.get("tags", []))
    ).lower()
    return wanted["q"].lower() in text


def has_health_path(template) -> bool:
    return bool(template and "health_path" in template.schema.get("properties", {}))


def discovery_action(request: HttpRequest, integration: Integration) -> HttpResponse:
    """Run discovery again, or make a discovered path the health path."""
    if request.POST.get("action") == "discover":
        require_permission(request.user, "test_integration")
        throttle = ConnectionTestThrottle()
        if not throttle.allow_request(request, None):
            messages.error(
                request,
                f"Too many tests and discoveries in a minute; try again in "
                f"{int(throttle.wait() or 1)} s.",
            )
            return redirect("integration-discovery", pk=integration.pk)
        result = discovery_search.discover(integration.config)
        ApiDiscovery.record(integration, request.user, result)
        if result["ok"]:
            messages.success(
                request,
                f"Found {len(result['operations'])} operations at {result['source_url']}.",
            )
        else:
            messages.error(request, f"{result['error']} See the places tried below.")
        return redirect("integration-discovery", pk=integration.pk)

    require_permission(request.user, "change_integration")
    path = request.POST.get("health_path", "")
    template = get_template(integration.integration_type)
    usable = (
        path.startswith("/")
        and len(path) <= 2000
        and not any(character.isspace() or ord(character) < 32 for character in path)
    )
    if not has_health_path(template) or not usable:
        messages.error(request, "Choose a path starting with / from the table.")
        return redirect("integration-discovery", pk=integration.pk)
    integration.config = {**integration.config, "health_path": path}
    try:
        integration.full_clean()
        integration.record_change(
            request.user, f"health path {path} chosen from discovery"
        )
        integration.save()
    except (ValidationError, VersionConflict) as error:
        messages.error(
            request, f"The health path was not changed: {'; '.join(error_texts(error))}"
        )
    else:
        messages.success(request, f"The health path is now {path}.")
    return redirect("integration-discovery", pk=integration.pk)


def error_texts(error: Exception) -> list[str]:
    if isinstance(error, ValidationError):
        return error.messages
    return [str(error)]
