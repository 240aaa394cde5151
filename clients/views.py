"""The integrator pages for clients: list, create, read and edit, with health."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from clients.forms import ClientPageForm
from clients.models import Client

PAGE_SIZE = 25

# A connection test that answered "ok" counts as healthy; any other answer is failing.
HEALTHY = Q(integrations__last_test_status="ok")
FAILING = Q(integrations__last_tested_at__isnull=False) & ~HEALTHY


def with_health(clients):
    return clients.annotate(
        integration_total=Count("integrations", distinct=True),
        healthy_total=Count("integrations", filter=HEALTHY, distinct=True),
        failing_total=Count("integrations", filter=FAILING, distinct=True),
    )


def require_permission(user, codename: str) -> None:
    if not user.has_perm(f"clients.{codename}"):
        raise PermissionDenied(f"You may not {codename.replace('_', ' ')}s.")


def visible_client(request: HttpRequest, pk: int) -> Client:
    """The client if one of the user's teams owns it; another team's answers 404."""
    clients = Client.objects.visible_to(request.user).select_related("team")
    return get_object_or_404(clients, pk=pk)


@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    visible = Client.objects.visible_to(request.user)
    search = request.GET.get("q", "").strip()[:200]
    clients = visible.select_related("team")
    if search:
        clients = clients.filter(Q(name__icontains=search) | Q(tin__icontains=search))
    page = Paginator(with_health(clients).order_by("name"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "search": search,
        "query": urlencode({"q": search}) if search else "",
        "any_at_all": visible.exists(),
        "may_add": request.user.has_perm("clients.add_client"),
    }
    return render(request, "clients/list.html", context)


@login_required
def client_new(request: HttpRequest) -> HttpResponse:
    require_permission(request.user, "add_client")
    form = ClientPageForm(
        request.POST if request.method == "POST" else None, user=request.user
    )
    if request.method == "POST" and form.is_valid() and save_or_explain(request, form):
        messages.success(request, f"Saved client {form.instance.name}.")
        return redirect("client-detail", pk=form.instance.pk)
    return render_form(request, "clients/new.html", form)


@login_required
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = visible_client(request, pk)
    require_permission(request.user, "change_client")
    form = ClientPageForm(
        request.POST if request.method == "POST" else None,
        instance=client,
        user=request.user,
    )
    if request.method == "POST" and form.is_valid() and save_or_explain(request, form):
        if form.instance.nothing_changed:
            messages.info(request, "Nothing changed.")
        else:
            messages.success(request, f"Saved client {form.instance.name}.")
        return redirect("client-detail", pk=client.pk)
    return render_form(request, "clients/edit.html", form, client=client)


def save_or_explain(request: HttpRequest, form: ClientPageForm) -> bool:
    """Save with who and why; a name or TIN taken meanwhile becomes a form error."""
    client = form.save(commit=False)
    try:
        with transaction.atomic():
            client.record_change(request.user, form.cleaned_data["reason"]).save()
    except IntegrityError:
        form.add_error(
            None, "Another client with this name or TIN was saved meanwhile."
        )
        return False
    return True


def render_form(
    request: HttpRequest, template_name: str, form: ClientPageForm, **extra
) -> HttpResponse:
    status = 400 if form.is_bound else 200
    if form.is_bound:
        messages.error(request, "Nothing was saved: fix what is marked below.")
    context = {"form": form, **extra}
    return render(request, template_name, context, status=status)


@login_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = visible_client(request, pk)
    health = with_health(Client.objects.filter(pk=pk)).get()
    context = {
        "client": client,
        "health": health,
        "integrations": client.integrations.order_by("name"),
        "may_change": request.user.has_perm("clients.change_client"),
        "may_add_integration": request.user.has_perm("integrations.add_integration"),
    }
    return render(request, "clients/detail.html", context)
