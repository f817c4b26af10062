"""A realistic history for the 减负看板: the demo district plus a few dozen handoff requests over
2026-03 .. 2026-11, driven through the service layer (the functions the API calls) on a running
clock, and the test's own record of everything that happened.

The generator is a small discrete-event simulation. Every request gets a *fate* per community
(what the street office, the district reviewer, the committee, finance and the department will
do, and after how long); the events are run in time order, the clock is moved forward to each
event (it keeps running between events: it is never frozen) and the timer worker runs before
every event, as a worker polling all the time would.

The record (`Handoff`, `TaskRec`, `Emergency`, `Termination`) is written by the simulation from
what it did, following its own model of `bpmn/handoff.bpmn`, `bpmn/emergency.bpmn` and
`bpmn/handoff_termination.bpmn`; after each step the state, the outcome and the open tasks of the
instance are compared with the model's, so a model that drifted from the engine fails here and
not in a figure. Money is integer fen throughout. The expected figures (`expected_row`,
`expected_emergency`) are computed from the record alone, never from the report's queries.
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handoff import requests as handoff
from handoff.models import HandoffInstance, Request
from workflows import clock, service, starting
from workflows.models import OrgUnit, ProcessInstance, Task, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO = Path(__file__).resolve().parent.parent / "handoff" / "demo_data"
START = datetime(2026, 3, 2, 8, 0, tzinfo=SHANGHAI)  # a Monday
END = datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI)  # when the dashboard is read
LONG_BY = date(2026, 7, 15)  # the last request that may still be funded late or reworked

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
STAGE_ORDER = (
    "street_review",
    "revise",
    "district_review",
    "sign_committee",
    "sign_department",
    "sign_street",
    "funding",
    "work",
    "acceptance",
    "evaluation",
)
HOLD_ROLES = ("department", "street_office", "committee")
# The tasks with a due date (a boundary timer): 15, 10 and 5 working days. Over 2026 those spans
# are 18-29, 11-22 and 5-16 calendar days, so a task held at most PROMPT days is never overdue
# and one held LATE days or more always is; the generator never holds a timed task in between
# (`late()` refuses), so the count does not depend on the holiday calendar. The signatures
# (10 and 5 working days) and the acceptance (10) have timers too, but the generator holds
# them at most 6 and 4 days: never overdue.
PROMPT = {"street_review": 14, "funding": 8, "file_request": 4}
LATE = {"street_review": 32, "funding": 25, "file_request": 18}
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


def demo_units() -> list[dict[str, Any]]:
    return json.loads((DEMO / "org_units.json").read_text(encoding="utf-8"))["org_units"]


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
        return ((self.closed or now) - self.opened).total_seconds()

    def late(self, now: datetime) -> bool:
        """Held past its due date (ever): by the margins of PROMPT / LATE."""
        if self.key not in PROMPT:
            return False
        days = self.held(now) / 86400
        if days <= PROMPT[self.key]:
            return False
        if days >= LATE[self.key]:
            return True
        raise AssertionError(f"{self.key} held {days:.1f} days: between on time and overdue")


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
    def __init__(self, db, seed: int = 20260302):
        self.db = db
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

    def start_clock(self) -> None:
        """A running clock: real time shifted to START (never frozen)."""
        clock.reset()
        clock.advance(START - clock.now())

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when.astimezone(UTC), next(self.seq), action))

    def go_to(self, when: datetime) -> datetime:
        """Move the clock forward to `when` (it never goes back) and run the timer worker."""
        ahead = when - clock.now()
        if ahead > timedelta(0):
            clock.advance(ahead)
        self.timers_fired += service.fire_due_timers(self.db)
        return clock.now()

    def run(self) -> None:
        while self.events:
            when, _seq, action = heapq.heappop(self.events)
            if when > END:
                break  # what was still to happen after the dashboard is read
            self.go_to(when)
            action()
        self.events.clear()
        self.go_to(END)

    def actor(self, username: str) -> service.Actor:
        if username not in self._actors:
            with self.db.read() as s:
                user = s.scalar(select(User).where(User.username == username))
                assert user is not None, username
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
            assert sorted(by_code) == sorted(communities), (label, by_code)
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
        """The outcome the screening must give at once (SPEC: Screen), by the test's own rule."""
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
            "sign_department": self.minutes(30, 5 * day),
            "sign_street": self.minutes(30, 5 * day),
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
        fate, today = h.fate, local_day(clock.now()).isoformat()
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
                "voucher_no": f"PZ-2026-{next(self.vouchers):05d}",
                "transferred_on": today,
            }
        if key == "work":
            return {"report": "已按协议完成，台账附后", "completed_on": today}
        if key == "acceptance":
            if fate.reworks:
                fate.reworks -= 1
                return {"decision": "rework", "comment": "台账不全，请补充"}
            return {"decision": "accept"}
        if key == "evaluation":
            return {"score": fate.score, "comment": "按期完成"}
        raise AssertionError(key)

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
        assert (result["instance_state"], result["outcome"]) == (h.status, h.outcome), h.label
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
            data = {
                "refunded_on": local_day(now).isoformat(),
                "voucher_no": f"TK-2026-{next(self.vouchers):05d}",
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
        assert state == expected, (record.label, state, expected)
        assert sorted(k for _i, k in rows) == sorted(t.key for t in record.open_tasks()), (
            record.label,
            rows,
            [t.key for t in record.open_tasks()],
        )
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


# --- the history --------------------------------------------------------------------------------


def add_terminations(
    sim: Simulation, request: Callable[..., None], when: Callable[..., datetime]
) -> None:
    """终止 (issue 13.5) of signed handoffs: the department asks, the street office and the
    committee confirm, the money transferred is settled (refunded, kept, or part of each), or
    one of them disagrees and the handoff goes on."""
    rng = sim.rng
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
            request([fate], when(date(2026, 3, 2), LONG_BY))
        else:
            request([fate], when(date(2026, 9, 1), date(2026, 10, 9)))


def build(db, seed: int = 20260302) -> Simulation:
    """Generate and run the history; returns the simulation with its record."""
    sim = Simulation(db, seed)
    rng = sim.rng
    communities = units_of_kind("community")
    numbers = itertools.count(1)

    def day_between(first: date, last: date) -> date:
        return first + timedelta(days=rng.randint(0, (last - first).days))

    def when(first: date = date(2026, 3, 2), last: date = date(2026, 8, 31)) -> datetime:
        return sim.office_time(day_between(first, last))

    def amount() -> int:
        if rng.random() < 0.3:
            return rng.randint(5, 60) * 100_000  # round thousands
        return rng.randint(50_000, 3_000_000)  # any fen

    def places(n: int) -> list[str]:
        return rng.sample(communities, n)

    def completed(**kw) -> Fate:
        fate = Fate("completed", score=rng.randint(60, 100), **kw)
        if "reworks" not in kw and rng.random() < 0.25:
            fate.reworks = 1
        if "funding" not in kw and rng.random() < 0.25:
            fate.funding = "late"
        return fate

    def revision(h_amount: int) -> dict[str, Any]:
        draw = rng.random()
        if draw < 0.6:
            return {"amount": yuan(h_amount + rng.randint(1, 500_000)), "comment": "补充经费"}
        if draw < 0.8:
            return {"due_date": "2027-03-31", "comment": "延长完成期限"}
        return {"description": "补充工作标准与台账要求", "comment": "补充说明"}

    def label() -> str:
        return f"R{next(numbers):02d}"

    assisted = [
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

    def assisted_request(fates: list[Fate], at: datetime | None = None, money=None) -> None:
        department, item, title = rng.choice(assisted)
        n = len(fates)
        at = at or when()
        if at.date() > LONG_BY:  # no time left for a late transfer or a rework before the end
            for fate in fates:
                if fate.kind == "completed":
                    fate.funding, fate.reworks = "prompt", 0
        sim.request(
            label(),
            department,
            item,
            "assisted",
            title,
            places(n),
            amount() if money is None else money,
            fates,
            at,
        )

    # completed, fanned out to 1-3 communities, some reworked, some funded late
    for _ in range(12):
        assisted_request([completed() for _ in range(rng.choice((1, 2, 2, 3)))])
    # revised and resubmitted, then completed
    for _ in range(3):
        base = amount()
        fate = completed(reviews=["revise", "approve"])
        fate.revisions = [revision(base)]
        assisted_request([fate], money=base)
    # revised twice, then rejected
    base = amount()
    fate = Fate("rejected", reviews=["revise", "revise", "reject"])
    fate.revisions = [revision(base), revision(base)]
    assisted_request([fate], money=base)
    # street review late (escalated), then completed
    assisted_request(
        [completed(review_late=True), completed()], when(date(2026, 3, 2), date(2026, 5, 31))
    )
    # mixed fan-outs: one community refuses, another is rejected, the others complete
    for _ in range(3):
        fates = [
            completed(),
            Fate("refused", committee="refuse"),
            Fate("rejected", reviews=["reject"]),
            completed(),
        ][: rng.choice((3, 4))]
        rng.shuffle(fates)
        assisted_request(fates)
    # rejected by the street office; refused by the committee
    for _ in range(3):
        assisted_request([Fate("rejected", reviews=["reject"])])
    for _ in range(3):
        assisted_request([Fate("refused", committee="refuse")])
    # unlisted work: district review approves (completed) or rejects
    for title, fate in (
        ("社区老年食堂运营情况调查", completed()),
        ("新就业形态劳动者信息登记", completed()),
        ("燃气安全入户宣传", Fate("rejected", district="reject")),
    ):
        sim.request(
            label(), "TB-D-ZJ", None, "unlisted", title, places(1), amount(), [fate], when()
        )
    # a listed code whose title names the negative list: district review, which refuses
    sim.request(
        label(),
        "TB-D-RS",
        "A06",
        "assisted",
        "就业困难人员登记暨招商引资企业用工对接",
        places(1),
        amount(),
        [Fate("rejected", district="reject")],
        when(),
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
            label(), department, item, "negative", title, places(n), amount(), fates, when()
        )
    for department, title in (("TB-D-ZJ", "社区环境整治百日行动"), ("TB-D-ZJ", "城管巡查协助")):
        fates = [Fate("negative_text")]
        sim.request(
            label(), department, None, "unlisted", title, places(1), amount(), fates, when()
        )
    for department, item, title, n in (
        ("TB-D-SF", "C12", "出具无犯罪记录证明", 2),
        ("TB-D-MZ", "C11", "出具亲属关系证明", 1),
    ):
        fates = [Fate("blocked") for _ in range(n)]
        sim.request(
            label(), department, item, "certificate_forbidden", title, places(n), 0, fates, when()
        )
    sim.request(label(), "TB-D-RS", "A06", "assisted", "就业信息发布", places(2), 0,
                [Fate("blocked"), Fate("blocked")], when())  # fmt: skip
    sim.request(label(), "TB-D-WJ", None, "unlisted", "控烟宣传", places(1), 0,
                [Fate("blocked")], when())  # fmt: skip
    # no money needed: a community's own business and a certificate it may issue
    for item, category, title in (
        ("S02", "self_governance", "组织社区公益活动"),
        ("C01", "certificate_allowed", "出具居住证明"),
    ):
        sim.request(label(), "TB-D-MZ", item, category, title, places(1), 0, [completed()], when())
    # cancelled before signing: during the review, the revision, the district review
    assisted_request([Fate("cancelled", cancel_at="street_review")])
    base = amount()
    fate = Fate("cancelled", reviews=["revise"], cancel_at="revise")
    assisted_request([fate], money=base)
    sim.request(label(), "TB-D-WJ", None, "unlisted", "家庭医生签约动员", places(1), amount(),
                [Fate("cancelled", cancel_at="district_review")], when())  # fmt: skip
    # still open when the dashboard is read
    for _ in range(2):  # street review overdue for weeks (escalated)
        assisted_request(
            [Fate("stuck", stuck="street_review")], when(date(2026, 9, 1), date(2026, 10, 15))
        )
    for _ in range(2):  # signed, money agreed, never transferred (overdue)
        assisted_request(
            [Fate("stuck", stuck="funding")], when(date(2026, 8, 1), date(2026, 9, 30))
        )
    assisted_request(  # signed last week, funding still within its period
        [Fate("stuck", stuck="funding", quick=True)], sim.office_time(date(2026, 11, 23))
    )
    for _ in range(2):  # funded, the work under way
        assisted_request([Fate("stuck", stuck="work")], when(date(2026, 9, 1), date(2026, 10, 20)))
    for day in (date(2026, 11, 26), date(2026, 11, 27)):  # just filed
        assisted_request([Fate("stuck", stuck="street_review")], sim.office_time(day))

    # filed in the small hours of the days that bound the sub-period: the period is counted in
    # Beijing dates (00:00-08:00 Beijing is the day before in UTC)
    for at in (
        datetime(2026, 5, 31, 22, 50),
        datetime(2026, 6, 1, 7, 40),
        datetime(2026, 8, 31, 23, 20),
        datetime(2026, 9, 1, 6, 50),
    ):
        assisted_request([completed(funding="prompt", reworks=0)], at.replace(tzinfo=SHANGHAI))

    # emergency orders, filed afterwards (the filing is itself a handoff request)
    for name, community, department, kind, at, filing, confirm, item in (
        ("E1", "TB-HM-03", "TB-D-MZ", "flood", datetime(2026, 6, 18, 21, 10), ["prompt"],
         ["confirm"], "A01"),
        ("E2", "TB-TD-02", "TB-D-MZ", "flood", datetime(2026, 7, 22, 6, 40), ["late"],
         ["confirm"], "A02"),
        ("E3", "TB-XL-01", "TB-D-WJ", "epidemic", datetime(2026, 8, 11, 10, 0),
         ["prompt", "prompt"], ["dispute", "confirm"], "A05"),
        ("E4", "TB-RG-05", "TB-D-ZJ", "fire", datetime(2026, 11, 4, 15, 30), ["open"], [],
         "A07"),
        ("E5", "TB-CQ-02", "TB-D-WJ", "epidemic", datetime(2026, 11, 28, 9, 5), ["open"], [],
         "A05"),
        ("E6", "TB-MR-02", "TB-D-MZ", "flood", datetime(2026, 9, 1, 6, 30), ["open"], [],
         "A01"),  # withdrawn by the street office when the alert is lifted
    ):  # fmt: skip
        sim.emergency(
            name,
            community,
            department,
            f"{ {'flood': '防汛', 'epidemic': '疫情防控', 'fire': '消防安全'}[kind] }紧急处置",
            kind,
            at.replace(tzinfo=SHANGHAI),
            filing,
            confirm,
            item,
            amount(),
            lambda: completed(reworks=0, funding="prompt"),
            withdraw_after=timedelta(hours=5) if name == "E6" else None,
        )

    add_terminations(sim, assisted_request, when)
    sim.start_clock()
    sim.run()
    return sim


# --- the figures, from the record -----------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    values = sorted(values)
    rank = q * (len(values) - 1)
    below = int(rank)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (rank - below)


def round2(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def expected_row(handoffs: Iterable[Handoff], now: datetime) -> dict[str, Any]:
    hs = list(handoffs)
    outcomes = [h.outcome for h in hs]
    blocked = ("blocked_negative_list", "blocked_forbidden_certificate", "blocked_unfunded")
    agreed = sum(h.agreed_fen for h in hs)
    transferred = sum(h.transferred_fen for h in hs)
    # a terminated handoff owes nothing more, whatever was agreed
    owed = sum(h.agreed_fen - h.transferred_fen for h in hs if h.outcome != "terminated")
    tasks = [t for h in hs for t in h.tasks]
    scores = [h.score for h in hs if h.score is not None]
    # work before money: a funded agreement whose work task opened before the transfer
    early = [
        h
        for h in hs
        if h.agreed_fen > 0
        and any(
            t.key == "work" and (h.transferred_at is None or t.opened < h.transferred_at)
            for t in h.tasks
        )
    ]
    hold: dict[str, float | None] = {}
    for role in HOLD_ROLES:
        per_handoff = [
            sum(t.held(now) for t in h.tasks if t.role == role)
            for h in hs
            if any(t.role == role for t in h.tasks)
        ]
        hold[role] = round2(sum(per_handoff) / 86400 / len(per_handoff)) if per_handoff else None
    stages = []
    for key in STAGE_ORDER:
        mine = [t for t in tasks if t.key == key]
        if not mine:
            continue
        done = [t.held(now) / 3600 for t in mine if t.status == "completed"]
        stages.append(
            {
                "key": key,
                "tasks": len(mine),
                "completed": len(done),
                "overdue": sum(t.late(now) for t in mine),
                "overdue_now": sum(t.status == "open" and t.late(now) for t in mine),
                "median_hours": round2(percentile(done, 0.5)),
                "p90_hours": round2(percentile(done, 0.9)),
            }
        )
    return {
        "requests": len({h.request.request_id for h in hs}),
        "instances": len(hs),
        "blocked": sum(o in blocked for o in outcomes),
        **{o: outcomes.count(o) for o in blocked},
        "rejected": outcomes.count("rejected"),
        "refused": outcomes.count("refused"),
        "completed": outcomes.count("completed"),
        "running": sum(h.status == "running" for h in hs),
        "cancelled": outcomes.count("cancelled"),
        "terminated": outcomes.count("terminated"),
        "error": 0,
        "agreed": yuan(agreed),
        "transferred": yuan(transferred),
        "outstanding": yuan(owed),
        "refunded": yuan(sum(h.refunded_fen for h in hs)),
        "kept": yuan(sum(h.kept_fen for h in hs)),
        "work_before_money": len(early),
        "overdue_now": sum(t.status == "open" and t.late(now) for t in tasks),
        "overdue_tasks": sum(t.late(now) for t in tasks),
        "evaluated": len(scores),
        "avg_score": round2(Decimal(sum(scores)) / len(scores)) if scores else None,
        "hold_days": hold,
        "stages": stages,
    }


def expected_emergency(emergencies: Iterable[Emergency], now: datetime) -> dict[str, int]:
    es = list(emergencies)
    filings = [t for e in es for t in e.tasks if t.key == "file_request"]
    return {
        "orders": len(es),
        "late_filings": sum(
            any(t.late(now) for t in e.tasks if t.key == "file_request") for e in es
        ),
        "open_filings": sum(t.status == "open" for t in filings),
        "filed": sum(t.status == "completed" for t in filings),
    }


def in_period(moment: datetime, start: date | None, end: date | None) -> bool:
    day = local_day(moment)
    return (start is None or day >= start) and (end is None or day < end)
