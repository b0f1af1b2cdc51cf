"""Files sent with an incident: from the portal, by e-mail, or by support staff."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..choices import Visibility
from .core import Incident


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """Stored under a random name: the sender's file name is data (shown, offered on download), never a path."""
    return f"attachments/{attachment.incident_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=200)
    name = models.CharField(max_length=200, help_text="The file name as the sender gave it, cleaned.")
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A contact without an account (e-mail intake): who sent it.
    sender_name = models.CharField(max_length=150, blank=True)
    sender_email = models.EmailField(blank=True)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "created_at", "pk"]
        indexes = [models.Index(fields=["incident", "created_at"], name="attachment_incident_time")]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("attachment-download", args=[self.pk, self.name])
