"""Burden-reduction reports (减负看板): did "权随责走、费随事转" happen, per department, street
office and community, for the requests created in a period.

Everything is a set-based SQL aggregate over the stored rows (requests, instances, the routing
parties, the inbox projection and the money ledger); no workflow state is deserialised. The
figures are computed at the finest grain (department, street, community) and rolled up in Python,
except what does not add up (distinct requests, percentiles), which is asked for per grouping.

Definitions (the report's "说明" sheet repeats them):

- period: requests created in [from, to), dates in Asia/Shanghai; either end may be open.
- instances: handoffs (one per request and community); requests: distinct requests among them.
- blocked_negative_list, blocked_forbidden_certificate, blocked_unfunded, rejected, refused,
  completed, cancelled, terminated: instances with that outcome (blocked: the three blocked
  outcomes; terminated: ended by 终止 after signing, `handoff.termination`); running: instances
  still running; error: instances in error.
- agreed / transferred / refunded / kept: sums of the ledger entries of that kind (integer fen;
  refunded and kept settle the money transferred to a terminated handoff);
  outstanding = agreed - transferred over the handoffs that were not terminated (a terminated
  handoff owes nothing more).
- work_before_money: handoffs whose agreement carries money and that got a `work` task while no
  transfer had been recorded yet (no `transferred` entry at or before the task's creation).
  费随事转 says this must be zero.
- overdue_now: open tasks past their due time, now.
- per stage (task key): tasks, completed, overdue = tasks that were ever overdue (completed after
  their due time, escalated, or open past their due time now), overdue_now, and the median and
  90th percentile of the time from creation to completion of completed tasks, in hours
  (linear interpolation between closest ranks, as PostgreSQL's percentile_cont).
- avg_score: mean of the `score` of completed `evaluation` tasks.
- hold_days: how long a party held a handoff: the time its tasks (role department,
  street_office or committee) were open - to completion, withdrawal or now - summed per handoff
  and averaged over the handoffs that reached that party, in days.

`cached_report` keeps a finished report for a minute while the data stays the same.
"""

from __future__ import annotations

import copy
import math
import threading
import time as time_module
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.orm import Session, aliased

from workflows import clock
from workflows.errors import Forbidden, Invalid
from workflows.models import AuditEvent, InstanceParty, OrgUnit, ProcessInstance, Task, UTCDateTime

from . import agreement_report, emergency
from .models import Agreement, HandoffInstance, LedgerEntry, Request
from .money import fen_to_yuan

SHANGHAI = ZoneInfo("Asia/Shanghai")
DISTRICT_ROLES = ("admin", "district_reviewer", "finance")
GROUPINGS = ("department", "street", "community")
GROUP_KIND = {"department": "department", "street": "street", "community": "community"}
HOLD_ROLES = ("department", "street_office", "committee")
STAGES = (
    "street_review",
    "revise",
    "district_review",
    "sign_committee",
    "consider_counter",
    "sign_department",
    "sign_street",
    "funding",
    "work",
    "funding_instalment",
    "acceptance",
    "funding_final",
    "evaluation",
)
OUTCOMES = (
    "blocked_negative_list",
    "blocked_forbidden_certificate",
    "blocked_unfunded",
    "rejected",
    "refused",
    "withdrawn",
    "completed",
    "cancelled",
    "terminated",
)
BLOCKED = ("blocked_negative_list", "blocked_forbidden_certificate", "blocked_unfunded")
STATUSES = ("running", "error")
# what a drill-down may ask for besides an outcome
FIGURES = (
    "instances",
    "blocked",
    "funded",
    "outstanding",
    "work_before_money",
    "overdue_now",
    "overdue",
    "evaluated",
)
COUNTS = (
    "instances",
    *OUTCOMES,
    *STATUSES,
    "work_before_money",
    "overdue_now",
    "overdue_tasks",
)
HOURS = Decimal("0.01")


# --- the question: period, filters, who asks --------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Requests created in [start, end), local dates in Asia/Shanghai; None is open."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self):
        if self.start and self.end and self.end <= self.start:
            raise Invalid(
                "empty period", {"to": "结束日期须晚于开始日期 'to' must be after 'from'"}
            )

    @staticmethod
    def _utc(day: date | None) -> datetime | None:
        """The instant the local day begins. 0001-01-01 begins (in Shanghai) before the first
        instant a datetime can hold: the first one stands for it, since nothing (no request
        created) lies between the two, so the period still means what the reader asked."""
        if day is None:
            return None
        try:
            return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)

    @property
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        return self._utc(self.start), self._utc(self.end)


