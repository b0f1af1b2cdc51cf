"""Files sent with an incident: the limits, who may add them, who may read them, and the download."""

import pytest
from django.urls import reverse

from incidents import selectors, services
from incidents.choices import EventKind, Role, State, Visibility
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Attachment
from tests.factories import incident_in, make_user


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ATTACHMENT_MAX_BYTES = 1000
    settings.ATTACHMENTS_PER_INCIDENT = 2


@pytest.fixture
def researcher(db):
    return make_user(username="researcher", is_staff=False)


@pytest.fixture
def incident(researcher, manager):
    return incident_in(State.INVESTIGATING, manager=manager, reporter=researcher)


def test_a_reporter_attaches_a_file_kept_under_a_random_name(incident, researcher):
    attachment = services.attachment_add(
        incident=incident, user=researcher, name="C:\\Users\\me\\..\\dmesg\x07.txt", content=b"disk error"
    )
    attachment.refresh_from_db()
    assert attachment.name == "dmesg.txt" and attachment.size == 10
    assert attachment.content_type == "text/plain" and attachment.visibility == Visibility.PUBLIC
    assert "dmesg" not in attachment.file.name and attachment.file.read() == b"disk error"
    event = incident.timeline.get(kind=EventKind.ATTACHMENT)
    assert event.note == "dmesg.txt" and event.visibility == Visibility.PUBLIC and event.actor == researcher


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "The file is empty."), (b"x" * 1001, "files may be at most 1000")],
)
def test_empty_and_oversized_files_are_refused_naming_the_limit(incident, researcher, content, message):
    with pytest.raises(ValidationError) as refused:
        services.attachment_add(incident=incident, user=researcher, name="big.bin", content=content)
    assert message in str(refused.value.message_dict["file"])
    assert not Attachment.objects.exists()


def test_an_incident_keeps_a_bounded_number_of_files(incident, researcher):
    for n in range(2):
        services.attachment_add(incident=incident, user=researcher, name=f"{n}.txt", content=b"x")
    with pytest.raises(ValidationError, match="at most 2 files"):
        services.attachment_add(incident=incident, user=researcher, name="3.txt", content=b"x")


def test_only_staff_attach_internal_files_and_strangers_none(incident, researcher, manager):
    with pytest.raises(PermissionDenied):
        services.attachment_add(
            incident=incident, user=researcher, name="a", content=b"x", visibility=Visibility.INTERNAL
        )
    stranger = make_user(username="stranger", is_staff=False)
    with pytest.raises(PermissionDenied):
        services.attachment_add(incident=incident, user=stranger, name="a", content=b"x")
    services.attachment_add(
        incident=incident, user=manager, name="notes", content=b"x", visibility=Visibility.INTERNAL
    )
    assert Attachment.objects.get().uploaded_by == manager


def test_a_contact_without_an_account_is_named_as_sender(incident):
    attachment = services.attachment_add(
        incident=incident, user=None, name="photo.jpg", content=b"\xff\xd8", sender_email="ann@lab.example"
    )
    assert attachment.uploaded_by is None and attachment.sender_email == "ann@lab.example"
    assert attachment.content_type == "image/jpeg"


def test_readers_see_public_files_and_their_own_staff_see_all(incident, researcher, manager):
    public = services.attachment_add(incident=incident, user=researcher, name="mine.txt", content=b"x")
    internal = services.attachment_add(
        incident=incident, user=manager, name="internal.txt", content=b"y", visibility=Visibility.INTERNAL
    )
    assert list(selectors.incident_attachments(incident=incident, user=researcher)) == [public]
    assert list(selectors.incident_attachments(incident=incident, user=manager)) == [public, internal]
    assert selectors.attachment_for(user=researcher, pk=internal.pk) is None
    assert selectors.attachment_for(user=make_user(username="other", is_staff=False), pk=public.pk) is None


def test_download_is_a_file_for_readers_and_a_404_for_everyone_else(client, incident, researcher, manager):
    attachment = services.attachment_add(
        incident=incident, user=researcher, name="page.html", content=b"<script>alert(1)</script>"
    )
    url = attachment.get_absolute_url()
    assert url == reverse("attachment-download", args=[attachment.pk, "page.html"])
    assert client.get(url).status_code == 302  # signing in first

    client.force_login(researcher)
    response = client.get(url)
    assert (
        response.status_code == 200 and b"".join(response.streaming_content) == attachment.file.open().read()
    )
    assert (
        response["Content-Disposition"].startswith("attachment;")
        and "page.html" in response["Content-Disposition"]
    )
    assert (
        response["X-Content-Type-Options"] == "nosniff" and "sandbox" in response["Content-Security-Policy"]
    )
    assert client.get(url.replace("page.html", "other.html")).status_code == 404

    client.force_login(make_user(username="other", is_staff=False))
    assert client.get(url).status_code == 404
    client.force_login(make_user(Role.SERVICE_DESK, username="desk2"))
    assert client.get(url).status_code == 200


def test_the_admin_incident_page_lists_the_files_it_may_show(client, incident, researcher, manager):
    services.attachment_add(incident=incident, user=researcher, name="dmesg.txt", content=b"x")
    client.force_login(manager)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk])).content.decode()
    assert "dmesg.txt" in page and "/attachments/" in page


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
        ("../..", "attachment"),
        ("", "attachment"),
        ("x/y/z.log", "z.log"),
    ],
)
def test_file_names_are_cleaned_and_bounded_keeping_the_extension(given, kept):
    assert services.clean_file_name(given) == kept
