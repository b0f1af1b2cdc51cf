"""Writes of the reporting app: generate and store reports, send the scheduled ones, draft the review of a
major incident when it is resolved and mark it final. Commands, the admin, the API and the Celery tasks call
these."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from incidents.choices import Role, State
from incidents.exceptions import PermissionDenied, ValidationError
from incidents.models import Incident
from incidents.output_safety import header_line

from . import formatting, renderers, selectors
from .choices import CONTENT_TYPES, ReportFormat, ReportKind, ReviewStatus
from .models import MajorIncidentReview, ReportDelivery, StoredReport
from .pdf import PdfUnavailable, pdf_available
from .periods import Period, previous_month, previous_week

logger = logging.getLogger(__name__)


@dataclass
class GeneratedReport:
    kind: str
    period: str
    format: str
    content: bytes
    stored: StoredReport | None = None

    @property
    def filename(self) -> str:
        return f"{self.kind.replace('_', '-')}-{self.period}.{self.format}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def report_store(
    *, report: GeneratedReport, user=None, delivery: ReportDelivery | None = None
) -> StoredReport:
    """Keep a generated report's file under MEDIA_ROOT with its period, format, time and author."""
    stored = StoredReport(
        kind=report.kind,
        period=report.period,
        format=report.format,
        size=len(report.content),
        generated_by=_user_or_none(user),
        delivery=delivery,
    )
    stored.file.save(report.filename, ContentFile(report.content), save=False)
    stored.save()
    report.stored = stored
    return stored


def _generate(kind, period: str, data: dict, fmt: str, *, user, store: bool, **context) -> GeneratedReport:
    report = GeneratedReport(
        kind=kind, period=period, format=fmt, content=renderers.render(kind, data, fmt, **context)
    )
    if store:
        report_store(report=report, user=user)
    return report


def service_impact_report(
    *, month: Period, fmt: str, user=None, store: bool = True, now: datetime | None = None
) -> GeneratedReport:
    """The monthly service-impact report (`selectors.service_impact`) as a file, stored unless told not to."""
    data = selectors.service_impact(month=month, now=now)
    return _generate(ReportKind.SERVICE_IMPACT, month.label, data, fmt, user=user, store=store)


def weekly_summary_report(
    *, week: Period, fmt: str, user=None, store: bool = True, now: datetime | None = None
) -> GeneratedReport:
    data = selectors.weekly_summary(week=week, now=now)
    return _generate(ReportKind.WEEKLY_SUMMARY, week.label, data, fmt, user=user, store=store)


def major_incident_review_report(
    *, incident: Incident, fmt: str, user=None, store: bool = True
) -> GeneratedReport:
    data = selectors.major_incident_review(incident=incident)
    return _generate(
        ReportKind.MAJOR_INCIDENT_REVIEW,
        incident.number,
        data,
        fmt,
        user=user,
        store=store,
        incident=incident,
    )


def kpi_report(*, period: Period, fmt: str, user=None, store: bool = False, now=None) -> GeneratedReport:
    data = selectors.period_kpis(period=period, now=now)
    return _generate(ReportKind.KPIS, period.label, data, fmt, user=user, store=store)


# --- scheduled delivery ----------------------------------------------------------------------------------


def _recipients(group: str) -> list[str]:
    from escalation.services.notifications import users_of

    return list(dict.fromkeys(u.email for u in users_of([group]) if u.email))


def _deliver(*, kind: str, period: Period, group: str, build, copy_to: str = "") -> ReportDelivery:
    """Generate, store and e-mail one scheduled report, at most once per (kind, period): the delivery row
    is locked while it is built and sent, and a run that finds it sent does nothing. `build(delivery)`
    returns (subject, text, html, attachments). The members of `group` receive it, those of `copy_to` a
    copy (Cc); when `group` has nobody with an address, the copy's readers are its recipients."""
    audience = f"{group} (copy: {copy_to})" if copy_to else group
    with transaction.atomic():
        ReportDelivery.objects.get_or_create(kind=kind, period=period.label, defaults={"group": audience})
        delivery = ReportDelivery.objects.select_for_update().get(kind=kind, period=period.label)
        if delivery.sent_at is not None:
            logger.info("%s %s was already sent at %s", kind, period.label, delivery.sent_at)
            return delivery
        subject, text, html, attachments = build(delivery)
        recipients = _recipients(group)
        copies = [address for address in _recipients(copy_to) if address not in recipients] if copy_to else []
        if not recipients:
            recipients, copies = copies, []
        if recipients:
            message = EmailMultiAlternatives(
                header_line(subject), text, settings.DEFAULT_FROM_EMAIL, recipients, cc=copies
            )
            message.attach_alternative(html, "text/html")
            for stored in attachments:
                stored.file.open("rb")
                with stored.file:
                    message.attach(stored.filename, stored.file.read(), CONTENT_TYPES[stored.format])
            message.send(fail_silently=False)
        else:
            logger.warning(
                "Nobody with an e-mail address in %s: %s %s stored, not sent",
                audience,
                kind,
                period.label,
            )
        delivery.group = audience
        delivery.recipients = "\n".join([*recipients, *copies])
        delivery.sent_at = timezone.now()
        delivery.save(update_fields=["group", "recipients", "sent_at"])
    return delivery


