from __future__ import annotations

import json
import math
from typing import Any

from django import forms
from django_jsonform.constants import JOIN_SYMBOL
from django_jsonform.widgets import JSONFormWidget

from clients.models import Client
from integrations import secrets
from integrations.models import Integration, config_problem
from integrations.providers import TEMPLATES, get_template
from taxpoynt.admin import ChangeReasonForm
from taxpoynt.json_bodies import refuse_constant, refuse_duplicate_keys
from taxpoynt.validation import validate_plain_text, validate_single_line

# The largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
LARGEST_EXACT_INTEGER = 2**53 - 1


class Unrepresentable(Exception):
    """The value holds something the JSON form editor cannot show without changing it."""


def schema_describing(value: Any) -> dict:
    """A django-jsonform schema that shows a JSON value exactly as it is.

    Used for types without a template of their own: the editor then keeps every type
    (numbers stay numbers, booleans stay booleans) and lets the user add string keys.
    """
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int) and abs(value) <= LARGEST_EXACT_INTEGER:
        return {"type": "integer"}
    # The browser writes 2.0 back as 2, which would store an integer in place of the
    # float; non-finite numbers are not JSON at all.
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, dict):
        return {
            "type": "dict",
            "keys": {key: schema_describing(item) for key, item in value.items()},
            "additionalProperties": {"type": "string"},
        }
    if isinstance(value, list) and value:
        item_schemas = [schema_describing(item) for item in value]
        if all(schema == item_schemas[0] for schema in item_schemas):
            return {"type": "array", "items": item_schemas[0]}
    # null, empty lists, lists of mixed items, whole-number floats and integers past
    # JavaScript's exact range have no faithful form representation.
    raise Unrepresentable


def config_widget(config: Any) -> forms.Widget:
    """The JSON form editor when it can show the config faithfully, else raw JSON."""
    try:
        schema = schema_describing(config if isinstance(config, dict) else {})
    except Unrepresentable:
        return forms.Textarea(
            attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}
        )
    return JSONFormWidget(schema=schema)


class StrictJSONFormField(forms.JSONField):
    """The admin's config field: duplicate keys are an error, not "the last one wins"."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value, object_pairs_hook=refuse_duplicate_keys)
            except ValueError as error:
                if "duplicate keys" in str(error):
                    raise forms.ValidationError(str(error).capitalize() + ".") from None
            except RecursionError:
                raise forms.ValidationError("The JSON is nested too deeply.") from None
        return super().to_python(value)


class IntegrationAdminForm(ChangeReasonForm):
    # The version this page showed: saving over a newer one would lose its changes.
    started_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Integration
        fields = [
            "client",
            "name",
            "integration_type",
            "description",
            "status",
            "config",
        ]

    # Set by form_with_secret_fields() for the secrets of the integration's type.
    secret_names: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["config"] = StrictJSONFormField(
            required=False, widget=config_widget(self.instance.config)
        )
        self.fields["started_version"].initial = self.instance.version
        status = self.instance.secret_status() if self.instance.pk else {}
        for name in self.secret_names:
            state = status.get(name, {"set": False})
            self.fields[f"secret_{name}"].help_text = (
                f"Set (last changed {state['changed_at']:%Y-%m-%d %H:%M}). "
                "Type a new value to replace it; leave empty to keep it."
                if state["set"]
                else "Not set."
            )

    def clean(self):
        cleaned = super().clean()
        started = cleaned.get("started_version")
        if self.instance.pk and started and started != self.instance.version:
            raise forms.ValidationError(
                f"Someone saved version {self.instance.version} after you opened "
                f"version {started}; nothing was saved. Open the page again to see "
                "their changes, then make yours."
            )
        writes = {}
        for name in self.secret_names:
            if cleaned.get(f"clear_{name}"):
                writes[name] = None
            elif cleaned.get(f"secret_{name}"):
                writes[name] = cleaned[f"secret_{name}"]
        # Staged before the model validates, so placeholders and host changes are
        # checked by the same rules as in the API.
        self.instance.write_secrets(writes)
        return cleaned


def form_with_secret_fields(
    secret_names: tuple[str, ...],
) -> type[IntegrationAdminForm]:
    """The admin form with a password input and a clear box for each secret."""
    fields: dict[str, Any] = {"secret_names": secret_names}
    for name in secret_names:
        fields[f"secret_{name}"] = forms.CharField(
            label=f"{name} (secret)",
            required=False,
            strip=False,
            widget=forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "off"}
            ),
        )
        fields[f"clear_{name}"] = forms.BooleanField(
            label=f"Clear {name}", required=False
        )
    return type("IntegrationAdminForm", (IntegrationAdminForm,), fields)


# Forms of the integrator pages. Config arrives as raw JSON text (the JSON editor keeps
# it in step in the browser); secrets arrive in password inputs of their own.

MAX_CONFIG_CHARACTERS = 100_000

# Keywords the django-jsonform editor understands well enough to draw a field from.
# Everything else (if/then/else, format, pattern, lengths, ranges...) is checked on
# the server, where the messages name the field and say what to fix.
EDITOR_KEYWORDS = ("type", "title", "enum", "default", "items")


def editor_schema(template) -> dict[str, Any]:
    """The template's schema as the JSON editor can draw it, without its secrets."""
    properties = {
        name: editor_property(schema)
        for name, schema in template.schema.get("properties", {}).items()
        if name not in template.secret_fields
    }
    return {"type": "object", "properties": properties}


