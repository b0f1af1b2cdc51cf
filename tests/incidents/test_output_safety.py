"""`incidents.output_safety`: the one place that makes text safe for spreadsheets (`csv_cell`, used by
every CSV the project writes) and for e-mail headers (`header_line`, used by every mail it sends)."""

import io
from datetime import UTC, date, datetime

import pytest
import time_machine

from incidents.csv_io import export_incidents, import_incidents
from incidents.models import Incident, Service, TimelineEvent
from incidents.output_safety import csv_cell, csv_cell_restore, header_line
from tests.factories import ServiceFactory, incident_in, make_user


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),  # already looks escaped: escaped once more, so the import gives it back exactly
        ("''+x", "'''+x"),
        ("'quoted", "'quoted"),  # a quote before plain text is the text's own
        ("Ceph OSD down", "Ceph OSD down"),
        ("a=b", "a=b"),
        ("-5", "-5"),  # a number is shown as the number it is
        ("-0.25", "-0.25"),
        ("+1e3", "+1e3"),
        (-5, -5),
        (2.5, 2.5),
        (None, None),
        ("", ""),
    ],
)
def test_csv_cell_escapes_formulas_and_round_trips(value, written):
    assert csv_cell(value) == written
    if isinstance(value, str):
        assert csv_cell_restore(csv_cell(value)) == value


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("pve-07 down\r\nBcc: x@evil", "pve-07 down Bcc: x@evil"),
        ("a\nb\rc", "a b c"),
        ("tab\there\x00nul\x1b[31m", "tab here nul [31m"),
        ("line\u2028separator\x85next", "line separator next"),
        ("  padded \r\n", "padded"),
    ],
)
def test_header_line_collapses_control_characters(text, line):
    assert header_line(text) == line


def test_header_line_cuts_to_a_length():
    assert header_line("x" * 300, max_length=255) == "x" * 255


@pytest.mark.django_db
def test_incident_export_escapes_every_text_cell_and_the_import_reads_it_back(manager):
    """Service slugs and usernames may start with "-" or "@" too; what the export escapes the import
    restores, so a round trip through an empty database is exact."""
    assignee = make_user(username="-admin+1", is_staff=False)
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        incident = incident_in(
            "logged", manager=manager, title="-2+3 disks", service=ServiceFactory(slug="-db")
        )
    Incident.objects.filter(pk=incident.pk).update(assignee=assignee)
    out = io.StringIO()
    export_incidents(start=date(2026, 3, 1), end=date(2026, 4, 1), stream=out)
    exported = out.getvalue()
    row = exported.splitlines()[1]
    assert ",'-2+3 disks,'-db," in row and ",'-admin+1," in row

    TimelineEvent.objects.all().delete()
    Incident.objects.all().delete()
    Incident.history.all().delete()
    with time_machine.travel(datetime(2026, 6, 1, tzinfo=UTC), tick=False):
        import_incidents(stream=io.StringIO(exported), user=manager)
    restored = Incident.objects.get()
    assert (restored.title, restored.service, restored.assignee) == (
        "-2+3 disks",
        Service.objects.get(slug="-db"),
        assignee,
    )