def deliver_weekly_summary(*, week: Period | None = None, now: datetime | None = None) -> ReportDelivery:
    """Monday 08:00 (celery beat): last ISO week's summary to the Operations Team (seed 6.2 "Incident
    Summary, weekly, Operations Team"), the Incident Managers in copy; HTML with a Markdown text part; the
    HTML is stored."""
    now = now or timezone.now()
    week = week or previous_week(now)

    def build(delivery):
        html = weekly_summary_report(week=week, fmt=ReportFormat.HTML, now=now, store=False)
        report_store(report=html, delivery=delivery)
        text = renderers.render(ReportKind.WEEKLY_SUMMARY, selectors.weekly_summary(week=week, now=now), "md")
        return f"Weekly incident summary {week.label}", text.decode(), html.content.decode(), []

    return _deliver(
        kind=ReportKind.WEEKLY_SUMMARY,
        period=week,
        group=Role.OPERATIONS,
        copy_to=Role.INCIDENT_MANAGERS,
        build=build,
    )


def deliver_service_impact(*, month: Period | None = None, now: datetime | None = None) -> ReportDelivery:
    """The 1st of the month at 08:00 (celery beat): the previous month's service-impact report to
    Management, the HTML as the body and the PDF attached when the PDF backend is installed. Both stored."""
    now = now or timezone.now()
    month = month or previous_month(now)

    def build(delivery):
        data = selectors.service_impact(month=month, now=now)
        html = GeneratedReport(
            ReportKind.SERVICE_IMPACT,
            month.label,
            "html",
            renderers.render(ReportKind.SERVICE_IMPACT, data, "html"),
        )
        report_store(report=html, delivery=delivery)
        attachments = []
        if pdf_available():
            try:
                pdf = GeneratedReport(
                    ReportKind.SERVICE_IMPACT,
                    month.label,
                    "pdf",
                    renderers.render(ReportKind.SERVICE_IMPACT, data, "pdf"),
                )
            except PdfUnavailable as exc:
                logger.warning("Service-impact report %s sent without its PDF: %s", month.label, exc)
            else:
                attachments.append(report_store(report=pdf, delivery=delivery))
        text = renderers.render(ReportKind.SERVICE_IMPACT, data, "md").decode()
        return f"Service impact report {month.label}", text, html.content.decode(), attachments

    return _deliver(kind=ReportKind.SERVICE_IMPACT, period=month, group=Role.MANAGEMENT, build=build)


# --- major-incident review -------------------------------------------------------------------------------