def editor_property(schema: dict[str, Any]) -> dict[str, Any]:
    kept = {key: schema[key] for key in EDITOR_KEYWORDS if key in schema}
    if "description" in schema:
        kept["help_text"] = schema["description"]
    if "properties" in schema:
        kept["properties"] = {
            name: editor_property(item) for name, item in schema["properties"].items()
        }
    return kept


def parse_config(text: str) -> dict[str, Any]:
    """Read raw config JSON, raising ValidationError with what to fix."""
    try:
        value = json.loads(
            text.strip() or "{}",
            parse_constant=refuse_constant,
            object_pairs_hook=refuse_duplicate_keys,
        )
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            f"Not valid JSON: {error.msg} (line {error.lineno}, column "
            f"{error.colno}). Fix it in the raw JSON view."
        ) from None
    except ValueError as error:
        raise forms.ValidationError(f"Not valid JSON: {error}.") from None
    except RecursionError:
        raise forms.ValidationError("The JSON is nested too deeply.") from None
    problem = config_problem(value)
    if problem:
        path, message = problem
        raise forms.ValidationError(f"{path}: {message}")
    return value


def without_empty_values(config: dict[str, Any]) -> dict[str, Any]:
    """Drop top-level keys left empty: an empty form field means "not set"."""
    return {key: value for key, value in config.items() if value not in ("", None)}


def editor_error_key(path: str) -> str:
    """The editor's name for a config JSON path (config.a.b[0] becomes a§b§0)."""
    inner = path.removeprefix("config").lstrip(".")
    return inner.replace("[", ".").replace("]", "").replace(".", JOIN_SYMBOL)


