"""The combined score of a handoff (综合评分, 0–100, one decimal place): the street office's
evaluation, the requesting department's score at acceptance and the residents' mean rating
(1–5, times 20), weighted per catalog category (default 30 / 10 / 60; admins set them).

A part that is not there is left out and the weights of the parts present are renormalised, so
the score is always a weighted mean of what exists, and the answer says which parts are missing:
the street office has not evaluated yet, the department gave no score (the acceptance form's
`score` is optional), no survey was opened, or fewer residents rated than RESIDENT_MIN_RATINGS
(default 10: a handful of ratings says little). While the survey is open the score is provisional.

The street office's and the department's scores are those of the latest completed `evaluation`
and `acceptance` task: the form data the task submitted, which is also what the instance's data
holds under the task's key (`Task.data` is read, as the reports do, rather than loading the
engine state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import audit, clock
from workflows.errors import NotFound
from workflows.models import Task

from . import residents
from .models import HandoffInstance, Request
from .resident_models import EvaluationWeights

PARTS = ("street", "department", "residents")
DEFAULT = {"street": 30, "department": 10, "residents": 60}
# the categories whose handoffs can reach the work (negative items and forbidden certificates
# are blocked at once)
CATEGORIES = ("assisted", "self_governance", "certificate_allowed", "unlisted")
MIN_RATINGS = 10  # RESIDENT_MIN_RATINGS
SOURCE_TASKS = {"street": "evaluation", "department": "acceptance"}

NOTES = {
    "street": "街道尚未评价，未计入 the street office has not evaluated yet: left out",
    "department": "部门验收未评分，未计入 the department gave no score at acceptance: left out",
    "no_survey": "未发起居民评议，未计入 no resident survey was opened: left out",
}


def min_ratings() -> int:
    """How many residents must rate for their part to count (RESIDENT_MIN_RATINGS)."""
    return residents.setting("RESIDENT_MIN_RATINGS", MIN_RATINGS)


# --- weights --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    category: str
    street: int
    department: int
    residents: int
    default: bool  # no row: the defaults

    def of(self, part: str) -> int:
        return getattr(self, part)


def weights_for(session: Session, category: str) -> Weights:
    row = session.get(EvaluationWeights, category)
    if row is None:
        return Weights(category, **DEFAULT, default=True)
    return Weights(category, row.street, row.department, row.residents, default=False)


def all_weights(session: Session) -> list[Weights]:
    return [weights_for(session, category) for category in CATEGORIES]


def _percent(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None
    return value if isinstance(value, int) and 0 <= value <= 100 else None


def set_weights(
    session: Session, category: str, values: dict[str, Any], *, actor_id: int | None
) -> Weights:
    """An admin sets the weights of a category: street, department and residents, whole percents
    adding up to 100 (ints, or the digits a page posts). NotFound for another category;
    InputInvalid naming the fields. Audited as `evaluation.weights_set`."""
    if category not in CATEGORIES:
        raise NotFound("no such category")
    problems: dict[str, tuple[str, str]] = {}
    chosen: dict[str, int] = {}
    for part in PARTS:
        value = _percent(values.get(part))
        if value is None:
            problems[part] = ("percent", "应为 0–100 的整数 a whole number from 0 to 100")
        else:
            chosen[part] = value
    unknown = sorted(set(values) - set(PARTS))
    for key in unknown:
        problems[str(key)] = ("unknown_field", "未知字段 unknown field")
    if not problems and sum(chosen.values()) != 100:
        message = (
            f"三项权重之和须为 100，现为 {sum(chosen.values())} "
            f"the weights must add up to 100, not {sum(chosen.values())}"
        )
        problems = {part: ("sum", message) for part in PARTS}
    if problems:
        raise residents.InputInvalid(problems)
    row = session.get(EvaluationWeights, category)
    if row is None:
        row = EvaluationWeights(category=category, **chosen)
        session.add(row)
    else:
        for part, value in chosen.items():
            setattr(row, part, value)
    row.updated_at, row.updated_by_id = clock.now(), actor_id
    session.flush()
    audit.record(session, "evaluation.weights_set", actor_id=actor_id, category=category, **chosen)
    return weights_for(session, category)


# --- the combined score ---------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    key: str  # street | department | residents
    weight: int  # the category's, in percent
    score: Decimal | None  # 0–100, one decimal place (None: not there)
    status: str  # counted | missing | no_survey | too_few
    share: Decimal | None  # its weight after renormalisation, percent, one place

    @property
    def counted(self) -> bool:
        return self.status == "counted"


@dataclass(frozen=True)
class Score:
    value: Decimal | None  # None: no part with a weight is there
    category: str
    weights: Weights
    parts: list[Part]
    residents_count: int
    residents_minimum: int
    residents_mean: Decimal | None  # 1–5, one place
    survey: str | None  # open | closed | None (no survey)
    provisional: bool  # the survey is still open

    @property
    def missing(self) -> list[str]:
        return [p.key for p in self.parts if not p.counted]

    @property
    def renormalised(self) -> bool:
        return self.value is not None and bool(self.missing)

    def notes(self) -> list[str]:
        """The API's bilingual words for what is left out, and why."""
        out = []
        for part in self.parts:
            if part.status == "too_few":
                n = self.residents_minimum
                out.append(f"居民评议不足 {n} 人，未计入 fewer than {n} residents rated: left out")
            elif part.status == "no_survey":
                out.append(NOTES["no_survey"])
            elif part.status == "missing":
                out.append(NOTES[part.key])
        if self.renormalised:
            out.append("权重按已有部分重新折算 the weights are renormalised over the parts present")
        if self.provisional:
            out.append("居民评议进行中，评分为暂计 the resident survey is still open: provisional")
        return out


