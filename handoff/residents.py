"""居民评议: the residents rate a handoff's work on a public page reached by a link and a QR code,
without an account; their mean is one part of the combined score (`handoff.scores`).

Opening: the committee of the handoff's community, once its work is reported and not once the
handoff was cancelled or terminated, for 1–30 days (default 7) and, if it likes, up to a number of
ratings; one survey per handoff. Closing: after the days or the number of ratings, whichever comes
first. Whether a survey is open is computed whenever it is read (`state`), so no worker is needed
for it; the closing rating records the closing by number in its own transaction, and the timer
worker's sweep (`record_closings`) records the closings by days in the audit trail.

Ballot stuffing: what each measure stops, and what it cannot.

- One rating per device and day. The page gives each browser a long-lived random device id in a
  signed, HttpOnly cookie; a rating stores HMAC(SECRET_KEY, survey, device id) with the day
  (Asia/Shanghai) under a unique constraint, so a reload, a second tab or two submissions at the
  same instant count once, and the next day the same device may rate again. It cannot stop anyone
  who clears the cookie or opens another browser: the measures below bound that.
- Per address: at most RESIDENT_RATINGS_PER_ADDRESS ratings (default 20: neighbours share their
  building's NAT address) per survey and day, counted with the survey row locked so that
  parallel posts are counted one after the other. Stops one machine or one home voting all day
  with fresh cookies; it cannot tell residents behind one carrier-grade NAT apart (raise the
  number), nor stop an attacker with many addresses (proxies, a botnet, reconnecting to mobile
  data).
- New devices per address: at most RESIDENT_NEW_DEVICES_PER_ADDRESS ratings (default 5) in 10
  minutes from devices whose cookie is younger than 10 minutes. A script that throws its cookie
  away after each vote is slowed to that rate; cookies collected in advance and left to age
  are not (each still counts against the address's day).
- Minimum time: the form carries a signed stamp of when it was loaded; a submission sooner than
  3 seconds after it, or without a valid stamp (forged, of another survey, older than 12 hours),
  is refused. Stops posts by a script that never loads the page or posts at once; a script that
  loads the page and waits is not stopped.
- The pages' CSRF token: a form posted from another site, or by a script without the page's
  session, counts for nothing.

No account, no device id and no address is stored, only their digests, keyed per survey so that
one device's ratings in two surveys cannot be linked.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows import audit, clock, inputs, queries
from workflows.db import Database
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.models import OrgUnit, ProcessInstance, Task, User
from workflows.service import Actor, lock_instance
from workflows.workdays import shanghai_date

from .models import HandoffInstance, Request
from .resident_models import ResidentRating, ResidentSurvey
from .termination import work_reported

DEFAULT_DAYS = 7
DAYS = (1, 30)
MAX_RATINGS = (1, 100_000)
SCORES = (1, 2, 3, 4, 5)
COMMENT_MAX = inputs.column_length(ResidentRating.comment)
MIN_SECONDS = timedelta(seconds=3)  # between loading the form and submitting it
FORM_LIFETIME = timedelta(hours=12)
FRESH = timedelta(minutes=10)  # a device cookie younger than this is a new device
RATINGS_PER_ADDRESS = 20  # RESIDENT_RATINGS_PER_ADDRESS
NEW_DEVICES_PER_ADDRESS = 5  # RESIDENT_NEW_DEVICES_PER_ADDRESS
COMMENTS_SHOWN = 200

NOT_COMMITTEE = (
    "只有本社区居委会可以发起居民评议 only the committee of the community opens a resident survey"
)
NOT_REPORTED = "社区尚未报告完成工作，不能发起居民评议 the work has not been reported yet"
ENDED = "委托已撤销或终止，不能发起居民评议 the handoff was cancelled or terminated"
EXISTS = "本委托已发起居民评议 this handoff has a resident survey already"


def setting(name: str, default: int) -> int:
    """A whole-number setting from the environment, at least 1 (read when used, so that a test
    or an operator may change it without a restart of the module)."""
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


# --- refusals -------------------------------------------------------------------------------


class OpeningRefused(Conflict):
    """The survey cannot be opened now: `reason` is not_reported, ended or exists."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class InputInvalid(Invalid):
    """Values refused (a survey's days, a rating's score): `fields` has the API's bilingual
    message of each field, `reasons` (field -> reason) what the pages word themselves."""

    def __init__(self, problems: dict[str, tuple[str, str]], params=None):
        super().__init__("输入有误 invalid input", {f: text for f, (_, text) in problems.items()})
        self.reasons = {f: reason for f, (reason, _) in problems.items()}
        self.params = dict(params or {})


