"""The incident types of seed 2.2, each belonging to one category, with a response plan each.

"security_breach" becomes "unauthorized_access" and "sdr_feed_failure" "sdr_failure"; "other" becomes the
"other" of the incident's category (blank while it has none, the alert source's default category for a
source). A source whose default type is not of its default category gets the category's "other". Response
plans follow their type; the old general plan becomes the "other" plan of each category but security when
an administrator had edited it, and is replaced by the new seeded ones when not. Then every type gets its plan and the
seed's required steps are marked (`incidents.reference_data.seed_response_plans`).
"""

from django.db import migrations, models

# Frozen here: the values as they were before and after this migration.
RENAMED = {"security_breach": "unauthorized_access", "sdr_feed_failure": "sdr_failure"}
OLD_OTHER = "other"
CATEGORY_OTHER = {
    "infrastructure": "infrastructure_other",
    "application": "application_other",
    "security": "security_other",
    "observatory": "observatory_other",
}
TYPE_CATEGORY = {
    "host_failure": "infrastructure",
    "network_outage": "infrastructure",
    "infrastructure_other": "infrastructure",
    "database_unavailable": "application",
    "application_error": "application",
    "application_other": "application",
    "unauthorized_access": "security",
    "malware": "security",
    "security_other": "security",
    "sdr_failure": "observatory",
    "feed_issue": "observatory",
    "observatory_other": "observatory",
}
# The seeded plans as they were, to tell an administrator's edits from the seed.
OLD_GENERAL_PLAN = (
    "General incident response",
    "Default triage steps.",
    ["Confirm the impact with the reporter", "Find the responsible team", "Apply and verify the fix"],
)
RETITLED = {  # new type: (old seeded title, description) → (new title, description)
    "unauthorized_access": (
        ("Security incident response", "Containment and remediation (seed 5.1)."),
        ("Unauthorized access response", "Containment and remediation (seed 5.1)."),
    ),
    "sdr_failure": (
        ("SDR / antenna feed failure", "Observatory equipment recovery."),
        ("SDR failure", "Observatory receiver recovery."),
    ),
}
# Undoing: each new type to the old one it came from or falls under.
REVERSED = {
    "unauthorized_access": "security_breach",
    "malware": "security_breach",
    "security_other": "security_breach",
    "sdr_failure": "sdr_feed_failure",
    "feed_issue": "sdr_feed_failure",
    "infrastructure_other": OLD_OTHER,
    "application_other": OLD_OTHER,
    "observatory_other": OLD_OTHER,
    "": OLD_OTHER,
}

TYPE_CHOICES = [
    ("host_failure", "Host failure"),
    ("network_outage", "Network outage"),
    ("infrastructure_other", "Other infrastructure incident"),
    ("database_unavailable", "Database unavailability"),
    ("application_error", "Application error"),
    ("application_other", "Other application incident"),
    ("unauthorized_access", "Unauthorized access"),
    ("malware", "Malware"),
    ("security_other", "Other security incident"),
    ("sdr_failure", "SDR failure"),
    ("feed_issue", "Feed issue"),
    ("observatory_other", "Other observatory incident"),
]
SOURCE_TYPE_HELP = "One of the default category's types; blank for the category's \"other\"."


def _retype_incidents(model) -> None:
    for old, new in RENAMED.items():
        model.objects.filter(incident_type=old).update(incident_type=new)
    for category, other in CATEGORY_OTHER.items():
        model.objects.filter(incident_type=OLD_OTHER, category=category).update(incident_type=other)
    model.objects.filter(incident_type=OLD_OTHER).update(incident_type="")


def _retype_sources(model) -> None:
    for old, new in RENAMED.items():
        model.objects.filter(default_incident_type=old).update(default_incident_type=new)
    for category, other in CATEGORY_OTHER.items():
        mismatched = [t for t, c in TYPE_CATEGORY.items() if c != category]
        model.objects.filter(default_category=category).filter(
            models.Q(default_incident_type=OLD_OTHER) | models.Q(default_incident_type__in=mismatched)
        ).update(default_incident_type=other)


