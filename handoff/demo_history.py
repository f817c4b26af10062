"""Nine months of realistic work in the demo district: a first look that is not empty
(`flask --app server seed-demo --with-history`, and `scripts/serve` on its first start), and the
history the 减负看板 is tested on (`tests/history.py`).

Everything is done through the service layer, the functions the API and the pages call
(`handoff.requests.create_request`, `workflows.service.complete_task`, `cancel_instance`,
`workflows.starting.start_process`, `service.fire_due_timers`), as the demo accounts, so engine
state, inbox rows, notifications, audit events, agreements and the money ledger are all what
real use would have left.

It is a small discrete-event simulation. Every request gets a *fate* per community (what the
street office, the district reviewer, the committee, finance and the department will do, and
after how long); the events run in time order on a clock that starts at the beginning of the
timeline and runs (never frozen) while it is moved forward to each event, minutes to weeks at a
time (`workflows.clock.travel` and `advance`); the timer worker runs before every event, as a
worker polling all the time would, so overdue tasks are escalated when they fall due. The same
seed and the same end give the same history.

The record (`Handoff`, `TaskRec`, `Emergency`, `Termination`) is written from what the
simulation did, following its own model of `bpmn/handoff.bpmn`, `bpmn/emergency.bpmn` and
`bpmn/handoff_termination.bpmn`; after each step the state, the outcome and the open tasks of the
instance are compared with the model's (`HistoryDrift` when they differ), so the record is what
the database holds. The tests count the dashboard's figures from it. Money is integer fen.

The history is told in `STORIES`, chapters run in turn: each schedules its requests and their
fates on the simulation before the clock starts. A process with a story of its own gets a
chapter (a function of a `Planner`) added there.

The clock is process-wide: run this in a process of its own (the CLI command, a test), never in
a process that serves requests meanwhile.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import clock, service, starting
from workflows.db import Database
from workflows.models import OrgUnit, ProcessInstance, Task, User
from workflows.workdays import SHANGHAI

from . import requests as handoff
from .demo import load
from .models import HandoffInstance, Request

SEED = 20260302
# The timeline: 39 weeks up to its end (from a Monday to a Monday when it ends on a Monday).
# The chapters place their events on days counted from its start (`Timeline.day`).
STORY_DAYS = 273
LONG_BY = 135  # the last day a request may be filed and still be funded late or reworked

ROLE = {
    "street_review": "street_office",
    "revise": "department",
    "district_review": "district_reviewer",
    "sign_department": "department",
    "sign_committee": "committee",
    "sign_street": "street_office",
    "funding": "finance",
    "work": "committee",
    "acceptance": "department",
    "evaluation": "street_office",
    "emergency_work": "committee",
    "file_request": "department",
    "confirm_filing": "street_office",
    "street_confirm": "street_office",
    "committee_confirm": "committee",
    "refund_received": "finance",
}
SIGNS = ("sign_department", "sign_street", "sign_committee")
# The tasks with a due date (a boundary timer): 15, 10 and 5 working days. Over 2026 those spans
# are 18-29, 11-22 and 5-16 calendar days, so a task held at most PROMPT days is never overdue
# and one held LATE days or more always is; the fates never hold a timed task in between (the
# tests count "overdue" by these margins, independently of the calendar).
PROMPT = {"street_review": 14, "funding": 8, "file_request": 4}
LATE = {"street_review": 32, "funding": 25, "file_request": 18}
# the signatures (10 working days for the committee, 5 for the others) and the acceptance (10)
PROMPT |= {"sign_committee": 8, "sign_department": 4, "sign_street": 4, "acceptance": 8}
LATE |= {"sign_committee": 25, "sign_department": 18, "sign_street": 18, "acceptance": 25}
DEPARTMENT_USERS = {
    "TB-D-MZ": "dept.mz",
    "TB-D-RS": "dept.rs",
    "TB-D-WJ": "dept.wj",
    "TB-D-SF": "dept.sf",
    "TB-D-ZJ": "dept.zj",
    "TB-D-TJ": "dept.tj",
    "TB-D-TY": "dept.ty",
    "TB-D-SW": "dept.sw",
    "TB-D-SJ": "dept.sj",
}
ASSISTED = [  # (department, item, the request's title)
    ("TB-D-MZ", "A01", "最低生活保障对象入户调查"),
    ("TB-D-MZ", "A02", "特困人员供养情况核查"),
    ("TB-D-TY", "A03", "优抚对象走访慰问"),
    ("TB-D-SF", "A04", "社区矫正对象日常走访"),
    ("TB-D-WJ", "A05", "重点人群健康随访"),
    ("TB-D-RS", "A06", "就业困难人员登记"),
    ("TB-D-ZJ", "A07", "住房保障对象资格初审"),
    ("TB-D-MZ", "A08", "高龄津贴申领初审"),
    ("TB-D-TJ", "A12", "人口普查入户登记协助"),
    ("TB-D-TJ", "A13", "经济普查清查摸底协助"),
    ("TB-D-RS", "A14", "城乡居民医保参保动员"),
]


class HistoryDrift(RuntimeError):
    """The engine did something else than the simulation's model of the process expected."""


def _expect(condition: bool, *what: object) -> None:
    if not condition:
        raise HistoryDrift(" ".join(str(w) for w in what))


def demo_units() -> list[dict[str, Any]]:
    return load("org_units.json")["org_units"]


def units_of_kind(kind: str) -> list[str]:
    return sorted(u["code"] for u in demo_units() if u["kind"] == kind)


def street_of(community: str) -> str:
    return community.rsplit("-", 1)[0]  # TB-RG-01 -> TB-RG


