import pytest

from incidents.choices import Role
from tests.factories import ServiceFactory, make_user

from .stories import story, t


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Stored reports go to a temporary MEDIA_ROOT, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker):
    """Data built once for a module's tests, like TestCase.setUpTestData: written inside an outer
    transaction that each test's own transaction nests in, and rolled back after the module."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def october(module_db):
    """The incidents of the KPI examples (test_kpis, test_weekly_summary), numbered as in the comments."""
    manager = make_user(Role.INCIDENT_MANAGERS, username="report-manager")
    svc = ServiceFactory(slug="alpha", name="Alpha")
    made = {}
    # 1. S1: response 10 min (met), resolved after 2 h (met), closed in October.
    made[1] = story(
        manager,
        service=svc,
        created=t(10, 2, 10),
        severity="S1",
        steps=(("investigate", t(10, 2, 10, 10)), ("resolve", t(10, 2, 12)), ("close", t(10, 3, 9))),
    )
    # 2. S1: response 20 min (late: due 08:15), resolved after 5 h (late: due 12:00).
    made[2] = story(
        manager,
        service=svc,
        created=t(10, 5, 8),
        severity="S1",
        steps=(("investigate", t(10, 5, 8, 20)), ("resolve", t(10, 5, 13))),
    )
    # 3. S2 on hold 2 h: resolved after 9 h, in time only because the hold moved the due time to 19:00.
    made[3] = story(
        manager,
        service=svc,
        created=t(10, 10, 9),
        severity="S2",
        category="application",
        steps=(
            ("investigate", t(10, 10, 9, 5)),
            ("hold", t(10, 10, 10)),
            ("resume", t(10, 10, 12)),
            ("resolve", t(10, 10, 18)),
        ),
    )
    # 4. S3 reopened: first resolved after 10 h, finally after exactly 24 h = its due time (met).
    made[4] = story(
        manager,
        service=svc,
        created=t(10, 12),
        severity="S3",
        steps=(
            ("investigate", t(10, 12, 1)),
            ("resolve", t(10, 12, 10)),
            ("reopen", t(10, 12, 11)),
            ("resolve", t(10, 13)),
        ),
    )
    # 5. S4 logged in September, resolved in October: counts for MTTR, not for first response.
    made[5] = story(
        manager,
        service=svc,
        created=t(9, 30, 20),
        severity="S4",
        steps=(("investigate", t(9, 30, 21)), ("resolve", t(10, 1, 2))),
    )
    # 6. S2 logged on the last evening, response late (40 min), resolved in November: open at the end.
    made[6] = story(
        manager,
        service=svc,
        created=t(10, 31, 23),
        severity="S2",
        steps=(("investigate", t(10, 31, 23, 40)), ("resolve", t(11, 1, 1))),
    )
    # 7. Cancelled: excluded everywhere.
    made[7] = story(manager, service=svc, created=t(10, 20), severity="S3", steps=(("cancel", t(10, 20, 1)),))
    # 8. Logged, never classified: created and open, on the clocks of the provisional S3 logging gave it.
    made[8] = story(manager, service=svc, created=t(10, 25), severity=None)
    # 9. S1 never answered: its response is decided (missed) once the due time has passed.
    made[9] = story(manager, service=svc, created=t(10, 28, 10), severity="S1")
    return made
