"""Files sent with an incident. The limits live here, so the portal, the e-mail intake and the admin refuse
the same file with the same message."""

from __future__ import annotations

import mimetypes
import unicodedata

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from ..choices import EventKind, Visibility
from ..exceptions import PermissionDenied, ValidationError
from ..models import Attachment, Incident
from .base import _check_choice, _event, _raise_if

NAME_LENGTH = 200


def clean_file_name(name: str) -> str:
    """The last path component of what the sender called the file, without control characters; bounded."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > NAME_LENGTH:
        _, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 16 else ""
        name = name[: NAME_LENGTH - len(keep) - 1].rstrip() + ("." + keep if keep else "")
    return name or "attachment"


def _may_attach(user, incident: Incident, visibility: str) -> bool:
    """Support staff attach anything; the people an incident concerns (its reporter and caller) attach
    public files, as they comment."""
    if user.has_perm("incidents.add_comment"):
        return True
    return visibility == Visibility.PUBLIC and user.pk in (incident.reporter_id, incident.caller_id)


@transaction.atomic
def attachment_add(
    *,
    incident: Incident,
    user,
    name: str,
    content: bytes,
    content_type: str = "",
    visibility: str = Visibility.PUBLIC,
    sender_name: str = "",
    sender_email: str = "",
) -> Attachment:
    """Keep a file with `incident`. `user` None is a contact without an account (the e-mail intake, which has
    already decided the sender may write on the incident); `sender_name`/`sender_email` then say who sent it.
    Refuses an empty file, one over `ATTACHMENT_MAX_BYTES`, and a file beyond `ATTACHMENTS_PER_INCIDENT`."""
    errors: dict = {}
    _check_choice(errors, "visibility", visibility, Visibility)
    limit = settings.ATTACHMENT_MAX_BYTES
    if not content:
        errors["file"] = ["The file is empty."]
    elif len(content) > limit:
        errors["file"] = [
            f"The file is {filesizeformat(len(content))}; files may be at most {filesizeformat(limit)}."
        ]
    _raise_if(errors)
    if user is not None and not _may_attach(user, incident, visibility):
        raise PermissionDenied("You may not add files to this incident.")
    # Lock the incident: two uploads at once must not both pass the count.
    Incident.objects.select_for_update().filter(pk=incident.pk).first()
    if incident.attachments.count() >= settings.ATTACHMENTS_PER_INCIDENT:
        raise ValidationError(
            {"file": [f"An incident keeps at most {settings.ATTACHMENTS_PER_INCIDENT} files."]}
        )
    name = clean_file_name(name)
    content_type = (content_type or mimetypes.guess_type(name)[0] or "application/octet-stream")[:100]
    attachment = Attachment(
        incident=incident,
        name=name,
        content_type=content_type,
        size=len(content),
        uploaded_by=user if user is not None and user.is_authenticated else None,
        sender_name=sender_name[:150],
        sender_email=sender_email,
        visibility=visibility,
    )
    attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    _event(
        incident,
        kind=EventKind.ATTACHMENT,
        user=user,
        note=name,
        visibility=visibility,
        data={"attachment": attachment.pk, "size": attachment.size},
    )
    return attachment
