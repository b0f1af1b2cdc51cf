"""Admin form helpers shared by the incident admin tests."""

from django.utils import timezone


def change_form_data(response, **changes):
    """The POST body of the change form as rendered: its editable fields plus the inlines' management forms."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if name == "detected_at":
            local = timezone.localtime(value)
            data["detected_at_0"], data["detected_at_1"] = f"{local:%Y-%m-%d}", f"{local:%H:%M:%S}"
        else:
            data[name] = "" if value is None else value
    for inline in response.context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
    data.update(changes)
    return data