@dataclass(frozen=True)
class Filters:
    """Org unit codes chosen by the reader (each narrows the rows; None is all)."""

    department: str | None = None
    street: str | None = None
    community: str | None = None


@dataclass(frozen=True)
class Scope:
    """What a reader may see: the whole district, or the union of their units' handoffs."""

    district: bool = False
    departments: frozenset[int] = frozenset()
    streets: frozenset[int] = frozenset()
    communities: frozenset[int] = frozenset()

    @property
    def own_units(self) -> frozenset[int]:
        return self.departments | self.streets | self.communities


def scope_of(actor: Any) -> Scope:
    """District-level roles see everything; a department its own requests, a street office its
    street's handoffs, a committee its community's. Anyone else may not read reports."""
    pairs = actor.pairs
    if any(role in DISTRICT_ROLES for role, _ in pairs):
        return Scope(district=True)
    units: dict[str, set[int]] = defaultdict(set)
    for role, unit in pairs:
        units[role].add(unit)
    scope = Scope(
        departments=frozenset(units["department"]),
        streets=frozenset(units["street_office"]),
        communities=frozenset(units["committee"]),
    )
    if not scope.own_units:
        raise Forbidden("reports need a district, department, street or committee membership")
    return scope


@dataclass(frozen=True)
class Units:
    """The org units by id (a small table: read whole)."""

    by_id: Mapping[int, tuple[str, str, str, int | None]]  # id -> (code, name, kind, parent)

    @classmethod
    def load(cls, session: Session) -> Units:
        rows = session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.parent_id)
        )
        return cls({r[0]: (r[1], r[2], r[3], r[4]) for r in rows})

    def id_of(self, code: str, kind: str) -> int | None:
        for unit_id, (c, _name, k, _parent) in self.by_id.items():
            if c == code and k == kind:
                return unit_id
        return None

    def of_kind(self, kind: str) -> list[int]:
        return sorted(
            (i for i, u in self.by_id.items() if u[2] == kind), key=lambda i: self.by_id[i][0]
        )

    def code(self, unit_id: int | None) -> str | None:
        return self.by_id[unit_id][0] if unit_id in self.by_id else None

    def name(self, unit_id: int | None) -> str:
        return self.by_id[unit_id][1] if unit_id in self.by_id else ""

    def parent(self, unit_id: int | None) -> int | None:
        return self.by_id[unit_id][3] if unit_id in self.by_id else None


@dataclass(frozen=True)
class Chosen:
    """The filters resolved to ids."""

    department: int | None = None
    street: int | None = None
    community: int | None = None


def resolve(units: Units, filters: Filters) -> Chosen:
    errors: dict[str, str] = {}
    ids: dict[str, int | None] = {}
    for name in GROUPINGS:
        code = getattr(filters, name)
        ids[name] = units.id_of(code, GROUP_KIND[name]) if code else None
        if code and ids[name] is None:
            errors[name] = f"未知的{_LABEL[name]} unknown {name}: {code}"
    if errors:
        raise Invalid("unknown org unit", errors)
    return Chosen(**ids)


_LABEL = {"department": "部门", "street": "街道", "community": "社区"}


# --- the base set: one row per handoff in the period, scope and filters -----------------------


def facts(scope: Scope, period: Period, chosen: Chosen):
    """A CTE of the handoffs asked about: instance, request, department, street, community."""
    street = aliased(InstanceParty)
    stmt = (
        select(
            ProcessInstance.id.label("instance_id"),
            HandoffInstance.request_id.label("request_id"),
            Request.department_id.label("department_id"),
            street.org_unit_id.label("street_id"),
            HandoffInstance.community_id.label("community_id"),
            ProcessInstance.status.label("status"),
            ProcessInstance.outcome.label("outcome"),
        )
        .join(HandoffInstance, HandoffInstance.instance_id == ProcessInstance.id)
        .join(Request, Request.id == HandoffInstance.request_id)
        .outerjoin(
            street, and_(street.instance_id == ProcessInstance.id, street.role == "street_office")
        )
    )
    start, end = period.bounds
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(Request.created_at >= start)
    if end is not None:
        conditions.append(Request.created_at < end)
    if chosen.department is not None:
        conditions.append(Request.department_id == chosen.department)
    if chosen.street is not None:
        conditions.append(street.org_unit_id == chosen.street)
    if chosen.community is not None:
        conditions.append(HandoffInstance.community_id == chosen.community)
    if not scope.district:
        mine = []
        if scope.departments:
            mine.append(Request.department_id.in_(sorted(scope.departments)))
        if scope.streets:
            mine.append(street.org_unit_id.in_(sorted(scope.streets)))
        if scope.communities:
            mine.append(HandoffInstance.community_id.in_(sorted(scope.communities)))
        conditions.append(or_(*mine) if mine else false())
    return stmt.where(*conditions).cte("facts")


