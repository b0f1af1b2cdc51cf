"""Demo data for `manage.py load_demo`: the lab's services, one user per role and months of incident history.

Every incident is driven through `incidents.services`, each step inside `time_machine.travel(moment)`, so the
timeline, the history rows (with their users) and the SLA clocks are exactly what the product records when
people do the work. Generation is seeded, so two fresh databases get the same story (relative to "now").

Idempotent: users, groups, services and API tokens are ensured on every run; the incident history is only
generated into a database that holds no incident yet, so a real installation never gets fake incidents.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from . import services
from .caller_links import Answer, answer_token
from .choices import (
    Category,
    HoldReason,
    Level,
    Role,
    Severity,
    Source,
    State,
    Visibility,
)
from .demo_catalogue import (
    CLOSE_NOTES_MANAGER,
    CLOSE_NOTES_REPORTER,
    DESK,
    DETAILS,
    FALSE_ALARMS,
    HARDWARE_TYPES,
    HOLD_HOURS,
    HOLD_NOTES,
    HOLD_REASONS,
    MANAGERS,
    OTHER,
    OTHER_CODES,
    OVERRIDE_DOWN,
    OVERRIDE_UP,
    POOLS,
    PROBLEMS,
    PUBLIC_UPDATES,
    REOPEN_REASONS,
    REPORTER_COMMENTS,
    RESEARCHERS,
    RESUME_NOTES,
    SCENARIOS,
    SERVICES,
    SPECIALISTS,
    USERS,
    VENDORS,
    WORK_NOTES,
    Scenario,
    placeholders,
)
from .exceptions import ValidationError
from .models import ChecklistItem, Incident, Problem, ProcessSettings, ResponsePlan, Service, SlaPolicy
from .rules import severity_for
from .signals import demo_data_loaded, demo_staff_ready, demo_time_passed

User = get_user_model()

DEFAULT_PASSWORD = "demo-itsm-2026"
DEFAULT_INCIDENTS = 300
DEFAULT_SEED = 2026
HISTORY_DAYS = 182  # about six months back from now
STAFF_SINCE_DAYS = 200  # accounts and services exist before the first demo incident

# --- the plan of one incident's life --------------------------------------------------------------------


@dataclass
class Op:
    """One service call: `at` is the offset from logging; `state` is the incident's state afterwards."""

    at: timedelta
    kind: str
    actor: str
    state: str
    args: dict = field(default_factory=dict)


@dataclass
class Story:
    scenario: Scenario | None
    target: str
    ops: list[Op]
    severity: str = ""
    parent: Story | None = None
    created_at: datetime | None = None
    incident: Incident | None = None


def _minutes(a: float, b: float, rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(a, b))


def _hours(a: float, b: float, rng: random.Random) -> timedelta:
    return timedelta(hours=rng.uniform(a, b))


def _state_quota(count: int, rng: random.Random) -> list[str]:
    """Target states: mostly closed history, a realistic open backlog, every state at least once."""
    shares = {
        State.LOGGED: 0.02,
        State.CLASSIFIED: 0.025,
        State.INVESTIGATING: 0.05,
        State.ON_HOLD: 0.03,
        State.RESOLVED: 0.04,
        State.CANCELLED: 0.05,
    }
    states: list[str] = []
    for state, share in shares.items():
        states += [state] * max(1 if count >= len(State) else 0, round(count * share))
    states = states[:count]
    states += [State.CLOSED] * (count - len(states))
    rng.shuffle(states)
    return states


