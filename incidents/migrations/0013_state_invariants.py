from django.db import migrations, models
from django.db.models import F, Q
from django.db.models.functions import Coalesce


def repair(apps, schema_editor):
    """Bring rows written before the invariants into line, with the nearest truthful values, so that the
    constraints can be added: a hold without its start began when the row last changed; a resolution
    without its time or code was at the latest change, code "other"; a closure without its time was at
    the latest change, by staff (there was no other way then); a resolution or closure recorded on an
    incident not (or no longer) resolved or closed is cleared; a due time before logging is logging."""
    Incident = apps.get_model("incidents", "Incident")
    Incident.objects.filter(state="on_hold", on_hold_since=None).update(on_hold_since=F("updated_at"))
    finished = Incident.objects.filter(state__in=["resolved", "closed"])
    finished.filter(resolved_at=None).update(resolved_at=Coalesce("closed_at", "updated_at"))
    finished.filter(resolution_code="").update(resolution_code="other")
    closed = Incident.objects.filter(state="closed")
    closed.filter(closed_at=None).update(closed_at=F("updated_at"))
    closed.filter(closed_by="").update(closed_by="staff")
    unresolved = Incident.objects.exclude(state__in=["resolved", "closed"])
    unresolved.exclude(resolved_at=None).update(resolved_at=None)
    unresolved.exclude(resolution_code="").update(resolution_code="")
    unclosed = Incident.objects.exclude(state="closed")
    unclosed.exclude(closed_at=None, closed_by="").update(closed_at=None, closed_by="")
    Incident.objects.filter(response_due_at__lt=F("created_at")).update(response_due_at=F("created_at"))
    Incident.objects.filter(resolution_due_at__lt=F("created_at")).update(resolution_due_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0012_auto_close_schedule")]

    operations = [
        migrations.RunPython(repair, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=~Q(state="on_hold") | Q(on_hold_since__isnull=False),
                name="incident_on_hold_has_since",
                violation_error_message="An incident on hold needs the time its hold began.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=~Q(state__in=["resolved", "closed"])
                | (Q(resolved_at__isnull=False) & ~Q(resolution_code="")),
                name="incident_resolved_has_resolution",
                violation_error_message="A resolved or closed incident needs its resolution time and code.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=~Q(state="closed") | (Q(closed_at__isnull=False) & ~Q(closed_by="")),
                name="incident_closed_has_closure",
                violation_error_message="A closed incident needs its closure time and how it was closed.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=Q(state__in=["resolved", "closed"])
                | (Q(resolved_at__isnull=True) & Q(resolution_code="")),
                name="incident_unresolved_has_no_resolution",
                violation_error_message="Only a resolved or closed incident has a resolution time and code.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=Q(state="closed") | (Q(closed_at__isnull=True) & Q(closed_by="")),
                name="incident_unclosed_has_no_closure",
                violation_error_message="Only a closed incident has a closure time and how it was closed.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=Q(response_due_at__isnull=True) | Q(response_due_at__gte=F("created_at")),
                name="incident_response_due_after_logging",
                violation_error_message="The response due time cannot precede logging.",
            ),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=Q(resolution_due_at__isnull=True) | Q(resolution_due_at__gte=F("created_at")),
                name="incident_resolution_due_after_logging",
                violation_error_message="The resolution due time cannot precede logging.",
            ),
        ),
    ]