def _seconds(session: Session, later, earlier):
    """Seconds between two datetime expressions, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        # double precision (date_part) sorts and sums much faster than extract()'s numeric
        return func.date_part("epoch", later) - func.date_part("epoch", earlier)
    # julianday() is a float of days: round to the millisecond so whole hours stay whole
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)


def _now_literal(now: datetime):
    return literal(now, UTCDateTime())


# --- the figures -----------------------------------------------------------------------------

Grain = tuple[int | None, int | None, int | None]  # department, street, community


@dataclass
class Row:
    """The figures of one group (or of all: the totals)."""

    unit_id: int | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    requests: int = 0
    agreed_fen: int = 0
    transferred_fen: int = 0
    refunded_fen: int = 0
    kept_fen: int = 0
    outstanding_fen: int = 0
    score_sum: int = 0
    score_count: int = 0
    hold: dict[str, list[float]] = field(
        default_factory=lambda: {r: [0.0, 0] for r in HOLD_ROLES}
    )  # role -> [seconds, handoffs]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, other: Row) -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.agreed_fen += other.agreed_fen
        self.transferred_fen += other.transferred_fen
        self.refunded_fen += other.refunded_fen
        self.kept_fen += other.kept_fen
        self.outstanding_fen += other.outstanding_fen
        self.score_sum += other.score_sum
        self.score_count += other.score_count
        for role, (seconds, n) in other.hold.items():
            self.hold[role][0] += seconds
            self.hold[role][1] += n
        for key, figures in other.stages.items():
            mine = self.stages.setdefault(key, _empty_stage())
            for name in ("tasks", "completed", "overdue", "overdue_now"):
                mine[name] += figures[name]


def _empty_stage() -> dict[str, Any]:
    return {
        "tasks": 0,
        "completed": 0,
        "overdue": 0,
        "overdue_now": 0,
        "median_hours": None,
        "p90_hours": None,
    }


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks of sorted values (percentile_cont)."""
    if not values:
        return None
    position = q * (len(values) - 1)
    lo, hi = math.floor(position), math.ceil(position)
    return values[lo] + (values[hi] - values[lo]) * (position - lo)