class Planner:
    """Writes the plan (who does what, when) of each incident; `Loader` later replays it through services."""

    def __init__(
        self,
        *,
        rng: random.Random,
        sla: dict,
        plan_sizes: dict,
        auto_close_after: timedelta = timedelta(days=5),
    ):
        self.rng = rng
        self.sla = sla  # severity -> (response target, resolution target)
        self.plan_sizes = plan_sizes  # incident type -> number of runbook steps
        self.auto_close_after = auto_close_after  # ProcessSettings: when an unanswered incident closes

    def story(self, target: str) -> Story:
        if target == State.CANCELLED:
            return self._false_alarm()
        rng = self.rng
        scenario = rng.choices(SCENARIOS, weights=[s.weight for s in SCENARIOS])[0]
        values = placeholders(rng)
        service = scenario.service
        source = rng.choice(scenario.sources)
        title = scenario.title.format(**values)
        description = scenario.description.format(**values)

        if source == Source.MONITORING:
            logger, reporter, detected = "monitoring", None, -_minutes(1, 20, rng)
        elif source == Source.USER:
            logger, reporter = rng.choice(DESK), rng.choice(RESEARCHERS)
            detected = -_hours(0.2, 14, rng) if rng.random() < 0.4 else timedelta(0)
        else:
            logger, reporter = self._investigator(scenario), None
            detected = -_minutes(0, 30, rng) if rng.random() < 0.5 else timedelta(0)
        ops = [
            Op(
                timedelta(0),
                "create",
                logger,
                State.LOGGED,
                {
                    "title": title,
                    "description": description,
                    "service": service,
                    "incident_type": scenario.incident_type,
                    "source": source,
                    "detected": detected,
                    "caller": reporter,
                },
            )
        ]
        story = Story(scenario, target, ops)
        if target == State.LOGGED:
            return story

        # classification: matrix severity, sometimes overridden by an Incident Manager
        urgency, impact = rng.choice(scenario.levels)
        if rng.random() < 0.2:
            urgency, impact = rng.choice(tuple(Level)), impact  # reporters judge urgency differently
        matrix = severity_for(urgency=urgency, impact=impact)
        severity, reason, classifier = matrix, "", rng.choice(DESK)
        if rng.random() < 0.06:
            classifier = rng.choice(MANAGERS)
            order = list(Severity)
            i = order.index(matrix)
            up = i > 0 and (i == len(order) - 1 or rng.random() < 0.6)
            severity = order[i - 1] if up else order[i + 1]
            reason = rng.choice(OVERRIDE_UP if up else OVERRIDE_DOWN)
        story.severity = severity
        response_target, resolution_target = self.sla[severity]

        late_response = rng.random() < 0.15
        responded = response_target * (rng.uniform(1.1, 2.5) if late_response else rng.uniform(0.1, 0.9))
        classified = min(_minutes(1, 20, rng), responded * 0.5)
        ops.append(
            Op(
                classified,
                "classify",
                classifier,
                State.CLASSIFIED,
                {
                    "category": scenario.category,
                    "urgency": urgency,
                    "impact": impact,
                    "severity": severity if severity != matrix else None,
                    "severity_reason": reason,
                },
            )
        )
        if target == State.CLASSIFIED:
            return story

        # investigation
        assignee = self._investigator(scenario)
        caller = assignee if rng.random() < 0.6 else rng.choice(DESK)
        responded = max(responded, classified + _minutes(1, 5, rng))
        ops.append(Op(responded, "investigate", caller, State.INVESTIGATING, {"assignee": assignee}))

        late_fix = rng.random() < 0.12
        work_end = resolution_target * (rng.uniform(1.05, 2.0) if late_fix else rng.uniform(0.15, 0.85))
        work_end = max(work_end, responded + _minutes(20, 90, rng))
        work = self._work(story, scenario, assignee, reporter, responded, work_end)

        if target == State.ON_HOLD or rng.random() < 0.22:
            work, assignee, held = self._hold(scenario, work, assignee, reporter, responded, work_end)
            work_end += held
        ops += sorted(work, key=lambda op: op.at)
        for op in ops:
            op.state = op.state or State.INVESTIGATING

        # resolution, perhaps a reopen, closure
        code = scenario.code if rng.random() < 0.85 else rng.choice(OTHER_CODES)
        resolution = scenario.resolution.format(**values)
        # The investigation on record (S1 and S2 resolve only with it): what was seen, and what caused it.
        investigation = {"diagnosis": description, "root_cause": resolution}
        resolve = {"code": code, "notes": resolution, **investigation}
        ops.append(Op(work_end, "resolve", assignee, State.RESOLVED, resolve))
        if rng.random() < 0.07:
            reopened = work_end + _hours(2, 40, rng)
            ops.append(
                Op(
                    reopened,
                    "reopen",
                    reporter or rng.choice(DESK),
                    State.INVESTIGATING,
                    {"reason": rng.choice(REOPEN_REASONS)},
                )
            )
            work_end = reopened + _hours(1, 20, rng)
            ops.append(
                Op(
                    work_end,
                    "resolve",
                    assignee,
                    State.RESOLVED,
                    {
                        "code": code,
                        "notes": resolution + " Reapplied after the recurrence; stable since.",
                        **investigation,
                    },
                )
            )
        ops.append(self._closure(reporter, work_end))
        story.ops = self._cut(ops, target)
        return story

    def _closure(self, caller, resolved: timedelta) -> Op:
        """How the story closes: the caller answers the Fix confirmation request's link, or confirms signed
        in; or nobody answers and the incident closes itself when the answer period ends; or an Incident
        Manager closes it with closure notes."""
        rng = self.rng
        answered = resolved + _hours(1, 96, rng)
        if caller and rng.random() < 0.35:
            if rng.random() < 0.6:
                return Op(answered, "confirm", caller, State.CLOSED)
            return Op(answered, "close", caller, State.CLOSED, {"note": rng.choice(CLOSE_NOTES_REPORTER)})
        if rng.random() < 0.15:
            return Op(resolved + self.auto_close_after + _minutes(1, 15, rng), "auto_close", "", State.CLOSED)
        closure_notes = rng.choice(CLOSE_NOTES_MANAGER)
        return Op(answered, "close", rng.choice(MANAGERS), State.CLOSED, {"closure_notes": closure_notes})

    def ensure_every_closure(self, stories: list[Story]) -> None:
        """At least one closed story of each way of closing the demo shows: the caller confirming through
        the link, and the auto-close. Turns an Incident Manager's closure into the missing one."""
        closed = [s for s in stories if s.target == State.CLOSED and s.ops[-1].kind == "close"]
        kinds = {s.ops[-1].kind for s in stories if s.target == State.CLOSED}
        if "confirm" not in kinds:
            story = next((s for s in closed if s.ops[0].args.get("caller")), None)
            if story is not None:
                story.ops[-1] = Op(story.ops[-1].at, "confirm", story.ops[0].args["caller"], State.CLOSED)
                closed.remove(story)
        if "auto_close" not in kinds and closed:
            story = closed[0]
            resolved = max(op.at for op in story.ops if op.kind == "resolve")
            story.ops[-1] = Op(
                resolved + self.auto_close_after + timedelta(minutes=7), "auto_close", "", State.CLOSED
            )

    def _hold(self, scenario, work, assignee, reporter, responded, work_end):
        """Put the work on hold part-way; everything planned after the hold moves later by its length.
        Returns the new work list, who now holds the incident and the time spent on hold."""
        rng = self.rng
        start = responded + (work_end - responded) * rng.uniform(0.2, 0.6)
        reasons = HOLD_REASONS.get(scenario.incident_type, HOLD_REASONS[OTHER])
        reason = rng.choice(reasons)
        if reason == HoldReason.AWAITING_USER and not reporter:  # nobody to ask: monitoring found it
            reason = HoldReason.AWAITING_CHANGE
        length = _hours(*HOLD_HOURS[reason], rng)
        texts = (
            "rma"
            if reason == HoldReason.AWAITING_VENDOR and scenario.incident_type in HARDWARE_TYPES
            else reason
        )
        change = f"CHG-{rng.randint(20, 140):04d}"
        case = f"#{rng.randint(100000, 999999)}"
        lead = (start - responded) * rng.uniform(0.1, 0.5)  # a hand-over shortly before the hold
        before = [op for op in work if op.at < start]
        after = [op for op in work if op.at >= start]
        holder = assignee
        if reason == HoldReason.AWAITING_VENDOR and rng.random() < 0.5:  # the vendor takes it over
            holder = VENDORS.get(scenario.service, "vendor")
            before.append(Op(start - lead, "update", rng.choice(MANAGERS), "", {"assignee": holder}))
            for op in after:
                if op.actor == assignee:
                    op.actor = holder
        elif reason == HoldReason.AWAITING_CHANGE:
            before.append(Op(start - lead, "update", assignee, "", {"change_ref": change}))
        note = rng.choice(HOLD_NOTES[texts]).format(case=case, change=change)
        resume_note = RESUME_NOTES[texts].format(change=change)
        for op in after:
            op.at += length
        hold = Op(start, "hold", holder, State.ON_HOLD, {"reason": reason, "note": note})
        resume = Op(start + length, "resume", holder, State.INVESTIGATING, {"note": resume_note})
        return [*before, hold, resume, *after], holder, length

    def _work(self, story, scenario, assignee, reporter, start, end) -> list[Op]:
        """Work notes, status updates, runbook ticks and problem/change links between response and fix."""
        rng = self.rng
        service_name = next(s.name for s in SERVICES if s.slug == scenario.service)
        notes = WORK_NOTES.get(scenario.incident_type, WORK_NOTES[OTHER])

        def when() -> timedelta:
            return start + (end - start) * rng.uniform(0.05, 0.95)

        first, *more = rng.sample(notes, 1 + min(len(notes) - 1, rng.choice((0, 0, 1, 1, 2))))
        work = [Op(start + _minutes(1, 15, rng), "comment", assignee, "", {"body": first})]
        work += [Op(when(), "comment", assignee, "", {"body": body}) for body in more]
        for op in work:
            op.args["body"] = op.args["body"].format(detail=rng.choice(DETAILS))
        if story.severity in (Severity.S1, Severity.S2) or rng.random() < 0.25:
            body = rng.choice(PUBLIC_UPDATES).format(service=service_name)
            author = rng.choice((*DESK, assignee))
            work.append(Op(when(), "comment", author, "", {"body": body, "visibility": Visibility.PUBLIC}))
        if reporter and rng.random() < 0.3:
            body = rng.choice(REPORTER_COMMENTS)
            work.append(Op(when(), "comment", reporter, "", {"body": body, "visibility": Visibility.PUBLIC}))
        steps = self.plan_sizes.get(scenario.incident_type, 0)
        ticks = rng.randint(math.ceil(steps / 2), steps) if steps else 0
        times = sorted(when() for _ in range(ticks))
        work += [Op(t, "tick", assignee, "") for t in times]
        if rng.random() < 0.05:  # impact grew (or shrank) after a closer look
            urgency, impact = rng.choice(tuple(Level)), rng.choice(tuple(Level))
            work.append(
                Op(
                    when(),
                    "classify",
                    rng.choice((*MANAGERS, *DESK)),
                    "",
                    {
                        "category": scenario.category,
                        "urgency": urgency,
                        "impact": impact,
                        "note": "Reclassified after assessing the impact.",
                    },
                )
            )
        if scenario.problem:
            problem = next(p for p in PROBLEMS if p.key == scenario.problem)
            work.append(
                Op(when(), "update", assignee, "", {"problem": problem.key, "change_ref": problem.change_ref})
            )
        elif rng.random() < 0.12:
            change = f"CHG-{rng.randint(20, 140):04d}"
            work.append(Op(when(), "update", assignee, "", {"change_ref": change}))
        return work

    def _cut(self, ops: list[Op], target: str) -> list[Op]:
        """Keep the plan up to a point where the incident is in `target` (the rest has not happened yet)."""
        if target == State.CLOSED:
            return ops
        if target == State.RESOLVED:
            last = max(i for i, op in enumerate(ops) if op.kind == "resolve")
            return ops[: last + 1]
        if target == State.ON_HOLD:
            first = next(i for i, op in enumerate(ops) if op.kind == "hold")
            return ops[: first + 1]
        candidates = [
            i
            for i, op in enumerate(ops)
            if op.state == target and op.kind not in ("update", "comment") and i < len(ops) - 1
        ]
        return ops[: self.rng.choice(candidates) + 1]

    def _investigator(self, scenario: Scenario) -> str:
        rng = self.rng
        if scenario.category == Category.SECURITY:
            return rng.choice(POOLS[Role.SECURITY_TEAM])
        if scenario.service in SPECIALISTS and rng.random() < 0.7:
            return rng.choice(SPECIALISTS[scenario.service])
        owner = next(s.owner for s in SERVICES if s.slug == scenario.service)
        return rng.choice(POOLS.get(owner, POOLS[Role.SYSADMINS]))

    def _false_alarm(self) -> Story:
        rng = self.rng
        scenario = rng.choice(SCENARIOS)
        values = placeholders(rng)
        source = rng.choice(scenario.sources)
        logger = "monitoring" if source == Source.MONITORING else rng.choice(DESK)
        ops = [
            Op(
                timedelta(0),
                "create",
                logger,
                State.LOGGED,
                {
                    "title": scenario.title.format(**values),
                    "description": scenario.description.format(**values),
                    "service": scenario.service,
                    "incident_type": scenario.incident_type,
                    "source": source,
                    "detected": timedelta(0),
                    "caller": rng.choice(RESEARCHERS) if source == Source.USER else None,
                },
            ),
        ]
        if rng.random() < 0.4:  # some are only recognised as false alarms after classification
            urgency, impact = rng.choice(scenario.levels)
            inputs = {"category": scenario.category, "urgency": urgency, "impact": impact}
            ops.append(Op(_minutes(2, 15, rng), "classify", rng.choice(DESK), State.CLASSIFIED, inputs))
        cancel = {"reason": rng.choice(FALSE_ALARMS)}
        ops.append(
            Op(ops[-1].at + _minutes(5, 90, rng), "cancel", rng.choice(MANAGERS), State.CANCELLED, cancel)
        )
        return Story(scenario, State.CANCELLED, ops)

    def duplicate_of(self, parent: Story) -> Story:
        """A second report of an incident already being worked on: linked to it and cancelled."""
        rng = self.rng
        scenario = parent.scenario
        service_name = next(s.name for s in SERVICES if s.slug == scenario.service)
        desk = rng.choice(DESK)
        title = rng.choice(("{} not working for me", "Is {} down?", "Problems with {} since this morning"))
        created = Op(
            timedelta(0),
            "create",
            desk,
            State.LOGGED,
            {
                "title": title.format(service_name),
                "description": "Reported by phone.",
                "service": scenario.service,
                "incident_type": scenario.incident_type,
                "source": Source.USER,
                "detected": -_minutes(5, 60, rng),
                "caller": rng.choice(RESEARCHERS),
            },
        )
        linked = Op(_minutes(3, 15, rng), "update", desk, State.LOGGED, {"parent": True})
        cancelled = Op(linked.at + _minutes(5, 40, rng), "cancel", rng.choice(MANAGERS), State.CANCELLED)
        cancelled.args = {"reason": "duplicate"}  # the loader names the parent
        return Story(scenario, State.CANCELLED, [created, linked, cancelled], parent=parent)