def street_user(street: str) -> str:
    return "street." + street.split("-")[1].lower()  # TB-RG -> street.rg


def committee_user(community: str) -> str:
    return "committee." + community.split("-", 1)[1].replace("-", "").lower()  # -> committee.rg01


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Timeline:
    """Where the history happens: `start` (08:00 Beijing time, STORY_DAYS days before the day
    of `end`) to `end`, when it stops and the dashboard is read."""

    start: datetime
    end: datetime

    @classmethod
    def ending(cls, end: datetime) -> Timeline:
        first = local_day(end) - timedelta(days=STORY_DAYS)
        return cls(datetime.combine(first, time(8, 0), SHANGHAI), end)

    def day(self, n: int) -> date:
        """The (Beijing) date `n` days after the start."""
        return local_day(self.start) + timedelta(days=n)

    def moment(self, n: int, hour: int, minute: int) -> datetime:
        return datetime.combine(self.day(n), time(hour, minute), SHANGHAI)


# --- the record -------------------------------------------------------------------------------


@dataclass
class TaskRec:
    key: str
    opened: datetime
    closed: datetime | None = None
    status: str = "open"  # open | completed | withdrawn
    db_id: int | None = None
    score: int | None = None

    @property
    def role(self) -> str:
        return ROLE[self.key]

    def held(self, now: datetime) -> float:
        """Seconds held: until it closed, or until `now`."""
        return ((self.closed or now) - self.opened).total_seconds()


@dataclass
class RequestRec:
    label: str
    department: str
    item_code: str | None
    title: str
    created: datetime
    amount_fen: int
    request_id: int = 0
    number: str = ""


@dataclass
class Fate:
    """What will happen to one handoff (one request, one community)."""

    kind: str
    reviews: list[str] = field(default_factory=lambda: ["approve"])  # street review decisions
    revisions: list[dict[str, Any]] = field(default_factory=list)  # the revise forms, in turn
    district: str = "approve"
    committee: str = "sign"
    funding: str = "prompt"  # prompt | late
    reworks: int = 0
    stuck: str | None = None  # the task left open for good
    cancel_at: str | None = None  # the task during which the department cancels
    review_late: bool = False
    # 终止: (the task during which the department asks, the street's and the committee's
    # answers, how the money transferred is settled: none | part | refund_all | keep_all)
    terminate: tuple[str, tuple[str, ...], str] | None = None
    quick: bool = False  # every step within a day (the handoffs filed just before the end)
    score: int = 90


@dataclass
class Handoff:
    label: str
    request: RequestRec
    community: str
    fate: Fate
    category: str
    flagged: bool  # a listed request whose text names a negative-list term
    instance_id: int = 0
    status: str = "running"
    outcome: str | None = None
    amount_fen: int = 0  # as revised
    agreed_fen: int = 0
    transferred_fen: int = 0
    transferred_at: datetime | None = None
    refunded_fen: int = 0
    kept_fen: int = 0
    ended: datetime | None = None  # when it reached its outcome (or was cancelled)
    signed: set[str] = field(default_factory=set)
    tasks: list[TaskRec] = field(default_factory=list)

    @property
    def street(self) -> str:
        return street_of(self.community)

    @property
    def department(self) -> str:
        return self.request.department

    def open_tasks(self, key: str | None = None) -> list[TaskRec]:
        return [t for t in self.tasks if t.status == "open" and (key is None or t.key == key)]

    @property
    def score(self) -> int | None:
        done = [t.score for t in self.tasks if t.key == "evaluation" and t.status == "completed"]
        return done[0] if done else None


@dataclass
class Emergency:
    label: str
    street: str
    community: str
    department: str
    created: datetime
    filing: list[str]  # "prompt" | "late" | "open" per filing, in turn
    confirm: list[str]  # the street's answers: "dispute" | "confirm"
    withdraw_after: timedelta | None = None  # the street office withdraws the order
    instance_id: int = 0
    status: str = "running"
    tasks: list[TaskRec] = field(default_factory=list)
    filed_requests: list[str] = field(default_factory=list)

    def open_tasks(self, key: str | None = None) -> list[TaskRec]:
        return [t for t in self.tasks if t.status == "open" and (key is None or t.key == key)]

    @property
    def outcome(self) -> str | None:
        return {"completed": "completed", "cancelled": "cancelled"}.get(self.status)


@dataclass
class Termination:
    """A 终止 of a signed handoff (`bpmn/handoff_termination.bpmn`): its own instance."""

    label: str
    handoff: Handoff
    answers: list[str]  # the street's, then the committee's
    refund_fen: int
    kept_fen: int
    instance_id: int = 0
    status: str = "running"
    outcome: str | None = None
    tasks: list[TaskRec] = field(default_factory=list)

    def open_tasks(self, key: str | None = None) -> list[TaskRec]:
        return [t for t in self.tasks if t.status == "open" and (key is None or t.key == key)]


# --- the simulation -----------------------------------------------------------------------------