def _task_score(session: Session, instance_id: int, key: str) -> int | None:
    """The score of the latest completed task `key` of the instance (None: none, or no score)."""
    data = session.scalar(
        select(Task.data)
        .where(Task.instance_id == instance_id, Task.key == key, Task.status == "completed")
        .order_by(Task.completed_at.desc(), Task.id.desc())
        .limit(1)
    )
    value = (data or {}).get("score")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        return None
    return value


def combined(session: Session, instance_id: int, now: datetime | None = None) -> Score:
    """The handoff's combined score now, with its parts (NotFound for another process)."""
    link = session.get(HandoffInstance, instance_id)
    if link is None:
        raise NotFound("not a handoff")
    category = session.scalar(select(Request.item_category).where(Request.id == link.request_id))
    weights = weights_for(session, category)
    raw: dict[str, Decimal | None] = {}
    status: dict[str, str] = {}
    for part, key in SOURCE_TASKS.items():
        value = _task_score(session, instance_id, key)
        raw[part] = Decimal(value) if value is not None else None
        status[part] = "counted" if value is not None else "missing"
    survey = residents.survey_of(session, instance_id)
    minimum, n, mean, survey_state = min_ratings(), 0, None, None
    if survey is None:
        raw["residents"], status["residents"] = None, "no_survey"
    else:
        current = residents.state(session, survey, now)
        survey_state = "open" if current.is_open else "closed"
        n, total = residents.totals(session, survey.id)
        mean = residents.mean_of(total, n)
        if n >= minimum:
            raw["residents"], status["residents"] = mean * 20, "counted"
        else:
            raw["residents"], status["residents"] = None, "too_few"
    present = [p for p in PARTS if status[p] == "counted"]
    total_weight = sum(weights.of(p) for p in present)
    value = None
    if total_weight:
        weighted = sum((raw[p] * weights.of(p) for p in present), Decimal(0))
        value = residents.one_place(weighted / total_weight)
    parts = [
        Part(
            key=p,
            weight=weights.of(p),
            score=residents.one_place(raw[p]),
            status=status[p],
            share=(
                residents.one_place(Decimal(weights.of(p) * 100) / total_weight)
                if p in present and total_weight
                else None
            ),
        )
        for p in PARTS
    ]
    return Score(
        value=value,
        category=category,
        weights=weights,
        parts=parts,
        residents_count=n,
        residents_minimum=minimum,
        residents_mean=residents.one_place(mean),
        survey=survey_state,
        provisional=survey_state == "open",
    )