def place(stories: list[Story], *, now: datetime, rng: random.Random) -> None:
    """Give each unplaced story its logging time: old incidents are history, open ones are recent.

    A duplicate report comes in shortly after its parent; when the parent is too recent for that, the
    duplicate stays unplaced (None) and the caller replaces it."""
    window = timedelta(days=HISTORY_DAYS)
    for story in stories:
        if story.created_at is not None or story.parent is not None:
            continue
        span = story.ops[-1].at
        ago = {  # how long ago the last step happened
            State.LOGGED: _minutes(2, 80, rng),
            State.CLASSIFIED: _minutes(5, 300, rng),
            State.INVESTIGATING: _minutes(5, 1800, rng),
            State.ON_HOLD: _hours(3, 200, rng),
            State.RESOLVED: _hours(1, 72, rng),
        }.get(story.target)
        if ago is None:  # closed or cancelled: anywhere in the last six months
            room = max(window - span - timedelta(hours=1), timedelta(0))
            ago = timedelta(hours=1) + room * rng.random()
        story.created_at = now - span - ago
    for story in stories:
        if story.created_at is None and story.parent is not None:
            created_at = story.parent.created_at + _minutes(10, 120, rng)
            if created_at + story.ops[-1].at < now:
                story.created_at = created_at


def _problem_link_times(stories: list[Story], problems: dict[str, datetime], *, now, rng) -> None:
    """A problem is linked when work happens after it was recorded, else retro-linked a little later."""
    for story in stories:
        for op in list(story.ops):
            key = op.args.get("problem") if op.kind == "update" else None
            if not key:
                continue
            if story.created_at + op.at < problems[key]:
                op.at = problems[key] - story.created_at + _hours(2, 72, rng)
                op.actor = rng.choice(MANAGERS)
            if story.created_at + op.at >= now:
                story.ops.remove(op)
        story.ops.sort(key=lambda op: op.at)