class Simulation:
    def __init__(self, db: Database, line: Timeline, seed: int = SEED):
        self.db = db
        self.line = line
        self.rng = random.Random(seed)
        self.requests: list[RequestRec] = []
        self.handoffs: list[Handoff] = []
        self.emergencies: list[Emergency] = []
        self.terminations: list[Termination] = []
        self.events: list[tuple[datetime, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        self.vouchers = itertools.count(1)
        self.timers_fired = 0
        self.steps = 0
        self.filings: dict[str, tuple[str, int, Callable[[], Fate]]] = {}
        self._actors: dict[str, service.Actor] = {}

    # the clock and the event queue

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when.astimezone(UTC), next(self.seq), action))

    def go_to(self, when: datetime) -> datetime:
        """Move the clock forward to `when` (it never goes back) and run the timer worker."""
        ahead = when - clock.now()
        if ahead > timedelta(0):
            clock.advance(ahead)
        while fired := service.fire_due_timers(self.db):
            self.timers_fired += fired
        return clock.now()

    def run(self) -> None:
        """Play every event up to the end of the timeline, from its start (the clock is set
        there, running); the clock is left running at the end."""
        clock.travel(self.line.start)
        while self.events:
            when, _seq, action = heapq.heappop(self.events)
            if when > self.line.end:
                break  # what was still to happen after the history ends
            self.go_to(when)
            action()
        self.events.clear()
        self.go_to(self.line.end)

    def actor(self, username: str) -> service.Actor:
        if username not in self._actors:
            with self.db.read() as s:
                user = s.scalar(select(User).where(User.username == username))
                _expect(user is not None, "no demo account", username, "(seed the demo first)")
                self._actors[username] = service.Actor.of(user)
        return self._actors[username]

    def minutes(self, low: float, high: float) -> timedelta:
        """A delay of `low`..`high` minutes (whole minutes)."""
        return timedelta(minutes=self.rng.randint(int(low), int(high)))

    def office_time(self, day: date) -> datetime:
        """A moment of office hours (08:30-17:30 Beijing time) of a working day: never near
        midnight, so that the request's date does not depend on a few milliseconds of the
        running clock."""
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, time(8, 30), SHANGHAI) + self.minutes(0, 9 * 60)

    # requests

    def request(
        self,
        label: str,
        department: str,
        item: str | None,
        category: str,
        title: str,
        communities: list[str],
        amount_fen: int,
        fates: list[Fate],
        when: datetime,
        flagged: bool = False,
        description: str = "",
        on_created: Callable[[RequestRec], None] | None = None,
    ) -> None:
        record = RequestRec(label, department, item, title, when, amount_fen)
        handoffs = [
            Handoff(f"{label}/{c}", record, c, fate, category, flagged, amount_fen=amount_fen)
            for c, fate in zip(communities, fates, strict=True)
        ]

        def create() -> None:
            record.created = now = clock.now()
            due = local_day(now) + timedelta(days=self.rng.randint(150, 240))
            payload = handoff.RequestInput(
                title=title,
                item_code=item,
                description=description or f"{title}：按事项清单开展，经费随事转移。",
                community_codes=communities,
                amount=yuan(amount_fen),
                due_date=due.isoformat(),
            )
            record.request_id = handoff.create_request(
                self.db, self.actor(DEPARTMENT_USERS[department]), payload
            )
            self.steps += 1
            with self.db.read() as s:
                record.number = s.get(Request, record.request_id).number
                rows = s.execute(
                    select(HandoffInstance.instance_id, OrgUnit.code)
                    .join(OrgUnit, OrgUnit.id == HandoffInstance.community_id)
                    .where(HandoffInstance.request_id == record.request_id)
                ).all()
            by_code = {code: instance_id for instance_id, code in rows}
            _expect(sorted(by_code) == sorted(communities), label, by_code)
            self.requests.append(record)
            for h in handoffs:
                h.instance_id = by_code[h.community]
                self.handoffs.append(h)
                blocked = self.screening(h)
                if blocked:
                    h.status, h.outcome, h.ended = "completed", blocked, now
                else:
                    self.open(h, "street_review", now)
                self.check(h)
            if on_created is not None:
                on_created(record)

        self.at(when, create)

    @staticmethod
    def screening(h: Handoff) -> str | None:
        """The outcome the screening must give at once (SPEC: Screen), by the model's rule."""
        if h.category == "negative" or h.fate.kind == "negative_text":
            return "blocked_negative_list"
        if h.category == "certificate_forbidden":
            return "blocked_forbidden_certificate"
        if h.amount_fen == 0 and h.category in ("assisted", "unlisted"):
            return "blocked_unfunded"
        return None

    # the handoff's tasks

    def open(self, h: Handoff, key: str, now: datetime) -> None:
        task = TaskRec(key, now)
        h.tasks.append(task)
        fate = h.fate
        first = not any(t.key == key for t in h.tasks[:-1])
        if fate.cancel_at == key and first:
            self.at(now + self.minutes(60, 4 * 24 * 60), lambda: self.cancel(h))
            return
        if fate.terminate and fate.terminate[0] == key and first:
            # the step waits while the termination is pending (`handoff.termination`)
            self.at(now + self.minutes(60, 2 * 24 * 60), lambda: self.terminate(h))
            return
        if fate.stuck == key:
            return
        self.at(now + self.delay(h, key), lambda: self.complete(h, task))

    def delay(self, h: Handoff, key: str) -> timedelta:
        day = 24 * 60
        fate = h.fate
        if fate.quick:
            return self.minutes(30, day)
        if key == "street_review":
            first = not any(t.key == "street_review" for t in h.tasks[:-1])
            if fate.review_late and first:
                return self.minutes(33 * day, 45 * day)
            return self.minutes(45, 12 * day)
        if key == "funding":
            if fate.funding == "late":
                return self.minutes(26 * day, 40 * day)
            return self.minutes(120, 7 * day)
        return {
            "revise": self.minutes(120, 5 * day),
            "district_review": self.minutes(60, 7 * day),
            "sign_department": self.minutes(30, 4 * day),
            "sign_street": self.minutes(30, 4 * day),
            "sign_committee": self.minutes(30, 6 * day),
            "work": self.minutes(day, 15 * day),
            "acceptance": self.minutes(60, 4 * day),
            "evaluation": self.minutes(60, 6 * day),
        }[key]

    def who(self, h: Handoff, key: str) -> str:
        role = ROLE[key]
        return {
            "street_office": street_user(h.street),
            "department": DEPARTMENT_USERS[h.department],
            "district_reviewer": "reviewer",
            "committee": committee_user(h.community),
            "finance": "finance",
        }[role]

    def form(self, h: Handoff, key: str) -> dict[str, Any]:
        fate, today = h.fate, local_day(clock.now())
        if key == "street_review":
            decision = fate.reviews.pop(0)
            comment = {"approve": "同意", "reject": "不属于准入事项", "revise": "请补充经费测算"}
            return {"decision": decision, "comment": comment[decision]}
        if key == "revise":
            return fate.revisions.pop(0)
        if key == "district_review":
            return {"decision": fate.district, "comment": "复核意见"}
        if key == "sign_committee" and fate.committee == "refuse":
            return {"decision": "refuse", "comment": "未经准入，且经费不足，拒签"}
        if key in SIGNS:
            return {"decision": "sign"}
        if key == "funding":
            return {
                "amount": yuan(h.amount_fen),
                "voucher_no": f"PZ-{today.year}-{next(self.vouchers):05d}",
                "transferred_on": today.isoformat(),
            }
        if key == "work":
            return {"report": "已按协议完成，台账附后", "completed_on": today.isoformat()}
        if key == "acceptance":
            if fate.reworks:
                fate.reworks -= 1
                return {"decision": "rework", "comment": "台账不全，请补充"}
            return {"decision": "accept"}
        if key == "evaluation":
            return {"score": fate.score, "comment": "按期完成"}
        raise HistoryDrift(f"no form for {key}")

    def complete(self, h: Handoff, task: TaskRec) -> None:
        if task.status != "open" or h.status != "running":
            return  # withdrawn meanwhile (a refusal): the event is void
        now = clock.now()
        data = self.form(h, task.key)
        result = service.complete_task(self.db, task.db_id, self.actor(self.who(h, task.key)), data)
        self.steps += 1
        task.status, task.closed = "completed", now
        if task.key == "evaluation":
            task.score = data["score"]
        self.advance_model(h, task, data, now)
        shown = (result["instance_state"], result["outcome"])
        _expect(shown == (h.status, h.outcome), h.label, shown, (h.status, h.outcome))
        self.check(h)

    def advance_model(self, h: Handoff, task: TaskRec, data: dict[str, Any], now) -> None:
        key = task.key
        if key == "street_review":
            decision = data["decision"]
            if decision == "reject":
                self.finish(h, "rejected", now)
            elif decision == "revise":
                self.open(h, "revise", now)
            elif h.category == "unlisted" or h.flagged:
                self.open(h, "district_review", now)
            else:
                self.open_signing(h, now)
        elif key == "revise":
            if "amount" in data:
                h.amount_fen = round(Decimal(data["amount"]) * 100)
            self.open(h, "street_review", now)
        elif key == "district_review":
            if data["decision"] == "approve":
                self.open_signing(h, now)
            else:
                self.finish(h, "rejected", now)
        elif key in SIGNS:
            if data["decision"] == "refuse":
                for other in h.open_tasks():
                    other.status, other.closed = "withdrawn", now
                self.finish(h, "refused", now)
                return
            h.signed.add(key)
            if key == "sign_committee":  # the committee signs first, then the other two
                self.open(h, "sign_department", now)
                self.open(h, "sign_street", now)
            elif h.signed == set(SIGNS):
                if h.amount_fen > 0:
                    h.agreed_fen = h.amount_fen
                    self.open(h, "funding", now)
                else:
                    self.open(h, "work", now)
        elif key == "funding":
            h.transferred_fen += h.amount_fen
            h.transferred_at = now
            self.open(h, "work", now)
        elif key == "work":
            self.open(h, "acceptance", now)
        elif key == "acceptance":
            self.open(h, "work" if data["decision"] == "rework" else "evaluation", now)
        elif key == "evaluation":
            self.finish(h, "completed", now)

    def open_signing(self, h: Handoff, now: datetime) -> None:
        self.open(h, "sign_committee", now)

    @staticmethod
    def finish(h: Handoff, outcome: str, now: datetime) -> None:
        h.status, h.outcome, h.ended = "completed", outcome, now

    def cancel(self, h: Handoff) -> None:
        if h.status != "running":
            return
        now = clock.now()
        who = self.actor(DEPARTMENT_USERS[h.department])
        service.cancel_instance(self.db, h.instance_id, who, "部门撤回：事项已由部门自行办理")
        self.steps += 1
        for task in h.open_tasks():
            task.status, task.closed = "withdrawn", now
        h.status, h.outcome, h.ended = "cancelled", "cancelled", now
        self.check(h)

    # terminations (终止)

    def terminate(self, h: Handoff) -> None:
        at, answers, split = h.fate.terminate
        paid = h.transferred_fen
        refund = {
            "none": 0,
            "part": self.rng.randint(1, max(paid - 1, 1)),
            "refund_all": paid,
            "keep_all": 0,
        }[split]
        t = Termination(f"{h.label}-终止", h, list(answers), refund, paid - refund)
        now = clock.now()
        instance = starting.start_process(
            self.db,
            "handoff_termination",
            self.actor(DEPARTMENT_USERS[h.department]),
            {
                "handoff_instance": h.instance_id,
                "reason": "辖区调整，事项改由部门自行办理",
                "refund": yuan(t.refund_fen),
                "kept": yuan(t.kept_fen),
            },
        )
        self.steps += 1
        t.instance_id = instance.id
        self.terminations.append(t)
        self.open_termination(t, "street_confirm", now)
        self.check(t)

    def open_termination(self, t: Termination, key: str, now: datetime) -> None:
        task = TaskRec(key, now)
        t.tasks.append(task)
        if key == "refund_received" or t.answers:  # no answer yet: pending at the end
            delay = self.minutes(60, 2 * 24 * 60)
            self.at(now + delay, lambda: self.complete_termination(t, task))

    def complete_termination(self, t: Termination, task: TaskRec) -> None:
        h, now = t.handoff, clock.now()
        if task.key == "refund_received":
            today = local_day(now)
            data = {
                "refunded_on": today.isoformat(),
                "voucher_no": f"TK-{today.year}-{next(self.vouchers):05d}",
            }
            who = "finance"
        else:
            decision = t.answers.pop(0)
            data = {
                "decision": decision,
                "comment": "同意终止" if decision == "agree" else "工作已过半，不同意终止",
            }
            who = (
                street_user(h.street)
                if task.key == "street_confirm"
                else committee_user(h.community)
            )
        service.complete_task(self.db, task.db_id, self.actor(who), data)
        self.steps += 1
        task.status, task.closed = "completed", now
        if task.key != "refund_received" and data["decision"] == "disagree":
            t.status, t.outcome = "completed", "refused"
            # the handoff goes on: the step that waited is done after all
            for waiting in h.open_tasks():
                self.at(now + self.delay(h, waiting.key), lambda w=waiting: self.complete(h, w))
        elif task.key == "street_confirm":
            self.open_termination(t, "committee_confirm", now)
        elif task.key == "committee_confirm" and t.refund_fen > 0:
            self.open_termination(t, "refund_received", now)
        else:  # settled: the handoff ends, terminated
            t.status, t.outcome = "completed", "terminated"
            for open_task in h.open_tasks():
                open_task.status, open_task.closed = "withdrawn", now
            h.status, h.outcome, h.ended = "cancelled", "terminated", now
            h.refunded_fen, h.kept_fen = t.refund_fen, t.kept_fen
            self.check(h)
        self.check(t)

    def check(self, record: Handoff | Emergency | Termination) -> None:
        """The engine agrees with the model: state, outcome and the open tasks (by key); the
        model's new tasks learn their row ids."""
        with self.db.read() as s:
            instance = s.get(ProcessInstance, record.instance_id)
            state = (instance.status, instance.outcome)
            rows = s.execute(
                select(Task.id, Task.key)
                .where(Task.instance_id == record.instance_id, Task.status == "open")
                .order_by(Task.id)
            ).all()
        expected = (record.status, record.outcome)
        _expect(state == expected, record.label, "is", state, "not", expected)
        shown, modelled = sorted(k for _i, k in rows), sorted(t.key for t in record.open_tasks())
        _expect(shown == modelled, record.label, "has open", shown, "not", modelled)
        known = {t.db_id for t in record.tasks if t.db_id is not None}
        for task in record.open_tasks():
            if task.db_id is None:
                task.db_id = next(i for i, k in rows if k == task.key and i not in known)
                known.add(task.db_id)

    # emergency orders (临时性紧急事项)

    def emergency(
        self,
        label: str,
        community: str,
        department: str,
        title: str,
        kind: str,
        when: datetime,
        filing: list[str],
        confirm: list[str],
        item: str,
        amount_fen: int,
        fate: Callable[[], Fate],
        withdraw_after: timedelta | None = None,
    ) -> None:
        e = Emergency(
            label, street_of(community), community, department, when, filing, confirm,
            withdraw_after,
        )  # fmt: skip

        def order() -> None:
            e.created = now = clock.now()
            data = {
                "community": community,
                "department": department,
                "title": title,
                "description": f"{title}，立即组织处置",
                "kind": kind,
            }
            instance = starting.start_process(
                self.db, "emergency", self.actor(street_user(e.street)), data
            )
            self.steps += 1
            e.instance_id = instance.id
            self.emergencies.append(e)
            self.open_emergency(e, "emergency_work", now)
            self.open_emergency(e, "file_request", now)
            self.check(e)
            if e.withdraw_after is not None:
                self.at(now + e.withdraw_after, lambda: self.withdraw(e))

        self.filings[label] = (item, amount_fen, fate)
        self.at(when, order)

    def open_emergency(self, e: Emergency, key: str, now: datetime) -> None:
        task = TaskRec(key, now)
        e.tasks.append(task)
        day = 24 * 60
        if e.withdraw_after is not None:
            return  # withdrawn before anyone acts
        if key == "emergency_work":
            delay = self.minutes(60, 2 * day)
        elif key == "confirm_filing":
            delay = self.minutes(60, 3 * day)
        else:
            how = e.filing.pop(0)
            if how == "open":
                return
            delay = (
                self.minutes(60, 4 * day) if how == "prompt" else self.minutes(19 * day, 25 * day)
            )
        self.at(now + delay, lambda: self.complete_emergency(e, task))

    def withdraw(self, e: Emergency) -> None:
        now = clock.now()
        service.cancel_instance(
            self.db, e.instance_id, self.actor(street_user(e.street)), "警报解除"
        )
        self.steps += 1
        for task in e.open_tasks():
            task.status, task.closed = "withdrawn", now
        e.status = "cancelled"
        self.check(e)

    def complete_emergency(self, e: Emergency, task: TaskRec) -> None:
        if task.key == "file_request" and not e.filed_requests:
            # the department files the handoff request first, then names it
            item, amount_fen, fate = self.filings[e.label]

            def filed(record: RequestRec) -> None:
                e.filed_requests.append(record.number)
                self.complete_emergency(e, task)

            self.request(
                f"{e.label}-补办",
                e.department,
                item,
                "assisted",
                f"补办：{e.label} 紧急处置委托",
                [e.community],
                amount_fen,
                [fate()],
                clock.now(),
                on_created=filed,
            )
            return
        now = clock.now()
        today = local_day(now).isoformat()
        if task.key == "emergency_work":
            data = {"report": "已完成处置，群众已安置", "completed_on": today}
            who = committee_user(e.community)
        elif task.key == "file_request":
            data = {"request_no": e.filed_requests[-1], "comment": "已补办"}
            who = DEPARTMENT_USERS[e.department]
        else:
            decision = e.confirm.pop(0)
            data = {
                "decision": decision,
                "comment": "经费测算缺失" if decision == "dispute" else "",
            }
            who = street_user(e.street)
        service.complete_task(self.db, task.db_id, self.actor(who), data)
        self.steps += 1
        task.status, task.closed = "completed", now
        if task.key == "confirm_filing":
            if data["decision"] == "confirm":
                e.status = "completed"
            else:
                self.open_emergency(e, "file_request", now)
        elif not e.open_tasks() and task.key in ("emergency_work", "file_request"):
            self.open_emergency(e, "confirm_filing", now)
        self.check(e)