def _retype_plans(apps) -> None:
    ResponsePlan = apps.get_model("incidents", "ResponsePlan")
    ResponsePlanStep = apps.get_model("incidents", "ResponsePlanStep")
    for old, new in RENAMED.items():
        plan = ResponsePlan.objects.filter(incident_type=old).first()
        if plan is None:
            continue
        if ResponsePlan.objects.filter(incident_type=new).exists():
            plan.delete()  # a plan of the new type exists already (seeded by 0002 on a fresh database)
            continue
        plan.incident_type = new
        seeded, renamed = RETITLED[new]
        if (plan.title, plan.description) == seeded:
            plan.title, plan.description = renamed
        plan.save()
    general = ResponsePlan.objects.filter(incident_type=OLD_OTHER).first()
    if general is None:
        return
    steps = list(general.steps.order_by("order", "pk"))
    edited = (general.title, general.description, [s.text for s in steps]) != OLD_GENERAL_PLAN
    if edited:  # the administrator's general plan serves every category that has no plan of its own,
        # but security: its plan starts by preserving the evidence (the seed's, required)
        for category, other in CATEGORY_OTHER.items():
            if category == "security" or ResponsePlan.objects.filter(incident_type=other).exists():
                continue
            copy = ResponsePlan.objects.create(
                incident_type=other, title=general.title, description=general.description
            )
            ResponsePlanStep.objects.bulk_create(
                ResponsePlanStep(plan=copy, order=s.order, text=s.text) for s in steps
            )
    general.delete()


def forwards(apps, schema_editor):
    from incidents.reference_data import seed_response_plans

    for name in ("Incident", "HistoricalIncident"):
        _retype_incidents(apps.get_model("incidents", name))
    for name in ("AlertSource", "HistoricalAlertSource"):
        _retype_sources(apps.get_model("incidents", name))
    _retype_plans(apps)
    seed_response_plans(apps, mark_required=True)


def backwards(apps, schema_editor):
    for name in ("Incident", "HistoricalIncident"):
        model = apps.get_model("incidents", name)
        for new, old in REVERSED.items():
            model.objects.filter(incident_type=new).update(incident_type=old)
    for name in ("AlertSource", "HistoricalAlertSource"):
        model = apps.get_model("incidents", name)
        for new, old in REVERSED.items():
            model.objects.filter(default_incident_type=new).update(default_incident_type=old)
    ResponsePlan = apps.get_model("incidents", "ResponsePlan")
    ResponsePlanStep = apps.get_model("incidents", "ResponsePlanStep")
    for old, new in RENAMED.items():
        if not ResponsePlan.objects.filter(incident_type=old).exists():
            ResponsePlan.objects.filter(incident_type=new).update(incident_type=old)
    ResponsePlan.objects.filter(incident_type__in=[t for t in REVERSED if t]).delete()
    if not ResponsePlan.objects.filter(incident_type=OLD_OTHER).exists():
        title, description, texts = OLD_GENERAL_PLAN
        plan = ResponsePlan.objects.create(incident_type=OLD_OTHER, title=title, description=description)
        ResponsePlanStep.objects.bulk_create(
            ResponsePlanStep(plan=plan, order=i, text=text) for i, text in enumerate(texts, start=1)
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0010_process_caller_investigation_closure")]

    operations = [
        migrations.AlterField(
            model_name="incident",
            name="incident_type",
            field=models.CharField(blank=True, choices=TYPE_CHOICES, max_length=32),
        ),
        migrations.AlterField(
            model_name="historicalincident",
            name="incident_type",
            field=models.CharField(blank=True, choices=TYPE_CHOICES, max_length=32),
        ),
        migrations.AlterField(
            model_name="responseplan",
            name="incident_type",
            field=models.CharField(choices=TYPE_CHOICES, max_length=32, unique=True),
        ),
        migrations.AlterField(
            model_name="historicalresponseplan",
            name="incident_type",
            field=models.CharField(choices=TYPE_CHOICES, db_index=True, max_length=32),
        ),
        migrations.AlterField(
            model_name="alertsource",
            name="default_incident_type",
            field=models.CharField(
                blank=True, choices=TYPE_CHOICES, help_text=SOURCE_TYPE_HELP, max_length=32
            ),
        ),
        migrations.AlterField(
            model_name="historicalalertsource",
            name="default_incident_type",
            field=models.CharField(
                blank=True, choices=TYPE_CHOICES, help_text=SOURCE_TYPE_HELP, max_length=32
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