# --- writing it --------------------------------------------------------------------------------------


@dataclass
class Login:
    username: str
    role: str
    password: str
    token: str
    created: bool


DEMO_ALERT_SOURCE = "prometheus"


@dataclass
class Result:
    logins: list[Login]
    services_created: int
    incidents_created: int
    incidents_existing: int
    problems_created: int
    alert_token: str = ""  # the demo Alertmanager source's token, when this run created it


def ensure_alert_source(*, user) -> str:
    """An Alertmanager source for the lab's Prometheus; returns its token when created (it is stored only
    as a hash, so later runs cannot show it again)."""
    from .alerts import alert_source_issue_token
    from .models import AlertSource

    if AlertSource.objects.filter(slug=DEMO_ALERT_SOURCE).exists():
        return ""
    source = AlertSource(
        name="Prometheus (lab)",
        slug=DEMO_ALERT_SOURCE,
        default_service=Service.objects.filter(slug="pve-cluster").first(),
        auto_resolve=True,
    )
    source._history_user = user
    source.save()
    return alert_source_issue_token(source=source, user=user)


def ensure_users(*, password: str, since: datetime) -> tuple[dict[str, User], list[Login]]:
    """One account per role (plus colleagues and reporters). The password is set only on creation, so a
    password someone changed stays changed; role membership is ensured on every run. The API token printed
    is the user's current one, or a new one once it has expired."""
    from incidents.tokens import api_token_issue

    groups = {group.name: group for group in Group.objects.filter(name__in=Role.ALL)}
    missing = [role for role in Role.ALL if role not in groups]
    if missing:
        raise ValidationError(
            {"groups": [f"Role groups missing ({', '.join(missing)}); run `manage.py migrate` first."]}
        )
    existing = {u.username: u for u in User.objects.filter(username__in=[d.username for d in USERS])}
    hashed = make_password(password) if len(existing) < len(USERS) else ""  # hash once: ~0.5 s each
    users, logins = {}, []
    for demo in USERS:
        user = existing.get(demo.username)
        created = user is None
        if created:
            with time_machine.travel(since, tick=False):  # date_joined before the history starts
                user = User(
                    username=demo.username,
                    first_name=demo.first_name,
                    last_name=demo.last_name,
                    email=f"{demo.username}@lab.example",
                    is_staff=demo.is_staff or demo.is_superuser,
                    is_superuser=demo.is_superuser,
                    password=hashed,
                )
                user.save()
        if demo.role:
            user.groups.add(groups[demo.role])
        token = api_token_issue(user=user)
        users[demo.username] = user
        logins.append(Login(demo.username, demo.role_label, password, token.key, created))
    return users, logins


