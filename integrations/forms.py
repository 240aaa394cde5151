from __future__ import annotations

import math
from typing import Any

from django import forms
from django_jsonform.widgets import JSONFormWidget

from integrations.models import Integration
from taxpoynt.admin import ChangeReasonForm

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


class IntegrationAdminForm(ChangeReasonForm):
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
        self.fields["config"].widget = config_widget(self.instance.config)
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