def review_draft(*, incident: Incident, user=None) -> MajorIncidentReview:
    """Draft the review of a major incident (called when it is resolved, and when it is closed for one
    resolved before reviews were drafted then). The draft states the facts the record already holds (what
    happened, how long each stage took, which targets were met, the diagnosis and root cause) so the review
    meeting starts from them; the Incident Managers edit it and add action items. Idempotent: an existing
    review is returned untouched."""
    existing = MajorIncidentReview.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    data = selectors.major_incident_review(incident=incident)
    facts, durations, sla = data["incident"], data["durations"], data["sla"]
    service = facts["service_name"] or "no service"
    resolved = facts["resolution_code"] or "unresolved"
    summary = (
        f"{facts['severity'] or 'Unclassified'} major incident on {service}: {facts['title']}. "
        f"Detected {formatting.when(facts['detected_at'])}, logged {formatting.when(facts['created_at'])}, "
        f"resolved ({resolved}) after {formatting.duration(durations['detection_to_resolution'])} from detection."
    )
    if facts["resolution_notes"]:
        summary += f"\n\nResolution notes: {facts['resolution_notes']}"
    for field, label in (("diagnosis", "Diagnosis"), ("workaround", "Workaround")):
        if facts[field].strip():
            summary += f"\n\n{label}: {facts[field].strip()}"
    went_well, went_badly = [], []
    for clock, label in (("response", "First response"), ("resolution", "Resolution")):
        outcome = sla[clock]["met"]
        if outcome is True:
            went_well.append(f"{label} within its SLA target.")
        elif outcome is False:
            went_badly.append(f"{label} missed its SLA target (due {formatting.when(sla[clock]['due_at'])}).")
    if durations["detection_to_logging"] and durations["detection_to_logging"] >= 15 * 60:
        went_badly.append(
            f"{formatting.duration(durations['detection_to_logging'])} passed between detection and logging."
        )
    if facts["reopen_count"]:
        went_badly.append(f"Reopened {facts['reopen_count']} time(s): the first fix did not hold.")
    if data["escalations"]:
        went_badly.append(f"{len(data['escalations'])} escalation(s) fired; see the list below.")
    root_cause = incident.root_cause.strip()
    if incident.problem_id and incident.problem.root_cause:
        problem_cause = f"{incident.problem.number}: {incident.problem.root_cause}"
        root_cause = f"{root_cause}\n\n{problem_cause}" if root_cause else problem_cause

    review = MajorIncidentReview(
        incident=incident,
        summary=summary,
        root_cause=root_cause,
        what_went_well="\n".join(f"- {line}" for line in went_well),
        what_went_badly="\n".join(f"- {line}" for line in went_badly),
        drafted_by=_user_or_none(user),
    )
    review._history_user = _user_or_none(user)
    review._change_reason = f"drafted when the major incident was {incident.get_state_display().lower()}"
    review.save()
    return review


# What a final review must say: the Post-Incident Summary carries it to the stakeholders.
FINAL_REVIEW_FIELDS = {
    "summary": "Write the summary the stakeholders will read.",
    "root_cause": "State the root cause (or what is known of it).",
    "lessons_learned": "Write the lessons learned.",
}


def review_final_errors(*, review: MajorIncidentReview, values: dict | None = None) -> dict[str, list[str]]:
    """What keeps a review from being marked final, by field: the incident is resolved or closed (a review
    of an incident still open, or reopened, is not over), and the summary, root cause and lessons learned
    are written (`values` overrides the stored text, for a form being submitted)."""
    values = values or {}
    errors: dict[str, list[str]] = {}
    for name, message in FINAL_REVIEW_FIELDS.items():
        text = values.get(name, getattr(review, name))
        if not (text or "").strip():
            errors[name] = [message]
    incident = review.incident
    if incident.state not in (State.RESOLVED, State.CLOSED):
        errors["status"] = [
            f"{incident.number} is {incident.get_state_display().lower()}: a review becomes final once the "
            "incident is resolved."
        ]
    return errors


def review_finalize(*, review: MajorIncidentReview, user) -> MajorIncidentReview:
    """Mark the review final and send the Post-Incident Summary (seed 5.2 "review and lessons learned", 6.2
    "Major Incident Review, after each major incident, all stakeholders"), carrying its summary, root cause,
    lessons learned and action items, to the audiences of the message rules (by default the stakeholders of
    the affected services and the Operations Team). Incident Managers only. Once: a final review stays final,
    and finalizing it again sends nothing."""
    from escalation.services import send_post_incident_summary

    if not user.has_perm("reporting.change_majorincidentreview"):
        raise PermissionDenied("Only Incident Managers mark a major-incident review final.")
    with transaction.atomic():
        locked = MajorIncidentReview.objects.select_for_update().select_related("incident").get(pk=review.pk)
        if locked.status == ReviewStatus.FINAL:
            return locked
        errors = review_final_errors(review=locked)
        if errors:
            raise ValidationError(errors)
        locked.status = ReviewStatus.FINAL
        locked.finalized_at = timezone.now()
        locked.finalized_by = _user_or_none(user)
        locked._history_user = _user_or_none(user)
        locked._change_reason = "marked final; Post-Incident Summary sent"
        locked.save()
        send_post_incident_summary(incident=locked.incident, review=selectors.review_content(review=locked))
    return locked