def ensure_services(*, user, since: datetime) -> tuple[dict[str, Service], int]:
    """The lab's service catalogue; existing entries keep an administrator's edits, except a date of going
    into operation after `since`: no incident of the history could be detected on such a service, so it
    takes the catalogue's date."""
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.ALL)}
    existing = {s.slug: s for s in Service.objects.filter(slug__in=[d.slug for d in SERVICES])}
    # an administrator may have entered a service under its own slug: match it by name as well
    by_name = {s.name: s for s in Service.objects.filter(name__in=[d.name for d in SERVICES])}
    created = 0
    for demo in SERVICES:
        if demo.slug not in existing and demo.name in by_name:
            existing[demo.slug] = by_name[demo.name]
        if demo.slug in existing:
            service = existing[demo.slug]
            reasons = []
            if not service.stakeholder_emails:  # the catalogue migration leaves them to each lab
                service.stakeholder_emails = "\n".join(demo.demo_stakeholders)
                reasons.append("demo stakeholders")
            if service.in_service_since > timezone.localtime(since).date():
                service.in_service_since = demo.in_service_since
                reasons.append("in operation before the demo history")
            if reasons:
                service._history_user, service._change_reason = user, "; ".join(reasons)
                service.save()
            continue
        service = Service(
            slug=demo.slug,
            name=demo.name,
            description=demo.description,
            owner_group=groups.get(demo.owner),
            criticality=demo.criticality,
            stakeholder_emails="\n".join(demo.demo_stakeholders),
            in_service_since=demo.in_service_since,
        )
        service._history_user = user
        service._change_reason = "demo data"
        with time_machine.travel(since, tick=False):
            service.save()
        existing[demo.slug] = service
        created += 1
    return existing, created


