"""Reference data seeded by migration: roles with permissions, tiers, SLA targets, runbooks, the catalogue."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from incidents.choices import IncidentType, Role
from incidents.models import ResponsePlan, Service, SlaPolicy, SupportTier
from incidents.reference_data import LAB_SERVICES, seed_service_catalogue

pytestmark = pytest.mark.django_db


def test_roles_tiers_targets_and_runbooks_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.ALL)
    assert list(SupportTier.objects.values_list("code", "group__name")) == [
        ("tier1", "Service Desk"),
        ("tier2", "System Administrators"),
        ("tier3", "Subject Matter Experts"),
        ("external", "External Support"),
    ]
    targets = {
        p.severity: (p.response_target.total_seconds(), p.resolution_target.total_seconds())
        for p in SlaPolicy.objects.all()
    }
    assert targets == {"S1": (900, 14400), "S2": (1800, 28800), "S3": (14400, 86400), "S4": (86400, 259200)}
    # A runbook for every incident type (seed 2.2's types, and an "other" per category).
    assert set(ResponsePlan.objects.values_list("incident_type", flat=True)) == set(IncidentType.values)
    assert all(p.steps.exists() for p in ResponsePlan.objects.all())
    assert (
        Group.objects.get(name=Role.MANAGEMENT).permissions.filter(codename__startswith="change_").count()
        == 0
    )


def test_the_lab_catalogue_is_seeded_once_without_stakeholders():
    seed_service_catalogue(apps)
    Service.objects.filter(slug="ceph").update(name="Ceph (renamed by an admin)")
    seed_service_catalogue(apps)
    assert Service.objects.filter(slug__in=[s.slug for s in LAB_SERVICES]).count() == len(LAB_SERVICES)
    assert Service.objects.get(slug="ceph").name == "Ceph (renamed by an admin)", "an admin's edit stays"
    assert not Service.objects.exclude(stakeholder_emails="").exists()
    assert Service.objects.get(slug="pve-cluster").owner_group.name == Role.SYSADMINS
