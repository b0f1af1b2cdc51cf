"""Pages outside the admin and the API: the caller's answer to "is it fixed?", reached from the links of the
Fix confirmation request (`incidents.caller_links`) without signing in.

GET only shows the question and a button; the POST the button sends (CSRF protected) acts, so a mail
scanner or link preview that opens the link changes nothing. A link that is not ours, expired or already
used gets a page saying so.

And the download of an incident's attachment, for those who may see it.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from . import selectors, services
from .caller_links import Answer, LinkRefused, answer_deadline, read_token
from .exceptions import Conflict, ValidationError
from .forms import add_service_errors

TEMPLATE = "incidents/caller_answer.html"
# Not ours: nothing is there. Expired or used: it was there and is gone.
REFUSED_STATUS = {"invalid": 404, "expired": 410, "used": 410}


class NotFixedForm(forms.Form):
    reason = forms.CharField(
        label="In your words",
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text="Your words go to the support team with the incident, which is reopened.",
    )


@method_decorator(never_cache, name="dispatch")
class CallerAnswerView(View):
    """One answer (`answer`) to the resolution a link names."""

    answer: str = Answer.FIXED

    def get(self, request, token: str):
        try:
            incident = read_token(token, self.answer)
        except LinkRefused as exc:
            return self._refused(request, exc)
        return self._question(request, incident, form=self._form())

    def post(self, request, token: str):
        try:
            incident = read_token(token, self.answer)
            form = self._form(request.POST)
            if form is not None and not form.is_valid():
                return self._question(request, incident, form=form, status=400)
            incident = self._act(token, form)
        except LinkRefused as exc:
            return self._refused(request, exc)
        except ValidationError as exc:
            form = form or NotFixedForm()
            add_service_errors(form, exc)
            return self._question(request, incident, form=form, status=400)
        except Conflict as exc:  # the incident moved on between reading the link and acting on it
            return self._refused(request, LinkRefused("used", str(exc), incident=incident))
        return render(request, TEMPLATE, {"step": "done", "answer": self.answer, "incident": incident})

    def _form(self, data=None):
        return NotFixedForm(data) if self.answer == Answer.NOT_FIXED else None

    def _act(self, token: str, form):
        if self.answer == Answer.FIXED:
            return services.incident_caller_confirm(token=token)
        return services.incident_caller_not_fixed(token=token, reason=form.cleaned_data["reason"])

    def _question(self, request, incident, *, form, status: int = 200):
        context = {
            "step": "question",
            "answer": self.answer,
            "incident": incident,
            "form": form,
            "deadline": answer_deadline(incident),
            "button": Answer(self.answer).label,
        }
        return render(request, TEMPLATE, context, status=status)

    def _refused(self, request, exc: LinkRefused):
        context = {"step": "refused", "reason": exc.reason, "message": str(exc)}
        return render(request, TEMPLATE, context, status=REFUSED_STATUS.get(exc.reason, 410))


class CallerConfirmView(CallerAnswerView):
    answer = Answer.FIXED


class CallerNotFixedView(CallerAnswerView):
    answer = Answer.NOT_FIXED


@login_required
@never_cache
def attachment_download(request, pk: int, name: str):
    """A file sent with an incident, to someone who may see it; a 404 to anyone else. Always a download, its
    type never sniffed: a file a reporter sends must not run as a page of this site."""
    attachment = selectors.attachment_for(user=request.user, pk=pk)
    if attachment is None or attachment.name != name:
        raise Http404("No such file.")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is no longer stored.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