def monitoring_account(*, since: datetime):
    """The demo alert source's system account: only an alert source may log monitoring incidents
    (`incidents.services`), so the history's monitoring stories are logged by it, as the intake would."""
    from .alerts import alert_source_account
    from .models import AlertSource

    with time_machine.travel(since, tick=False):  # joined before the history starts, like the staff
        return alert_source_account(source=AlertSource.objects.get(slug=DEMO_ALERT_SOURCE))


class Loader:
    """Replays the stories through `incidents.services`, each step at its moment in the past."""

    def __init__(self, *, users: dict, services_by_slug: dict, problems: dict, now: datetime):
        self.users = users
        self.services = services_by_slug
        self.problems = problems
        self.now = now

    def run(self, story: Story) -> Incident:
        incident = None
        with time_machine.travel(story.created_at, tick=False) as traveller:
            for op in story.ops:
                moment = story.created_at + op.at
                if moment >= self.now:  # never write the future
                    raise AssertionError(f"demo step {op.kind} planned in the future ({moment:%Y-%m-%d})")
                traveller.move_to(moment)
                if incident is not None:
                    demo_time_passed.send(sender=Incident, incident=incident, now=moment)
                actor = self.users[op.actor] if op.actor else None  # none: the process itself (auto-close)
                incident = getattr(self, f"_{op.kind}")(incident, actor, story, **op.args)
        story.incident = incident
        return incident

    def _create(self, incident, user, story, *, detected, caller, service, **fields):
        """The Service Desk logs a phoned-in report on the caller's behalf (the desk is the reporter)."""
        return services.incident_create(
            user=user,
            detected_at=story.created_at + detected if detected else None,
            caller=self.users[caller] if caller else None,
            service=self.services[service],
            **fields,
        )

    def _classify(self, incident, user, story, **inputs):
        return services.incident_classify(incident=incident, user=user, **inputs)

    def _investigate(self, incident, user, story, *, assignee):
        return services.incident_investigate(incident=incident, user=user, assignee=self.users[assignee])

    def _comment(self, incident, user, story, *, body, visibility=Visibility.INTERNAL):
        services.comment_add(incident=incident, user=user, body=body, visibility=visibility)
        return incident

    def _tick(self, incident, user, story):
        item = (
            ChecklistItem.objects.filter(incident=incident, done_at__isnull=True, skipped_at__isnull=True)
            .order_by("order")
            .first()
        )
        if item is not None:
            services.checklist_item_done(item=item, user=user)
        return incident

    def _update(self, incident, user, story, **data):
        if "assignee" in data:
            data["assignee"] = self.users[data["assignee"]]
        if "problem" in data:
            data["problem"] = self.problems[data["problem"]]
        if "parent" in data:
            data["parent"] = story.parent.incident
        if services.is_editable(incident):
            return services.incident_update(incident=incident, user=user, data=data)
        # Retro-linking a problem to a resolved or closed incident corrects its read-only record.
        linked = data["problem"].number if data.get("problem") else "a change"
        reason = f"Linked to {linked}, found after the fix"
        return services.incident_correct(incident=incident, user=user, data=data, reason=reason)

    def _hold(self, incident, user, story, *, reason, note):
        return services.incident_hold(incident=incident, user=user, reason=reason, note=note)

    def _resume(self, incident, user, story, *, note):
        return services.incident_resume(incident=incident, user=user, note=note)

    def _resolve(self, incident, user, story, **inputs):
        # Resolving waits for the required runbook steps: whoever resolves has done them by then.
        for item in incident.checklist.filter(required=True, done_at=None, skipped_at=None):
            services.checklist_item_done(item=item, user=user)
        return services.incident_resolve(incident=incident, user=user, **inputs)

    def _reopen(self, incident, user, story, *, reason):
        return services.incident_reopen(incident=incident, user=user, reason=reason)

    def _close(self, incident, user, story, *, note="", closure_notes=""):
        return services.incident_close(incident=incident, user=user, note=note, closure_notes=closure_notes)

    def _confirm(self, incident, user, story):
        """The caller presses *Confirm it's fixed* on the page the Fix confirmation request links to."""
        return services.incident_caller_confirm(token=answer_token(incident, Answer.FIXED))

    def _auto_close(self, incident, user, story):
        return services.incident_auto_close(incident=incident)

    def _cancel(self, incident, user, story, *, reason):
        if story.parent is not None:
            reason = f"Duplicate of {story.parent.incident.number}."
        return services.incident_cancel(incident=incident, user=user, reason=reason)