def _hours(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return float((Decimal(repr(float(seconds))) / 3600).quantize(HOURS, ROUND_HALF_UP))


def _days(seconds: float, n: int) -> float | None:
    if not n:
        return None
    return float((Decimal(repr(float(seconds))) / 86400 / n).quantize(HOURS, ROUND_HALF_UP))


def _grain(row) -> Grain:
    return (row.department_id, row.street_id, row.community_id)


def _by_grain(session: Session, f, now: datetime) -> dict[Grain, Row]:
    rows: dict[Grain, Row] = defaultdict(Row)
    g = (f.c.department_id, f.c.street_id, f.c.community_id)

    # instances by outcome and status
    outcome_cols = [func.count().filter(f.c.outcome == o).label(o) for o in OUTCOMES]
    status_cols = [func.count().filter(f.c.status == s).label(s) for s in STATUSES]
    for r in session.execute(
        select(*g, func.count().label("instances"), *outcome_cols, *status_cols).group_by(*g)
    ):
        counts = rows[_grain(r)].counts
        for name in ("instances", *OUTCOMES, *STATUSES):
            counts[name] = getattr(r, name)

    # money; a terminated handoff owes nothing more, whatever was agreed
    def total(kind: str):
        return func.coalesce(
            func.sum(case((LedgerEntry.kind == kind, LedgerEntry.amount_fen), else_=0)), 0
        )

    for r in session.execute(
        select(
            *g,
            *(total(kind).label(kind) for kind in ("agreed", "transferred", "refunded", "kept")),
            func.coalesce(func.sum(_owed(_not_terminated(f.c.outcome))), 0).label("outstanding"),
        )
        .select_from(LedgerEntry)
        .join(f, f.c.instance_id == LedgerEntry.instance_id)
        .group_by(*g)
    ):
        row = rows[_grain(r)]
        row.agreed_fen, row.transferred_fen = int(r.agreed), int(r.transferred)
        row.refunded_fen, row.kept_fen = int(r.refunded), int(r.kept)
        row.outstanding_fen = int(r.outstanding)

    # work before money
    for r in session.execute(
        select(*g, func.count(func.distinct(Task.instance_id)).label("n"))
        .select_from(Task)
        .join(f, f.c.instance_id == Task.instance_id)
        .where(Task.key == "work", _work_before_money(Task))
        .group_by(*g)
    ):
        rows[_grain(r)].counts["work_before_money"] = r.n

    # tasks per stage: counts, overdue ever and now
    now_ = _now_literal(now)
    overdue_now = and_(Task.status == "open", Task.due_at < now_)
    overdue_ever = and_(
        Task.due_at.is_not(None),
        or_(Task.completed_at > Task.due_at, Task.escalated_at.is_not(None), overdue_now),
    )
    for r in session.execute(
        select(
            *g,
            Task.key,
            func.count().label("tasks"),
            func.count().filter(Task.status == "completed").label("completed"),
            func.count().filter(overdue_ever).label("overdue"),
            func.count().filter(overdue_now).label("overdue_now"),
        )
        .select_from(Task)
        .join(f, f.c.instance_id == Task.instance_id)
        .group_by(*g, Task.key)
    ):
        row = rows[_grain(r)]
        stage = row.stages.setdefault(r.key, _empty_stage())
        for name in ("tasks", "completed", "overdue", "overdue_now"):
            stage[name] = getattr(r, name)
        row.counts["overdue_now"] += r.overdue_now
        row.counts["overdue_tasks"] += r.overdue

    # how long each party held the handoffs: per handoff and party first, then per grain
    held = _seconds(session, func.coalesce(Task.completed_at, now_), Task.created_at)
    per_handoff = (
        select(Task.instance_id, Task.role, func.sum(held).label("seconds"))
        .where(Task.role.in_(HOLD_ROLES))
        .group_by(Task.instance_id, Task.role)
        .subquery("per_handoff")
    )
    for r in session.execute(
        select(
            *g,
            per_handoff.c.role,
            func.sum(per_handoff.c.seconds).label("seconds"),
            func.count().label("n"),
        )
        .select_from(per_handoff)
        .join(f, f.c.instance_id == per_handoff.c.instance_id)
        .group_by(*g, per_handoff.c.role)
    ):
        rows[_grain(r)].hold[r.role] = [float(r.seconds or 0), r.n]

    # evaluation scores
    score = Task.data["score"].as_integer()
    for r in session.execute(
        select(*g, func.sum(score).label("total"), func.count(score).label("n"))
        .select_from(Task)
        .join(f, f.c.instance_id == Task.instance_id)
        .where(Task.key == "evaluation", Task.status == "completed")
        .group_by(*g)
    ):
        row = rows[_grain(r)]
        row.score_sum, row.score_count = int(r.total or 0), r.n
    return rows


def _not_terminated(outcome) -> ColumnElement[bool]:
    return or_(outcome.is_(None), outcome != "terminated")


def _owed(live: ColumnElement[bool]) -> Any:
    """A ledger entry's part in what is outstanding: + agreed, - transferred, while `live`
    (false once its handoff was terminated: nothing more is owed)."""
    return case(
        (and_(live, LedgerEntry.kind == "agreed"), LedgerEntry.amount_fen),
        (and_(live, LedgerEntry.kind == "transferred"), -LedgerEntry.amount_fen),
        else_=0,
    )


def _work_before_money(work: type[Task] | Any) -> ColumnElement[bool]:
    """For a `work` task row: its handoff's agreement carries money and no transfer had been
    recorded by the engine step that opened the task. Steps, not clock readings: the funding
    step records the transfer and opens the work in one transaction, at one step number."""
    funded = exists().where(Agreement.instance_id == work.instance_id, Agreement.amount_fen > 0)
    paid = exists().where(
        LedgerEntry.instance_id == work.instance_id,
        LedgerEntry.kind == "transferred",
        LedgerEntry.step <= work.opened_step,
    )
    return and_(funded, ~paid)


def _distinct_requests(session: Session, f) -> dict[str, dict[int | None, int]]:
    out: dict[str, dict[int | None, int]] = {}
    n = func.count(func.distinct(f.c.request_id))
    for name in GROUPINGS:
        col = f.c[f"{name}_id"]
        out[name] = {u: c for u, c in session.execute(select(col, n).group_by(col))}
    out["total"] = {None: session.scalar(select(n)) or 0}
    return out


def _durations(
    session: Session, f, by_group: bool
) -> dict[tuple[str, int | None, str], tuple[float, float]]:
    """(grouping, unit id, task key) -> (median, p90) seconds of the completed tasks; the
    grouping 'total' has unit id None. Per group only when `by_group` (one more sort of the
    completed tasks per grouping)."""
    done = Task.status == "completed"
    dims = (f.c.department_id, f.c.street_id, f.c.community_id)
    if session.get_bind().dialect.name == "postgresql":
        seconds = _seconds(session, Task.completed_at, Task.created_at)
        median = func.percentile_cont(0.5).within_group(seconds).label("median")
        p90 = func.percentile_cont(0.9).within_group(seconds).label("p90")
        base = select().select_from(Task).join(f, f.c.instance_id == Task.instance_id).where(done)
        if not by_group:
            stmt = base.add_columns(Task.key, median, p90).group_by(Task.key)
            return {("total", None, r.key): (r.median, r.p90) for r in session.execute(stmt)}
        stmt = base.add_columns(
            Task.key, *dims, func.grouping(*dims).label("g"), median, p90
        ).group_by(func.grouping_sets(tuple_(Task.key), *(tuple_(Task.key, d) for d in dims)))
        # grouping() sets a bit per dimension left out, the first dimension highest
        which = {7: ("total", None), 3: ("department", 0), 5: ("street", 1), 6: ("community", 2)}
        out = {}
        for r in session.execute(stmt):
            grouping, index = which[r.g]
            unit = None if index is None else r[1 + index]
            out[(grouping, unit, r.key)] = (r.median, r.p90)
        return out
    # SQLite has no percentile function: the two timestamps per task, sorted here.
    values: dict[tuple[str, int | None, str], list[float]] = defaultdict(list)
    columns = (Task.key, *dims) if by_group else (Task.key,)
    for r in session.execute(
        select(*columns, Task.created_at, Task.completed_at)
        .select_from(Task)
        .join(f, f.c.instance_id == Task.instance_id)
        .where(done)
    ):
        seconds = (r.completed_at - r.created_at).total_seconds()
        values[("total", None, r.key)].append(seconds)
        if by_group:
            values[("department", r.department_id, r.key)].append(seconds)
            values[("street", r.street_id, r.key)].append(seconds)
            values[("community", r.community_id, r.key)].append(seconds)
    out = {}
    for k, v in values.items():
        v.sort()
        out[k] = (percentile(v, 0.5), percentile(v, 0.9))
    return out


@dataclass
class Summary:
    period: Period
    filters: Filters
    scope: Scope
    generated_at: datetime
    totals: Row
    groups: dict[str, list[Row]]
    units: Units
    emergency: dict[str, int] = field(default_factory=dict)
    negotiation: dict[int, dict[str, int]] = field(default_factory=dict)
    instalments: dict[str, dict[str, int]] = field(default_factory=dict)


def summary(
    session: Session,
    actor: Any,
    period: Period = Period(),
    filters: Filters = Filters(),
    *,
    group_percentiles: bool = True,
) -> Summary:
    """Every figure, per department, street and community, and in total. Without
    `group_percentiles` the stage medians and p90s are computed for the totals only (the rows'
    stages keep their counts, with None durations): what the dashboard shows, at less cost."""
    scope = scope_of(actor)
    units = Units.load(session)
    chosen = resolve(units, filters)
    f = facts(scope, period, chosen)
    now = clock.now()
    if session.get_bind().dialect.name == "postgresql":
        # a handful of short aggregates: compiling them (JIT) costs more than it saves
        session.execute(text("SET LOCAL jit = off"))
    grains = _by_grain(session, f, now)
    requests = _distinct_requests(session, f)
    durations = _durations(session, f, group_percentiles)

    groups: dict[str, list[Row]] = {}
    for index, name in enumerate(GROUPINGS):
        rolled: dict[int | None, Row] = {}
        for grain, row in grains.items():
            unit = grain[index]
            rolled.setdefault(unit, Row(unit_id=unit)).add(row)
        wanted = _listed_units(units, scope, chosen, name, rolled)
        out = []
        for unit in wanted:
            row = rolled.get(unit) or Row(unit_id=unit)
            row.requests = requests[name].get(unit, 0)
            _finish_stages(row, durations, name, unit)
            out.append(row)
        groups[name] = out
    totals = Row()
    for row in grains.values():
        totals.add(row)
    totals.requests = requests["total"][None]
    _finish_stages(totals, durations, "total", None)
    emergency = _emergency(session, scope, period, chosen)
    return Summary(
        period,
        filters,
        scope,
        now,
        totals,
        groups,
        units,
        emergency,
        agreement_report.negotiation(session, f),
        agreement_report.by_instalment(session, f, now),
    )


def _emergency(session: Session, scope: Scope, period: Period, chosen: Chosen) -> dict[str, int]:
    """Emergency orders (临时性紧急事项) in the reader's scope and the chosen units."""
    visible = None
    if not scope.district:
        visible = {
            "department": scope.departments,
            "street_office": scope.streets,
            "committee": scope.communities,
        }
    required = {
        role: unit
        for role, unit in (
            ("department", chosen.department),
            ("street_office", chosen.street),
            ("committee", chosen.community),
        )
        if unit is not None
    }
    start, end = period.bounds
    return emergency.counts(session, visible, start, end, required)


def _listed_units(
    units: Units, scope: Scope, chosen: Chosen, name: str, rolled: Mapping[int | None, Row]
) -> list[int | None]:
    """The rows of a grouping: for district readers every unit of the kind (zeros included,
    so that units can be compared), else the units with data and the reader's own; always
    narrowed by the filters."""
    kind = GROUP_KIND[name]
    if scope.district:
        listed = set(units.of_kind(kind))
    else:
        listed = {u for u in rolled if u is not None}
        listed |= {u for u in scope.own_units if units.by_id.get(u, ("", "", ""))[2] == kind}
        if name == "street":
            listed |= {units.parent(c) for c in scope.communities}
    listed |= {u for u in rolled if u is not None}
    if chosen.department is not None and name == "department":
        listed &= {chosen.department}
    if chosen.street is not None and name == "street":
        listed &= {chosen.street}
    if chosen.street is not None and name == "community":
        listed = {u for u in listed if units.parent(u) == chosen.street}
    if chosen.community is not None and name == "community":
        listed &= {chosen.community}
    if chosen.community is not None and name == "street":
        listed &= {units.parent(chosen.community)}
    ordered: list[int | None] = sorted(listed, key=lambda u: units.code(u) or "")
    if None in rolled:  # handoffs without that unit: shown, never hidden from the totals
        ordered.append(None)
    return ordered


def _finish_stages(row: Row, durations, grouping: str, unit: int | None) -> None:
    for key, stage in row.stages.items():
        median, p90 = durations.get((grouping, unit, key), (None, None))
        stage["median_hours"], stage["p90_hours"] = _hours(median), _hours(p90)


# --- presentation without Flask: JSON-ready dicts --------------------------------------------


def avg_score(row: Row) -> float | None:
    if not row.score_count:
        return None
    value = Decimal(row.score_sum) / Decimal(row.score_count)
    return float(value.quantize(HOURS, ROUND_HALF_UP))


def row_dict(row: Row, units: Units | None = None) -> dict[str, Any]:
    c = row.counts
    out: dict[str, Any] = {}
    if units is not None:
        out["code"] = units.code(row.unit_id)
        out["name"] = units.name(row.unit_id) if row.unit_id is not None else "未指定 unassigned"
    out.update(
        {
            "requests": row.requests,
            "instances": c["instances"],
            "blocked": sum(c[o] for o in BLOCKED),
            "blocked_negative_list": c["blocked_negative_list"],
            "blocked_forbidden_certificate": c["blocked_forbidden_certificate"],
            "blocked_unfunded": c["blocked_unfunded"],
            "rejected": c["rejected"],
            "refused": c["refused"],
            "completed": c["completed"],
            "running": c["running"],
            "cancelled": c["cancelled"],
            "terminated": c["terminated"],
            "error": c["error"],
            "agreed": fen_to_yuan(row.agreed_fen),
            "transferred": fen_to_yuan(row.transferred_fen),
            "outstanding": fen_to_yuan(row.outstanding_fen),
            "refunded": fen_to_yuan(row.refunded_fen),
            "kept": fen_to_yuan(row.kept_fen),
            "work_before_money": c["work_before_money"],
            "overdue_now": c["overdue_now"],
            "overdue_tasks": c["overdue_tasks"],
            "evaluated": row.score_count,
            "avg_score": avg_score(row),
            "hold_days": {r: _days(*row.hold[r]) for r in HOLD_ROLES},
            "stages": [
                {"key": key, **row.stages[key]} for key in sorted(row.stages, key=_stage_order)
            ],
        }
    )
    return out


def _stage_order(key: str) -> tuple[int, str]:
    return (STAGES.index(key) if key in STAGES else len(STAGES), key)


def as_dict(report: Summary) -> dict[str, Any]:
    start, end = report.period.start, report.period.end
    return {
        "period": {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "timezone": "Asia/Shanghai",
        },
        "filters": {name: getattr(report.filters, name) for name in GROUPINGS},
        "scope": "district" if report.scope.district else "own",
        "generated_at": report.generated_at.astimezone(SHANGHAI).isoformat(),
        "totals": row_dict(report.totals),
        "emergency": report.emergency,
        "negotiation": agreement_report.negotiation_rows(report.negotiation, report.units),
        "instalments": agreement_report.instalment_rows(report.instalments),
        **{
            f"by_{name}": [row_dict(r, report.units) for r in report.groups[name]]
            for name in GROUPINGS
        },
    }


# --- a short-lived cache of whole reports ---------------------------------------------------

CACHE_SECONDS = 60  # 0 turns the cache off
CACHE_SIZE = 64
_cache: OrderedDict[tuple, tuple[float, dict[str, Any]]] = OrderedDict()
_cache_lock = threading.Lock()


def data_version(session: Session) -> tuple:
    """Changes whenever a figure may change: every state change writes an audit event, and
    task rows and money entries only grow (primary-key maxima and the open-task count: index
    lookups). A restored or truncated database resets ids: clear_cache() then."""
    return tuple(
        session.execute(
            select(
                select(func.max(AuditEvent.id)).scalar_subquery(),
                select(func.max(Task.id)).scalar_subquery(),
                select(func.max(LedgerEntry.id)).scalar_subquery(),
                select(func.count())
                .select_from(Task)
                .where(Task.status == "open")
                .scalar_subquery(),
            )
        ).one()
    )


def cached_report(
    session: Session,
    actor: Any,
    period: Period = Period(),
    filters: Filters = Filters(),
    *,
    group_percentiles: bool = True,
) -> dict[str, Any]:
    """`as_dict(summary(...))`, kept for CACHE_SECONDS while the data stays the same (same
    data version, same minute): reloading the dashboard or exporting what is on screen does not
    aggregate a million tasks again. Keyed by what the reader may see, not by who they are."""
    key = None
    if CACHE_SECONDS > 0:
        now = clock.now()
        key = (
            str(session.get_bind().url),
            scope_of(actor),
            period,
            filters,
            group_percentiles,
            data_version(session),
            now.replace(second=0, microsecond=0),
        )
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and time_module.monotonic() - hit[0] < CACHE_SECONDS:
                _cache.move_to_end(key)
                return copy.deepcopy(hit[1])
    report = as_dict(summary(session, actor, period, filters, group_percentiles=group_percentiles))
    if key is not None:
        with _cache_lock:
            _cache[key] = (time_module.monotonic(), copy.deepcopy(report))
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return report


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --- drill-down: the handoffs behind a number -------------------------------------------------


@dataclass(frozen=True)
class Drill:
    outcome: str | None = None  # an outcome, "running", "error" or "blocked"
    figure: str | None = None  # one of FIGURES
    key: str | None = None  # a task key, for the overdue figures


def drill_statement(
    session: Session,
    actor: Any,
    period: Period = Period(),
    filters: Filters = Filters(),
    drill: Drill = Drill(),
) -> tuple[Select, Units]:
    """The handoffs (instance ids, newest request first) behind one figure."""
    scope = scope_of(actor)
    units = Units.load(session)
    f = facts(scope, period, resolve(units, filters))
    stmt = select(f.c.instance_id).select_from(f)
    conditions: list[ColumnElement[bool]] = []
    outcome = drill.outcome
    if outcome == "blocked" or drill.figure == "blocked":
        conditions.append(f.c.outcome.in_(BLOCKED))
    elif outcome in STATUSES:
        conditions.append(f.c.status == outcome)
    elif outcome:
        conditions.append(f.c.outcome == outcome)
    now = _now_literal(clock.now())
    if drill.figure in ("funded", "outstanding"):
        money = select(LedgerEntry.instance_id).group_by(LedgerEntry.instance_id)
        if drill.figure == "funded":
            money = money.having(func.sum(case((LedgerEntry.kind == "agreed", 1), else_=0)) > 0)
        else:
            money = money.having(func.sum(_owed(true())) > 0)
            conditions.append(_not_terminated(f.c.outcome))
        conditions.append(f.c.instance_id.in_(money))
    elif drill.figure == "work_before_money":
        work = aliased(Task)
        conditions.append(
            exists().where(
                work.instance_id == f.c.instance_id, work.key == "work", _work_before_money(work)
            )
        )
    elif drill.figure in ("overdue_now", "overdue"):
        task = aliased(Task)
        late_now = and_(task.status == "open", task.due_at < now)
        late = (
            late_now
            if drill.figure == "overdue_now"
            else and_(
                task.due_at.is_not(None),
                or_(task.completed_at > task.due_at, task.escalated_at.is_not(None), late_now),
            )
        )
        conditions.append(
            exists().where(
                task.instance_id == f.c.instance_id,
                late,
                task.key == drill.key if drill.key else true(),
            )
        )
    elif drill.figure == "evaluated":
        task = aliased(Task)
        conditions.append(
            exists().where(
                task.instance_id == f.c.instance_id,
                task.key == "evaluation",
                task.status == "completed",
            )
        )
    elif drill.key:
        task = aliased(Task)
        conditions.append(
            exists().where(task.instance_id == f.c.instance_id, task.key == drill.key)
        )
    stmt = stmt.where(*conditions) if conditions else stmt
    return stmt, units


def drill_rows(
    session: Session, stmt: Select, units: Units, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the drill-down: the handoffs with their request, parties, state and money."""
    ids = stmt.subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    street = aliased(InstanceParty)
    rows = session.execute(
        select(
            ProcessInstance.id,
            HandoffInstance.community_id,
            ProcessInstance.status,
            ProcessInstance.outcome,
            ProcessInstance.completed_at,
            Request.id.label("request_id"),
            Request.number,
            Request.title,
            Request.item_code,
            Request.item_category,
            Request.department_id,
            Request.created_at,
            street.org_unit_id.label("street_id"),
        )
        .join(HandoffInstance, HandoffInstance.instance_id == ProcessInstance.id)
        .join(Request, Request.id == HandoffInstance.request_id)
        .outerjoin(
            street, and_(street.instance_id == ProcessInstance.id, street.role == "street_office")
        )
        .where(ProcessInstance.id.in_(select(ids.c.instance_id)))
        .order_by(Request.created_at.desc(), Request.id.desc(), ProcessInstance.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    instance_ids = [r.id for r in rows]
    money: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for instance_id, kind, amount in session.execute(
        select(LedgerEntry.instance_id, LedgerEntry.kind, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.instance_id.in_(instance_ids))
        .group_by(LedgerEntry.instance_id, LedgerEntry.kind)
    ):
        money[instance_id][kind] += int(amount)
    scores = dict(
        session.execute(
            select(Task.instance_id, Task.data["score"].as_integer()).where(
                Task.instance_id.in_(instance_ids),
                Task.key == "evaluation",
                Task.status == "completed",
            )
        ).all()
    )
    items = []
    for r in rows:
        agreed, transferred = money[r.id]["agreed"], money[r.id]["transferred"]
        owed = 0 if r.outcome == "terminated" else agreed - transferred
        items.append(
            {
                "instance_id": r.id,
                "request_id": r.request_id,
                "number": r.number,
                "title": r.title,
                "item_code": r.item_code,
                "item_category": r.item_category,
                "department": units.code(r.department_id),
                "department_name": units.name(r.department_id),
                "street": units.code(r.street_id),
                "street_name": units.name(r.street_id),
                "community": units.code(r.community_id),
                "community_name": units.name(r.community_id),
                "state": r.status,
                "outcome": r.outcome,
                "created_at": r.created_at,
                "completed_at": r.completed_at,
                "agreed": fen_to_yuan(agreed),
                "transferred": fen_to_yuan(transferred),
                "outstanding": fen_to_yuan(owed),
                "score": scores.get(r.id),
            }
        )
    return items, total


def unit_options(session: Session, actor: Any) -> dict[str, list[tuple[str, str]]]:
    """(code, name) of the departments and streets a reader may filter by."""
    scope = scope_of(actor)
    units = Units.load(session)
    departments = units.of_kind("department")
    streets = units.of_kind("street")
    if not scope.district:
        if scope.departments and not (scope.streets or scope.communities):
            departments = [u for u in departments if u in scope.departments]
        if (scope.streets or scope.communities) and not scope.departments:
            mine = set(scope.streets) | {units.parent(c) for c in scope.communities}
            streets = [u for u in streets if u in mine]
    return {
        "department": [(units.code(i), units.name(i)) for i in departments],
        "street": [(units.code(i), units.name(i)) for i in streets],
    }