# --- the chapters -------------------------------------------------------------------------------


class Planner:
    """What the chapters share: the simulation, its random draws, and ways to say "some
    request of this kind, some time in this span"."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.rng = sim.rng
        self.line = sim.line
        self.communities = units_of_kind("community")
        self._numbers = itertools.count(1)

    def label(self) -> str:
        return f"R{next(self._numbers):02d}"

    def when(self, first: int = 0, last: int = 182) -> datetime:
        """Office hours of a day between `first` and `last` days after the start."""
        return self.sim.office_time(self.line.day(self.rng.randint(first, last)))

    def amount(self) -> int:
        if self.rng.random() < 0.3:
            return self.rng.randint(5, 60) * 100_000  # round thousands
        return self.rng.randint(50_000, 3_000_000)  # any fen

    def places(self, n: int) -> list[str]:
        return self.rng.sample(self.communities, n)

    def completed(self, **kw) -> Fate:
        fate = Fate("completed", score=self.rng.randint(60, 100), **kw)
        if "reworks" not in kw and self.rng.random() < 0.25:
            fate.reworks = 1
        if "funding" not in kw and self.rng.random() < 0.25:
            fate.funding = "late"
        return fate

    def revision(self, h_amount: int) -> dict[str, Any]:
        draw = self.rng.random()
        if draw < 0.6:
            return {"amount": yuan(h_amount + self.rng.randint(1, 500_000)), "comment": "补充经费"}
        if draw < 0.8:
            later = self.line.day(STORY_DAYS) + timedelta(days=121)
            return {"due_date": later.isoformat(), "comment": "延长完成期限"}
        return {"description": "补充工作标准与台账要求", "comment": "补充说明"}

    def assisted(self, fates: list[Fate], at: datetime | None = None, money=None) -> None:
        """A request of an assisted catalog item (some department's) to len(fates)
        communities."""
        department, item, title = self.rng.choice(ASSISTED)
        at = at or self.when()
        if local_day(at) > self.line.day(LONG_BY):
            for fate in fates:  # no time left for a late transfer or a rework before the end
                if fate.kind == "completed":
                    fate.funding, fate.reworks = "prompt", 0
        self.sim.request(
            self.label(),
            department,
            item,
            "assisted",
            title,
            self.places(len(fates)),
            self.amount() if money is None else money,
            fates,
            at,
        )


def requests_of_every_outcome(p: Planner) -> None:
    """Handoff requests over the first six months (and open ones after): completed, reworked,
    revised, rejected by the street office or the district, refused by a committee, blocked by
    the screening, cancelled, funded late, overdue and escalated, and some still open."""
    sim, rng, line = p.sim, p.rng, p.line
    # completed, fanned out to 1-3 communities, some reworked, some funded late
    for _ in range(12):
        p.assisted([p.completed() for _ in range(rng.choice((1, 2, 2, 3)))])
    # revised and resubmitted, then completed
    for _ in range(3):
        base = p.amount()
        fate = p.completed(reviews=["revise", "approve"])
        fate.revisions = [p.revision(base)]
        p.assisted([fate], money=base)
    # revised twice, then rejected
    base = p.amount()
    fate = Fate("rejected", reviews=["revise", "revise", "reject"])
    fate.revisions = [p.revision(base), p.revision(base)]
    p.assisted([fate], money=base)
    # street review late (escalated), then completed
    p.assisted([p.completed(review_late=True), p.completed()], p.when(0, 90))
    # mixed fan-outs: one community refuses, another is rejected, the others complete
    for _ in range(3):
        fates = [
            p.completed(),
            Fate("refused", committee="refuse"),
            Fate("rejected", reviews=["reject"]),
            p.completed(),
        ][: rng.choice((3, 4))]
        rng.shuffle(fates)
        p.assisted(fates)
    # rejected by the street office; refused by the committee
    for _ in range(3):
        p.assisted([Fate("rejected", reviews=["reject"])])
    for _ in range(3):
        p.assisted([Fate("refused", committee="refuse")])
    # unlisted work: district review approves (completed) or rejects
    for title, fate in (
        ("社区老年食堂运营情况调查", p.completed()),
        ("新就业形态劳动者信息登记", p.completed()),
        ("燃气安全入户宣传", Fate("rejected", district="reject")),
    ):
        sim.request(
            p.label(), "TB-D-ZJ", None, "unlisted", title, p.places(1), p.amount(), [fate],
            p.when(),
        )  # fmt: skip
    # a listed code whose title names the negative list: district review, which refuses
    sim.request(
        p.label(),
        "TB-D-RS",
        "A06",
        "assisted",
        "就业困难人员登记暨招商引资企业用工对接",
        p.places(1),
        p.amount(),
        [Fate("rejected", district="reject")],
        p.when(),
        flagged=True,
    )
    # blocked at once: negative list by code and by text, forbidden certificates, no money
    for department, item, title in (
        ("TB-D-SW", "N01", "年度招商引资任务分解"),
        ("TB-D-SJ", "N04", "占道经营行政执法协助"),
        ("TB-D-MZ", "N06", "报刊订阅任务"),
    ):
        n = rng.choice((1, 2))
        fates = [Fate("blocked") for _ in range(n)]
        sim.request(
            p.label(), department, item, "negative", title, p.places(n), p.amount(), fates,
            p.when(),
        )  # fmt: skip
    for department, title in (("TB-D-ZJ", "社区环境整治百日行动"), ("TB-D-ZJ", "城管巡查协助")):
        fates = [Fate("negative_text")]
        sim.request(
            p.label(), department, None, "unlisted", title, p.places(1), p.amount(), fates,
            p.when(),
        )  # fmt: skip
    for department, item, title, n in (
        ("TB-D-SF", "C12", "出具无犯罪记录证明", 2),
        ("TB-D-MZ", "C11", "出具亲属关系证明", 1),
    ):
        fates = [Fate("blocked") for _ in range(n)]
        sim.request(
            p.label(), department, item, "certificate_forbidden", title, p.places(n), 0, fates,
            p.when(),
        )  # fmt: skip
    sim.request(p.label(), "TB-D-RS", "A06", "assisted", "就业信息发布", p.places(2), 0,
                [Fate("blocked"), Fate("blocked")], p.when())  # fmt: skip
    sim.request(p.label(), "TB-D-WJ", None, "unlisted", "控烟宣传", p.places(1), 0,
                [Fate("blocked")], p.when())  # fmt: skip
    # no money needed: a community's own business and a certificate it may issue
    for item, category, title in (
        ("S02", "self_governance", "组织社区公益活动"),
        ("C01", "certificate_allowed", "出具居住证明"),
    ):
        sim.request(
            p.label(), "TB-D-MZ", item, category, title, p.places(1), 0, [p.completed()],
            p.when(),
        )  # fmt: skip
    # cancelled before signing: during the review, the revision, the district review
    p.assisted([Fate("cancelled", cancel_at="street_review")])
    base = p.amount()
    fate = Fate("cancelled", reviews=["revise"], cancel_at="revise")
    p.assisted([fate], money=base)
    sim.request(p.label(), "TB-D-WJ", None, "unlisted", "家庭医生签约动员", p.places(1),
                p.amount(), [Fate("cancelled", cancel_at="district_review")],
                p.when())  # fmt: skip
    # still open when the history ends
    for _ in range(2):  # street review overdue for weeks (escalated)
        p.assisted([Fate("stuck", stuck="street_review")], p.when(183, 227))
    for _ in range(2):  # signed, money agreed, never transferred (overdue)
        p.assisted([Fate("stuck", stuck="funding")], p.when(152, 212))
    p.assisted(  # signed last week, funding still within its period
        [Fate("stuck", stuck="funding", quick=True)], sim.office_time(line.day(266))
    )
    for _ in range(2):  # funded, the work under way
        p.assisted([Fate("stuck", stuck="work")], p.when(183, 232))
    for day in (269, 270):  # just filed
        p.assisted([Fate("stuck", stuck="street_review")], sim.office_time(line.day(day)))

    # filed in the small hours (Beijing time) of days three and six months in: periods are
    # counted in Beijing dates, and 00:00-08:00 Beijing is the day before in UTC
    for day, hour, minute in ((90, 22, 50), (91, 7, 40), (182, 23, 20), (183, 6, 50)):
        p.assisted([p.completed(funding="prompt", reworks=0)], line.moment(day, hour, minute))


def emergency_orders(p: Planner) -> None:
    """临时性紧急事项: a street office orders a committee to act at once and the department
    files the handoff request afterwards (on time, late, disputed, not yet, or the order is
    withdrawn when the alert is lifted)."""
    line = p.line
    names = {"flood": "防汛", "epidemic": "疫情防控", "fire": "消防安全"}
    for name, community, department, kind, at, filing, confirm, item in (
        ("E1", "TB-HM-03", "TB-D-MZ", "flood", line.moment(108, 21, 10), ["prompt"],
         ["confirm"], "A01"),
        ("E2", "TB-TD-02", "TB-D-MZ", "flood", line.moment(142, 6, 40), ["late"],
         ["confirm"], "A02"),
        ("E3", "TB-XL-01", "TB-D-WJ", "epidemic", line.moment(162, 10, 0),
         ["prompt", "prompt"], ["dispute", "confirm"], "A05"),
        ("E4", "TB-RG-05", "TB-D-ZJ", "fire", line.moment(247, 15, 30), ["open"], [],
         "A07"),
        ("E5", "TB-CQ-02", "TB-D-WJ", "epidemic", line.moment(271, 9, 5), ["open"], [],
         "A05"),
        ("E6", "TB-MR-02", "TB-D-MZ", "flood", line.moment(183, 6, 30), ["open"], [],
         "A01"),  # withdrawn by the street office when the alert is lifted
    ):  # fmt: skip
        p.sim.emergency(
            name,
            community,
            department,
            f"{names[kind]}紧急处置",
            kind,
            at,
            filing,
            confirm,
            item,
            p.amount(),
            lambda: p.completed(reworks=0, funding="prompt"),
            withdraw_after=timedelta(hours=5) if name == "E6" else None,
        )


def terminations(p: Planner) -> None:
    """终止 of signed handoffs: the department asks, the street office and the committee
    confirm, the money transferred is settled (refunded, kept, or part of each), or one of them
    disagrees and the handoff goes on."""
    rng = p.rng
    for at, answers, split in (
        ("funding", ("agree", "agree"), "none"),  # signed, nothing transferred yet
        ("work", ("agree", "agree"), "part"),  # part refunded, part kept for the work done
        ("work", ("agree", "agree"), "refund_all"),
        ("work", ("agree", "agree"), "keep_all"),
        ("work", ("disagree",), "part"),  # the street office disagrees: the work goes on
        ("funding", ("agree", "disagree"), "none"),  # the committee disagrees: funded late
        ("work", (), "part"),  # asked for in the autumn, the street office has not answered
    ):
        fate = Fate(
            "completed" if "disagree" in answers else "terminated" if answers else "pending",
            terminate=(at, answers, split),
            score=rng.randint(60, 100),
            funding="late" if at == "funding" and "disagree" in answers else "prompt",
        )
        if answers:
            p.assisted([fate], p.when(0, LONG_BY))
        else:
            p.assisted([fate], p.when(183, 221))


def work_in_every_inbox(p: Planner) -> None:
    """The last three weeks, so that every demo account signs in to work waiting for it: a
    request to every community of the district awaiting the committees' signatures, a fresh
    request for each street office to review, one step for each department (accept the work,
    revise, sign) and a district review for the reviewer. (Finance waits on the transfers of
    `requests_of_every_outcome`; the admin has no tasks of any process.)"""
    sim, rng, line = p.sim, p.rng, p.line
    sim.request(
        p.label(),
        "TB-D-MZ",
        "A08",
        "assisted",
        "高龄津贴申领初审（全区）",
        list(p.communities),
        p.amount(),
        [Fate("stuck", stuck="sign_committee", quick=True) for _ in p.communities],
        sim.office_time(line.day(266)),  # waiting for the committees, not overdue yet
    )
    for street in units_of_kind("street"):
        department, item, title = rng.choice(ASSISTED)
        mine = rng.sample([c for c in p.communities if street_of(c) == street], rng.choice((1, 2)))
        sim.request(
            p.label(), department, item, "assisted", title, mine, p.amount(),
            [Fate("stuck", stuck="street_review") for _ in mine],
            sim.office_time(line.day(rng.randint(266, 270))),
        )  # fmt: skip
    waiting = ("acceptance", "revise", "acceptance", "sign_department")
    unlisted = {"TB-D-SW": "家政服务供需信息登记", "TB-D-SJ": "食品安全宣传进社区"}
    for n, department in enumerate(DEPARTMENT_USERS):
        stage = waiting[n % len(waiting)]
        fate = Fate("stuck", stuck=stage, quick=True)
        if stage == "revise":
            fate.reviews = ["revise"]
        listed = [(i, t) for d, i, t in ASSISTED if d == department]
        item, title = rng.choice(listed) if listed else (None, unlisted[department])
        sim.request(
            p.label(), department, item, "assisted" if item else "unlisted", title,
            # waiting long enough to be overdue, now that every stage has its deadline
            p.places(1), p.amount(), [fate], sim.office_time(line.day(rng.randint(228, 234))),
        )  # fmt: skip
    sim.request(
        p.label(), "TB-D-ZJ", None, "unlisted", "老旧小区加装电梯意愿摸底", p.places(1),
        p.amount(), [Fate("stuck", stuck="district_review", quick=True)],
        sim.office_time(line.day(267)),
    )  # fmt: skip


# The history, chapter by chapter (planned in this order, then played in time order).
STORIES: tuple[Callable[[Planner], None], ...] = (
    requests_of_every_outcome,
    emergency_orders,
    terminations,
    work_in_every_inbox,
)


def generate(db: Database, line: Timeline, seed: int = SEED) -> Simulation:
    """Plan every chapter of `STORIES` and play them on `line`: the process clock is set to its
    start and left running at its end. Needs the demo district and accounts (`demo.seed`)."""
    sim = Simulation(db, line, seed)
    planner = Planner(sim)
    for story in STORIES:
        story(planner)
    sim.run()
    return sim


def instances_in(session: Session) -> int:
    """How many process instances the database has: a history is made only where it has none."""
    return session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def make(db: Database, *, seed: int = SEED, end: datetime | None = None) -> Simulation:
    """The history of the STORY_DAYS days up to `end` (default: now), for
    `flask seed-demo --with-history`; the caller's clock is as before afterwards."""
    end = end or clock.now()
    if end > clock.now():
        raise ValueError("a history ends now or in the past")
    line = Timeline.ending(end)
    with clock.travel(line.start):
        return generate(db, line, seed)


def describe(sim: Simulation) -> list[str]:
    """What the history made, in a few lines for the operator."""
    outcomes = Counter(h.outcome or "running" for h in sim.handoffs)
    with sim.db.read() as s:
        open_tasks = s.scalar(select(func.count()).where(Task.status == "open")) or 0
        overdue = (
            s.scalar(select(func.count()).where(Task.status == "open", Task.due_at < clock.now()))
            or 0
        )
    first, last = local_day(sim.line.start), local_day(sim.line.end)
    return [
        f"history {first} .. {last}: {len(sim.requests)} requests, "
        f"{len(sim.handoffs)} handoffs, {len(sim.emergencies)} emergency orders, "
        f"{len(sim.terminations)} terminations ({sim.steps} steps, "
        f"{sim.timers_fired} timers fired)",
        "handoffs: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        f"open tasks: {open_tasks} ({overdue} overdue)",
    ]