def plan_history(*, count: int, seed: int, now: datetime) -> list[Story]:
    """The seeded plan of `count` incidents, ordered by logging time (so numbers grow with time)."""
    rng = random.Random(seed)
    sla = {p.severity: (p.response_target, p.resolution_target) for p in SlaPolicy.objects.all()}
    missing = [s for s in Severity.values if s not in sla]
    if missing:
        raise ValidationError({"sla": [f"No SLA policy for {', '.join(missing)}."]})
    plan_sizes = {
        plan.incident_type: len(plan.steps.all()) for plan in ResponsePlan.objects.prefetch_related("steps")
    }
    planner = Planner(
        rng=rng, sla=sla, plan_sizes=plan_sizes, auto_close_after=ProcessSettings.current().auto_close_after
    )
    targets = _state_quota(count, rng)
    duplicates = targets.count(State.CANCELLED) // 3
    stories = [planner.story(t) for t in targets[: count - duplicates]]
    planner.ensure_every_closure(stories)
    place(stories, now=now, rng=rng)
    parents = [s for s in stories if s.target == State.CLOSED and s.severity in (Severity.S1, Severity.S2)]
    parents = parents or [s for s in stories if s.target == State.CLOSED]
    for _ in range(duplicates):
        story = planner.duplicate_of(rng.choice(parents)) if parents else planner.story(State.CANCELLED)
        stories.append(story)
    place(stories, now=now, rng=rng)
    # a duplicate without room after its parent becomes an ordinary false alarm
    stories = [s if s.created_at else planner.story(State.CANCELLED) for s in stories]
    place(stories, now=now, rng=rng)
    problems = {p.key: now - timedelta(days=p.days_ago) for p in PROBLEMS}
    _problem_link_times(stories, problems, now=now, rng=rng)
    stories.sort(key=lambda s: s.created_at)
    return stories