class RatingRefused(Exception):
    """The rating does not count: `reason` is one of REFUSALS."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# reason -> the HTTP status of the page that says so
REFUSALS = {
    "closed": 409,
    "already_rated": 409,
    "no_device": 422,
    "stale_form": 422,
    "too_fast": 422,
    "address_limit": 429,
    "device_burst": 429,
}


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyState:
    survey: ResidentSurvey
    ratings: int
    closed_by: str | None  # None while open; days | count | ended

    @property
    def is_open(self) -> bool:
        return self.closed_by is None


@dataclass(frozen=True)
class Results:
    ratings: int
    mean: Decimal | None  # 1–5, one decimal place
    by_score: dict[int, int]
    comments: list[ResidentRating]


def survey_of(session: Session, instance_id: int) -> ResidentSurvey | None:
    return session.scalar(select(ResidentSurvey).where(ResidentSurvey.instance_id == instance_id))


def by_token(session: Session, token: str) -> ResidentSurvey | None:
    if not isinstance(token, str) or not 0 < len(token) <= 64 or not inputs.storable(token):
        return None
    return session.scalar(select(ResidentSurvey).where(ResidentSurvey.token == token))


def count(session: Session, survey_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ResidentRating)
        .where(ResidentRating.survey_id == survey_id)
    )


def _handoff_ended(session: Session, instance_id: int) -> bool:
    status, outcome = session.execute(
        select(ProcessInstance.status, ProcessInstance.outcome).where(
            ProcessInstance.id == instance_id
        )
    ).one()
    return status == "cancelled" or outcome == "terminated"


def state(session: Session, survey: ResidentSurvey, now: datetime | None = None) -> SurveyState:
    """Open or closed now, and how many residents have rated: the days or the number of ratings,
    whichever comes first (a handoff cancelled or terminated meanwhile closes it too)."""
    now = now or clock.now()
    ratings = count(session, survey.id)
    if survey.closed_by is not None:
        closed_by = survey.closed_by
    elif survey.max_ratings is not None and ratings >= survey.max_ratings:
        closed_by = "count"
    elif now >= survey.closes_at:
        closed_by = "days"
    elif _handoff_ended(session, survey.instance_id):
        closed_by = "ended"
    else:
        closed_by = None
    return SurveyState(survey, ratings, closed_by)


def mean_of(total: int, n: int) -> Decimal | None:
    """The mean of `n` ratings adding up to `total`, unrounded (None without ratings)."""
    return Decimal(total) / Decimal(n) if n else None


def one_place(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def totals(session: Session, survey_id: int) -> tuple[int, int]:
    """(number of ratings, their sum)."""
    n, total = session.execute(
        select(func.count(), func.coalesce(func.sum(ResidentRating.score), 0)).where(
            ResidentRating.survey_id == survey_id
        )
    ).one()
    return int(n), int(total)


def results(session: Session, survey: ResidentSurvey) -> Results:
    """What the residents said: how many, the mean, how many gave each score, and the comments
    (newest first, the latest COMMENTS_SHOWN)."""
    by_score = {score: 0 for score in SCORES}
    for score, n in session.execute(
        select(ResidentRating.score, func.count())
        .where(ResidentRating.survey_id == survey.id)
        .group_by(ResidentRating.score)
    ):
        by_score[int(score)] = int(n)
    n = sum(by_score.values())
    total = sum(score * k for score, k in by_score.items())
    comments = session.scalars(
        select(ResidentRating)
        .where(ResidentRating.survey_id == survey.id, ResidentRating.comment != "")
        .order_by(ResidentRating.created_at.desc(), ResidentRating.id.desc())
        .limit(COMMENTS_SHOWN)
    ).all()
    return Results(n, one_place(mean_of(total, n)), by_score, list(comments))


def public_view(session: Session, survey: ResidentSurvey) -> dict[str, Any]:
    """What the public page shows of the work: the request's title and item, the department,
    street and community, and what the committee reported (its text and completion date). No
    person is named: no officer, no account."""
    link = session.get(HandoffInstance, survey.instance_id)
    request = session.get(Request, link.request_id)
    community = session.get(OrgUnit, link.community_id)
    street = session.get(OrgUnit, community.parent_id) if community.parent_id else None
    work = session.scalar(
        select(Task.data)
        .where(
            Task.instance_id == survey.instance_id, Task.key == "work", Task.status == "completed"
        )
        .order_by(Task.completed_at.desc(), Task.id.desc())
        .limit(1)
    )
    work = work or {}
    return {
        "title": request.title,
        "item_name": request.item_name,
        "department": request.department.name,
        "community": community.name,
        "street": street.name if street is not None else "",
        "report": str(work.get("report") or ""),
        "completed_on": str(work.get("completed_on") or ""),
    }


# --- opening --------------------------------------------------------------------------------


def _whole(value: Any, lo: int, hi: int) -> int | None:
    """`value` as a whole number in lo..hi (an int, or the digits a page's form posts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 7:
            return None
        value = int(text)
    if isinstance(value, int) and lo <= value <= hi:
        return value
    return None


def clean_opening(days: Any, max_ratings: Any) -> tuple[int, int | None]:
    """(days, max_ratings) of a survey to open: days 1–30 (None or "": the default 7), the
    maximum number of ratings None ("": none) or 1–100000; Invalid naming the field."""
    problems: dict[str, tuple[str, str]] = {}
    if days is None or days == "":
        days = DEFAULT_DAYS
    chosen = _whole(days, *DAYS)
    if chosen is None:
        lo, hi = DAYS
        problems["days"] = ("days", f"应为 {lo}–{hi} 的整数 a whole number from {lo} to {hi}")
    most = None
    if max_ratings is not None and max_ratings != "":
        most = _whole(max_ratings, *MAX_RATINGS)
        if most is None:
            lo, hi = MAX_RATINGS
            problems["max_ratings"] = (
                "max_ratings",
                f"应为 {lo}–{hi} 的整数或不填 a whole number from {lo} to {hi}, or none",
            )
    if problems:
        raise InputInvalid(problems)
    return chosen, most


def is_committee(actor: Actor, instance: ProcessInstance) -> bool:
    """The actor is a member of the committee of the handoff's community."""
    community = (instance.scope or {}).get("committee")
    return community is not None and ("committee", community) in actor.pairs


def opening_refusal(session: Session, instance: ProcessInstance) -> OpeningRefused | None:
    """Why no survey may be opened for the handoff now (None: it may)."""
    if instance.status == "cancelled" or instance.outcome == "terminated":
        return OpeningRefused("ended", ENDED)
    if survey_of(session, instance.id) is not None:
        return OpeningRefused("exists", EXISTS)
    if not work_reported(session, instance.id):
        return OpeningRefused("not_reported", NOT_REPORTED)
    return None


def is_handoff(session: Session, instance_id: int) -> bool:
    return session.get(HandoffInstance, instance_id) is not None


def may_open(session: Session, actor: Actor, instance: ProcessInstance) -> bool:
    """Whether to offer the actor 发起居民评议 (opening checks it all again)."""
    return (
        is_handoff(session, instance.id)
        and is_committee(actor, instance)
        and opening_refusal(session, instance) is None
    )


def open_survey(
    db: Database, actor: Actor, instance_id: int, days: Any = None, max_ratings: Any = None
) -> int:
    """The committee opens the handoff's survey; returns its id. NotFound outside the actor's
    scope or for another process, Forbidden for anyone but the committee, OpeningRefused when not
    now, Invalid for the days or the maximum. Audited as `residents.opened`."""
    days, max_ratings = clean_opening(days, max_ratings)
    with db.write() as session:
        queries.instance_for(session, actor, instance_id)  # 404 outside the actor's scope
        instance = lock_instance(session, instance_id)  # one opening at a time per handoff
        if not is_handoff(session, instance_id):
            raise NotFound("not a handoff")
        if not is_committee(actor, instance):
            raise Forbidden(NOT_COMMITTEE)
        refusal = opening_refusal(session, instance)
        if refusal is not None:
            raise refusal
        now = clock.now()
        survey = ResidentSurvey(
            instance_id=instance_id,
            token=secrets.token_urlsafe(24),
            opened_by_id=actor.user_id,
            opened_at=now,
            days=days,
            closes_at=now + timedelta(days=days),
            max_ratings=max_ratings,
        )
        session.add(survey)
        try:
            session.flush()
        except IntegrityError:  # the instance lock makes this a second survey, not a race
            raise OpeningRefused("exists", EXISTS) from None
        audit.record(
            session,
            "residents.opened",
            actor_id=actor.user_id,
            instance_id=instance_id,
            business_key=instance.business_key,
            days=days,
            max_ratings=max_ratings,
            closes_at=survey.closes_at.isoformat(),
        )
        return survey.id


# --- rating ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """Who rates, as the public page knows them: the device id of their cookie (None: no cookie)
    and when it was issued, their address, and when their form was loaded (None: no valid
    stamp). The page checks the cookie's and the stamp's signatures; these are the facts."""

    device_id: str | None
    device_issued_at: datetime | None
    address: str
    loaded_at: datetime | None


def digest(secret: str, survey_id: int, kind: str, value: str) -> str:
    """HMAC-SHA256 of a device id or an address, keyed with the service's secret and salted with
    the survey: what is stored instead of the value."""
    message = f"{kind}|{survey_id}|{value}".encode("utf-8", "surrogatepass")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def clean_rating(score: Any, comment: Any) -> tuple[int, str]:
    """The score 1–5 (an int, or the digit a page posts) and the optional comment (at most 500
    characters, by the text rules of `workflows.inputs`), trimmed; InputInvalid naming the
    field."""
    problems: dict[str, tuple[str, str]] = {}
    params: dict[str, dict[str, int]] = {}
    value = _whole(score, SCORES[0], SCORES[-1])
    if value is None:
        problems["score"] = ("score", "请选择 1–5 分 choose a score from 1 to 5")
    comment = "" if comment is None else comment
    problem = inputs.text_problem(comment, COMMENT_MAX, required=False, multiline=True)
    if problem is not None:
        problems["comment"] = (problem.reason, problem.message)
        if problem.limit is not None:
            params["comment"] = {"limit": problem.limit}
    if problems:
        raise InputInvalid(problems, params)
    return value, comment.strip()


def rated_today(
    session: Session, survey: ResidentSurvey, device_id: str | None, secret: str, now=None
) -> bool:
    """This device has rated the survey today."""
    if device_id is None:
        return False
    day = shanghai_date(now or clock.now())
    device = digest(secret, survey.id, "device", device_id)
    return _rated(session, survey.id, device, day)


def _rated(session: Session, survey_id: int, device: str, day: date) -> bool:
    found = session.scalar(
        select(ResidentRating.id)
        .where(
            ResidentRating.survey_id == survey_id,
            ResidentRating.device_hash == device,
            ResidentRating.day == day,
        )
        .limit(1)
    )
    return found is not None


def _from_address(session: Session, survey_id: int, address: str, *conditions) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ResidentRating)
        .where(
            ResidentRating.survey_id == survey_id,
            ResidentRating.address_hash == address,
            *conditions,
        )
    )


def rate(
    db: Database, token: str, score: Any, comment: Any, client: Client, secret: str
) -> SurveyState:
    """A resident's rating of the survey named by `token`, in one transaction with the survey
    row locked (so the limits count parallel posts one after the other). InputInvalid for the
    values, NotFound for an unknown token, RatingRefused (see REFUSALS) when it does not count.
    The rating that reaches the maximum closes the survey (audited as `residents.closed`)."""
    score, comment = clean_rating(score, comment)
    with db.write() as session:
        found = by_token(session, token)
        if found is None:
            raise NotFound("no such survey")
        survey = session.scalar(
            select(ResidentSurvey)
            .where(ResidentSurvey.id == found.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        now = clock.now()
        if not state(session, survey, now).is_open:
            raise RatingRefused("closed")
        if client.device_id is None:
            raise RatingRefused("no_device")
        if client.loaded_at is None or now - client.loaded_at > FORM_LIFETIME:
            raise RatingRefused("stale_form")
        if now - client.loaded_at < MIN_SECONDS:
            raise RatingRefused("too_fast")
        day = shanghai_date(now)
        device = digest(secret, survey.id, "device", client.device_id)
        address = digest(secret, survey.id, "address", client.address or "-")
        if _rated(session, survey.id, device, day):
            raise RatingRefused("already_rated")
        per_day = ResidentRating.day == day
        if _from_address(session, survey.id, address, per_day) >= setting(
            "RESIDENT_RATINGS_PER_ADDRESS", RATINGS_PER_ADDRESS
        ):
            raise RatingRefused("address_limit")
        issued = client.device_issued_at
        fresh = issued is None or now - issued < FRESH
        recent = (ResidentRating.fresh_device.is_(True), ResidentRating.created_at > now - FRESH)
        if fresh and _from_address(session, survey.id, address, *recent) >= setting(
            "RESIDENT_NEW_DEVICES_PER_ADDRESS", NEW_DEVICES_PER_ADDRESS
        ):
            raise RatingRefused("device_burst")
        rating = ResidentRating(
            survey_id=survey.id,
            day=day,
            device_hash=device,
            address_hash=address,
            fresh_device=fresh,
            score=score,
            comment=comment,
            created_at=now,
        )
        try:
            with session.begin_nested():  # the constraint, should the lock ever be bypassed
                session.add(rating)
        except IntegrityError:
            raise RatingRefused("already_rated") from None
        after = state(session, survey, now)
        if after.closed_by == "count" and survey.closed_by is None:
            _record_closed(session, survey, "count", now, after.ratings)
        return after


# --- closing --------------------------------------------------------------------------------


def _record_closed(
    session: Session, survey: ResidentSurvey, closed_by: str, at: datetime, ratings: int
) -> None:
    survey.closed_at, survey.closed_by = at, closed_by
    business_key = session.scalar(
        select(ProcessInstance.business_key).where(ProcessInstance.id == survey.instance_id)
    )
    audit.record(
        session,
        "residents.closed",
        instance_id=survey.instance_id,
        business_key=business_key,
        closed_by=closed_by,
        ratings=ratings,
    )


def record_closings(db: Database, now: datetime | None = None, batch: int = 100) -> int:
    """The timer worker's sweep: record (audit event, `closed_at`) the surveys whose days are
    over. Whether a survey is open never waits for this: `state` computes it. Rows another
    worker is recording are skipped; returns how many were recorded."""
    now = now or clock.now()
    with db.write() as session:
        due = session.scalars(
            select(ResidentSurvey)
            .where(ResidentSurvey.closed_by.is_(None), ResidentSurvey.closes_at <= now)
            .order_by(ResidentSurvey.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()
        for survey in due:
            _record_closed(session, survey, "days", survey.closes_at, count(session, survey.id))
        return len(due)


def opener_name(session: Session, survey: ResidentSurvey) -> str | None:
    if survey.opened_by_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == survey.opened_by_id))
