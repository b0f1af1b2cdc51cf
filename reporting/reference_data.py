"""What every installation starts with: who may read and edit reports, and the scheduled deliveries.

Written against an apps registry so the data migration and the test suite seed the same rows. Idempotent:
existing rows are kept, so an administrator's edits (a different hour, a disabled task) survive.
"""

from django.conf import settings

from incidents.choices import Role
from incidents.reference_data import grant_role_permissions

REPORT_READERS = ["reporting.view_storedreport", "reporting.view_reportdelivery"]
REVIEW_READERS = ["reporting.view_majorincidentreview", "reporting.view_actionitem"]
REVIEW_EDITORS = [
    *REVIEW_READERS,
    "reporting.change_majorincidentreview",
    "reporting.add_actionitem",
    "reporting.change_actionitem",
    "reporting.delete_actionitem",
]
ROLE_PERMISSIONS = {
    Role.INCIDENT_MANAGERS: [*REPORT_READERS, "reporting.add_storedreport", *REVIEW_EDITORS],
    # Management reads everything and writes nothing: it reads the report pages and receives the scheduled
    # reports, but does not store new ones.
    Role.MANAGEMENT: [*REPORT_READERS, *REVIEW_READERS],
    # The Operations Team receives the weekly summary (seed 6.2) and reads the reports as Management does.
    Role.OPERATIONS: [*REPORT_READERS, *REVIEW_READERS],
}
MANAGEMENT_WITHHELD = ["reporting.add_storedreport"]

# name, task, crontab (minute, hour, day_of_week, day_of_month), kwargs
WEEKLY_SUMMARY_TASK = "Weekly incident summary to the Operations Team (Monday 08:00)"
FORMER_WEEKLY_SUMMARY_TASK = "Weekly incident summary to the Incident Managers (Monday 08:00)"

PERIODIC_TASKS = [
    (WEEKLY_SUMMARY_TASK, "reporting.tasks.send_weekly_summary", ("0", "8", "1", "*")),
    (
        "Monthly service-impact report to Management (1st, 08:00, previous month)",
        "reporting.tasks.send_service_impact_report",
        ("0", "8", "*", "1"),
    ),
]


def seed_reporting_data(apps) -> None:
    import json

    grant_role_permissions(apps, ROLE_PERMISSIONS)

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Issue #10 sent the weekly summary to the Operations Team: its beat entry keeps schedule and state.
    if not PeriodicTask.objects.filter(name=WEEKLY_SUMMARY_TASK).exists():
        PeriodicTask.objects.filter(name=FORMER_WEEKLY_SUMMARY_TASK).update(name=WEEKLY_SUMMARY_TASK)
    for name, task, (minute, hour, day_of_week, day_of_month) in PERIODIC_TASKS:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week=day_of_week,
            day_of_month=day_of_month,
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={"task": task, "crontab": crontab, "args": json.dumps([]), "kwargs": json.dumps({})},
        )
