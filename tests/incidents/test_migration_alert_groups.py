"""Migration 0015 turns each incident raised before correlation into a group of one alert keyed by its
fingerprint; the newest incident of a source and fingerprint stays the one later alerts are correlated to."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = ("incidents", "0014_scale_indexes")
AFTER = ("incidents", "0015_alert_correlation")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_existing_alerts_become_groups_of_one_and_the_newest_is_current():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate(BEFORE)
        Incident = old.get_model("incidents", "Incident")
        AlertSource = old.get_model("incidents", "AlertSource")
        IncidentAlert = old.get_model("incidents", "IncidentAlert")
        now = timezone.now()
        source = AlertSource.objects.create(name="Prometheus", slug="prometheus", token_hash="x" * 64)
        for number, is_open, fingerprint in (
            ("INC-000901", False, "osd-7"),  # resolved long ago
            ("INC-000902", True, "osd-7"),  # the one it fires on now
            ("INC-000903", False, "osd-8"),  # resolved, and still the newest of osd-8
        ):
            incident = Incident.objects.create(number=number, title=f"{fingerprint} down", detected_at=now)
            IncidentAlert.objects.create(
                incident=incident,
                source=source,
                fingerprint=fingerprint,
                is_open=is_open,
                occurrences=3,
                labels={"ceph_daemon": fingerprint},
            )

        new = migrate(AFTER)
        Group = new.get_model("incidents", "IncidentAlert")
        Alert = new.get_model("incidents", "Alert")
        groups = {g.incident.number: g for g in Group.objects.select_related("incident")}
        assert {n: (g.key, g.grouping, g.is_current) for n, g in groups.items()} == {
            "INC-000901": ("osd-7", "fingerprint", False),
            "INC-000902": ("osd-7", "fingerprint", True),
            "INC-000903": ("osd-8", "fingerprint", True),
        }
        assert len({g.key_hash for g in groups.values()}) == 2
        alerts = Alert.objects.filter(group=groups["INC-000902"])
        assert [(a.fingerprint, a.occurrences, a.title, a.labels) for a in alerts] == [
            ("osd-7", 3, "osd-7 down", {"ceph_daemon": "osd-7"})
        ]
        # The source keeps grouping by fingerprint: its alert firing on INC-000902 still lands there.
        assert new.get_model("incidents", "AlertSource").objects.get().grouping == "fingerprint"
        MigrationExecutor(connection).migrate(leaves)
        from incidents.models import AlertSource as Source
        from incidents.models import Incident as Current
        from tests.incidents.alerting import ALERTMANAGER_URL, alertmanager_payload, post

        source = Source.objects.get()
        token = source.issue_token()
        source.save()
        Current.objects.filter(number="INC-000902").update(state="investigating")  # open, as it was
        response = post(ALERTMANAGER_URL, alertmanager_payload(fingerprint="osd-7"), token)
        assert response.status_code in (200, 202), response.content
        assert Current.objects.count() == 3  # joined INC-000902, no duplicate
        assert Source(name="New", slug="new").grouping == "group"  # new sources group by groupKey
    finally:
        MigrationExecutor(connection).migrate(leaves)
