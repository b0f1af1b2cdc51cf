"""Services get the day they went into operation (issue #8: "`detected_at` not before the service existed").

Existing services take the earliest day (in TIME_ZONE) among their incidents' detection and logging times, so
every stored incident stays valid; a service of the lab catalogue (`reference_data.LAB_SERVICES`, seeded by
0005) takes its catalogue date when that is earlier; any other service without incidents takes the day this
migration runs, as a new service would. Their history rows take the same date, so that the next edit's
history shows no change of a date nobody changed."""

from datetime import date

import django.utils.timezone
from django.db import migrations, models
from django.db.models import Min
from django.utils import timezone


def date_services(apps, schema_editor):
    from incidents.reference_data import LAB_SERVICES

    Service = apps.get_model("incidents", "Service")
    HistoricalService = apps.get_model("incidents", "HistoricalService")
    Incident = apps.get_model("incidents", "Incident")
    catalogue = {entry.slug: entry.in_service_since for entry in LAB_SERVICES}
    first = {
        row["service"]: min(row["detected"], row["created"])
        for row in Incident.objects.filter(service__isnull=False)
        .order_by()
        .values("service")
        .annotate(detected=Min("detected_at"), created=Min("created_at"))
    }
    today = timezone.localdate()
    for pk, slug in Service.objects.values_list("pk", "slug"):  # a catalogue holds tens of services
        candidates = [_local_day(first[pk])] if pk in first else []
        if slug in catalogue:
            candidates.append(catalogue[slug])
        day = min(candidates, default=today)
        Service.objects.filter(pk=pk).update(in_service_since=day)
        HistoricalService.objects.filter(id=pk).update(in_service_since=day)


def _local_day(moment) -> date:
    try:
        return timezone.localtime(moment).date()
    except OverflowError:  # year 1, stored before imports were bounded, seen from west of UTC
        return date.min


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_api_tokens_and_sign_in_permissions")]

    operations = [
        migrations.AddField(
            model_name="historicalservice",
            name="in_service_since",
            field=models.DateField(
                default=django.utils.timezone.localdate,
                help_text="When the service went into operation: none of its incidents can be detected earlier.",
            ),
        ),
        migrations.AddField(
            model_name="service",
            name="in_service_since",
            field=models.DateField(
                default=django.utils.timezone.localdate,
                help_text="When the service went into operation: none of its incidents can be detected earlier.",
            ),
        ),
        migrations.RunPython(date_services, migrations.RunPython.noop),
    ]