class PageForm(forms.Form):
    """A form of the integrator pages: labels read "Name", not "Name:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class IntegrationTypeChoiceForm(PageForm):
    """The first step of a new integration: whose system, and which kind."""

    client = forms.ModelChoiceField(queryset=Client.objects.none())
    type = forms.ChoiceField(
        label="Type", choices=(), widget=forms.RadioSelect, required=True
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.visible_to(user)
        self.fields["type"].choices = [
            (slug, template.name) for slug, template in TEMPLATES.items()
        ]


class IntegrationPageForm(PageForm):
    """Create or edit an integration: fields, raw config JSON and secret inputs."""

    client = forms.ModelChoiceField(queryset=Client.objects.none())
    name = forms.CharField(max_length=200, validators=[validate_single_line])
    description = forms.CharField(
        required=False,
        max_length=5000,
        validators=[validate_plain_text],
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    status = forms.ChoiceField(
        choices=Integration.Status.choices, initial=Integration.Status.DRAFT
    )
    config = forms.CharField(
        label="Config (raw JSON)",
        required=False,
        strip=False,
        max_length=MAX_CONFIG_CHARACTERS,
        widget=forms.Textarea(
            attrs={"rows": 14, "spellcheck": "false", "class": "raw-json"}
        ),
        help_text="The same config as the form above, as JSON. Secrets are not "
        "part of it: type them in their own fields below.",
    )
    reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        help_text="Kept in the history with your name.",
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, user, integration_type: str, integration=None, **kw):
        super().__init__(*args, **kw)
        self.user = user
        self.integration_type = integration_type
        self.integration = integration
        self.template = get_template(integration_type)
        self.fields["client"].queryset = Client.objects.visible_to(user)
        if integration is not None:
            self.fields["version"].required = True
        self.secret_names = secrets.secret_names(integration_type)
        self.secret_state = integration.secret_status() if integration else {}
        for name in self.secret_names:
            self.add_secret_fields(name)
        self.plain_config: dict[str, Any] = {}
        self.secret_writes: dict[str, str | None] = {}
        self.editor_errors: dict[str, list[str]] = {}

    def add_secret_fields(self, name: str) -> None:
        schema = (
            self.template.schema["properties"].get(name, {}) if self.template else {}
        )
        state = self.secret_state.get(name, {"set": False})
        if state["set"]:
            help_text = "Set. Leave empty to keep the stored value."
        elif self.integration is not None:
            help_text = "Not set."
        else:
            help_text = schema.get("description", "")
        self.fields[f"secret_{name}"] = forms.CharField(
            label=schema.get("title", name),
            required=False,
            strip=False,
            max_length=4000,
            help_text=help_text,
            widget=forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            ),
        )
        if self.integration is not None:
            self.fields[f"clear_{name}"] = forms.BooleanField(
                label=f"Clear {schema.get('title', name)}", required=False
            )

    def secret_fields(self) -> list[dict[str, Any]]:
        """Each secret's input, its clear box and whether it is set, for the template."""
        return [
            {
                "name": name,
                "input": self[f"secret_{name}"],
                "clear": self[f"clear_{name}"]
                if f"clear_{name}" in self.fields
                else None,
                "set": self.secret_state.get(name, {}).get("set", False),
            }
            for name in self.secret_names
        ]

    def clean_config(self) -> dict[str, Any]:
        config = parse_config(self.cleaned_data.get("config") or "")
        return without_empty_values(config) if self.template else config

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "config" not in cleaned:
            return cleaned

        # Secrets typed into the JSON count as typed into their own fields, so they
        # are never shown back in the JSON view.
        plain, writes = secrets.split_secrets(self.integration_type, cleaned["config"])
        if writes:
            self.forget_secrets_typed_into_json(plain)
        for name in self.secret_names:
            if cleaned.get(f"clear_{name}"):
                writes[name] = None
            elif cleaned.get(f"secret_{name}"):
                writes[name] = cleaned[f"secret_{name}"]
        self.plain_config, self.secret_writes = plain, writes

        stored = self.integration
        errors = secrets.write_errors(
            self.integration_type,
            plain,
            writes,
            stored.config if stored else None,
            stored.secret_names_set() if stored else set(),
        )
        for path, messages in errors.items():
            self.add_config_error(path, messages)
        return cleaned

    def forget_secrets_typed_into_json(self, plain: dict[str, Any]) -> None:
        """Show the JSON back without the secrets typed into it: pages never hold one."""
        self.data = self.data.copy()
        self.data["config"] = json.dumps(plain, indent=2)

    def add_config_error(self, path: str, messages: list[str]) -> None:
        key = editor_error_key(path)
        if key in self.secret_names:
            self.add_error(f"secret_{key}", messages)
        elif path == "integration_type":
            self.add_error(None, messages)
        else:
            self.editor_errors[key] = messages
            self.add_error("config", [f"{path}: {message}" for message in messages])

    def config_for_editor(self) -> dict[str, Any]:
        """What the JSON editor starts from: what was typed, else the initial config."""
        if self.is_bound:
            if self.plain_config:
                return self.plain_config
            try:
                return secrets.split_secrets(
                    self.integration_type, parse_config(self.data.get("config", ""))
                )[0]
            except forms.ValidationError:
                return {}
        return json.loads(self.initial.get("config") or "{}")

    def editor(self) -> str:
        """The JSON editor's HTML; its own hidden input is not read by the server."""
        widget = (
            JSONFormWidget(schema=editor_schema(self.template))
            if self.template
            else config_widget(self.config_for_editor())
        )
        if self.editor_errors and isinstance(widget, JSONFormWidget):
            widget.add_error(self.editor_errors)
        return widget.render(
            "config_editor",
            json.dumps(self.config_for_editor()),
            attrs={"id": "id_config_editor"},
        )


class ReasonForm(PageForm):
    """A reason for a delete; the version guards against deleting a newer state."""

    reason = forms.CharField(label="Reason", required=False, max_length=500)
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class CloneForm(PageForm):
    name = forms.CharField(label="Name of the copy", max_length=200)
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    reason = forms.CharField(label="Reason", required=False, max_length=500)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.visible_to(user)


class RestoreForm(PageForm):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason for restoring", required=False, max_length=500
    )


class CompareForm(PageForm):
    """Two versions of one integration to show side by side."""

    a = forms.TypedChoiceField(label="Compare version", coerce=int, choices=())
    b = forms.TypedChoiceField(label="with version", coerce=int, choices=())

    def __init__(self, *args, numbers: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(number, f"v{number}") for number in numbers]
        self.fields["a"].choices = choices
        self.fields["b"].choices = choices


class IntegrationFilterForm(PageForm):
    q = forms.CharField(label="Search", required=False, max_length=200)
    client = forms.ModelChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="All clients"
    )
    type = forms.ChoiceField(label="Type", required=False, choices=())
    status = forms.ChoiceField(
        required=False, choices=[("", "All statuses"), *Integration.Status.choices]
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = Client.objects.visible_to(user)
        self.fields["type"].choices = [
            ("", "All types"),
            *((slug, template.name) for slug, template in TEMPLATES.items()),
        ]