def create_problems(*, users: dict, now: datetime) -> tuple[dict[str, Problem], int]:
    problems, created = {}, 0
    for demo in sorted(PROBLEMS, key=lambda p: -p.days_ago):
        problem = Problem.objects.filter(title=demo.title).first()
        if problem is None:
            with time_machine.travel(now - timedelta(days=demo.days_ago), tick=False):
                problem = services.problem_create(
                    user=users[demo.author],
                    title=demo.title,
                    description=demo.description,
                    workaround=demo.workaround,
                )
            created += 1
        problems[demo.key] = problem
    return problems, created


def load_demo(
    *,
    incidents: int = DEFAULT_INCIDENTS,
    seed: int = DEFAULT_SEED,
    password: str = DEFAULT_PASSWORD,
    progress: Callable[[Iterable[Story], int], Iterable[Story]] | None = None,
) -> Result:
    """Ensure the demo accounts and services, then generate the incident history, but only into a
    database without incidents: any incident at all (demo or real) means it is in use."""
    now = timezone.now()
    since = now - timedelta(days=STAFF_SINCE_DAYS)
    with transaction.atomic():
        users, logins = ensure_users(password=password, since=since)
        catalogue, services_created = ensure_services(user=users["admin"], since=since)
        demo_staff_ready.send(sender=Incident, users=users)
        alert_token = ensure_alert_source(user=users["admin"])

    existing = Incident.objects.count()
    created = problems_created = 0
    if incidents and not existing:
        stories = plan_history(count=incidents, seed=seed, now=now)
        # One transaction: fast on SQLite, and an interrupted run leaves no half history behind.
        with transaction.atomic():
            problems, problems_created = create_problems(users=users, now=now)
            actors = {**users, "monitoring": monitoring_account(since=since)}
            loader = Loader(users=actors, services_by_slug=catalogue, problems=problems, now=now)
            # `progress` iterates outside time travel, so a progress bar's clock stays real
            for story in progress(stories, len(stories)) if progress else stories:
                loader.run(story)
                created += 1
            demo_data_loaded.send(sender=Incident, users=users, history_before=now)
    else:
        with transaction.atomic():
            demo_data_loaded.send(sender=Incident, users=users, history_before=None)
    return Result(logins, services_created, created, existing, problems_created, alert_token)
