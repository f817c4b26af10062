"""Burden-reduction reports (减负看板) on a known history built through the service layer, on
SQLite and PostgreSQL: every figure exactly (money to the fen, percentiles, hold times), the
access scoping, the drill-down, the CSV and Excel exports, and the dashboard page.

The history (dates in Asia/Shanghai; the period asked about is [2026-03-01, 2026-05-01)):

    R0  区民政局  N01 negative, 5000.00  瑞光社区            2026-02-28 23:59:59, outside the period
    R1  区民政局  N01 negative, 5000.00  瑞光社区            blocked_negative_list
    R2  区人社局  A01 assisted, 0        中兴社区, 海明社区    blocked_unfunded x2 (two streets)
    R3  区民政局  A01 1000.00            瑞光社区            street review 2 h, rejected
    R4  区民政局  A01 3000.00            新兴社区 (海明)      review 4 h, refused after 5 h
    R5  区民政局  A01 1234.56            瑞光社区            completed, score 90
    R6  区人社局  A02 5000.01            中兴社区            completed, paid 20 days late, score 75
    R9  区民政局  A01 100.00             铁东社区            cancelled after 1 h
    R8  区人社局  A03 2000.00            新华社区            signed, funding open (then overdue)
    R7  区民政局  A01 800.00             海明社区            street review open, overdue, escalated
    R10 区民政局  C12 certificate_forbidden, 0  新立社区  blocked_forbidden_certificate
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from handoff import reports
from handoff import requests as handoff
from handoff.models import HandoffInstance
from server import create_app
from workflows import clock, service
from workflows.errors import Forbidden, Invalid
from workflows.models import ProcessInstance, Task
from workflows.workdays import SHANGHAI

from .test_web_pages import Browser, signed_in, text

PASSWORD = "demo-pass-2026"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
PERIOD = reports.Period(date(2026, 3, 1), date(2026, 5, 1))
DEPARTMENT_USER = {"TB-D-MZ": "dept.mz", "TB-D-RS": "dept.rs"}


# --- building the history -------------------------------------------------------------------


def _users(community: str, department: str) -> dict[str, str]:
    street = community.rsplit("-", 1)[0].split("-", 1)[1].lower()  # TB-RG-01 -> rg
    committee = "committee." + community.split("-", 1)[1].replace("-", "").lower()
    dept = DEPARTMENT_USER[department]
    return {
        "street_review": f"street.{street}",
        "sign_department": dept,
        "sign_committee": committee,
        "sign_street": f"street.{street}",
        "funding": "finance",
        "work": committee,
        "acceptance": dept,
        "evaluation": f"street.{street}",
    }


class History:
    def __init__(self, db, actor):
        self.db, self.actor = db, actor
        self.instances: dict[str, list[int]] = {}

    def request(self, name, department, item, amount, communities) -> list[int]:
        payload = handoff.RequestInput(
            title=f"{name} 委托",
            item_code=item,
            description="测试",
            community_codes=list(communities),
            amount=amount,
            due_date="2099-12-31",
        )
        request_id = handoff.create_request(
            self.db, self.actor(DEPARTMENT_USER[department]), payload
        )
        with self.db.read() as s:
            ids = list(
                s.scalars(
                    select(HandoffInstance.instance_id)
                    .where(HandoffInstance.request_id == request_id)
                    .order_by(HandoffInstance.instance_id)
                )
            )
        self.instances[name] = ids
        return ids

    def step(self, name, key, hours, data=None, community=None, department=None):
        """Advance the clock `hours`, then complete the open task `key` of handoff `name`."""
        (instance_id,) = self.instances[name]
        clock.advance(timedelta(hours=hours))
        with self.db.read() as s:
            row = s.scalar(
                select(Task).where(
                    Task.instance_id == instance_id, Task.key == key, Task.status == "open"
                )
            )
            instance = s.get(ProcessInstance, instance_id)
            amount = f"{instance.title}"  # loaded while the session is open
        assert row is not None, (name, key)
        del amount
        who = _users(community, department)[key]
        if data is None:
            data = self.happy(key, instance_id)
        return service.complete_task(self.db, row.id, self.actor(who), data)

    def happy(self, key, instance_id) -> dict[str, Any]:
        today = handoff.today().isoformat()
        if key == "funding":
            with self.db.read() as s:
                from handoff.models import Agreement

                agreed = s.scalar(
                    select(Agreement.amount_fen).where(Agreement.instance_id == instance_id)
                )
            return {
                "amount": f"{agreed // 100}.{agreed % 100:02d}",
                "voucher_no": f"PZ-{instance_id}",
                "transferred_on": today,
            }
        return {
            "street_review": {"decision": "approve"},
            "sign_department": {"decision": "sign"},
            "sign_committee": {"decision": "sign"},
            "sign_street": {"decision": "sign"},
            "work": {"report": "已完成", "completed_on": today},
            "acceptance": {"decision": "accept"},
        }[key]


def build(db, actor) -> History:
    h = History(db, actor)
    clock.freeze(datetime(2026, 2, 28, 23, 59, 59, tzinfo=SHANGHAI))
    h.request("R0", "TB-D-MZ", "N01", "5000.00", ["TB-RG-01"])
    clock.freeze(T0)
    h.request("R1", "TB-D-MZ", "N01", "5000.00", ["TB-RG-01"])
    h.request("R2", "TB-D-RS", "A01", "0", ["TB-RG-02", "TB-HM-01"])
    h.request("R10", "TB-D-MZ", "C12", "0", ["TB-XL-01"])  # 无犯罪记录证明

    h.request("R3", "TB-D-MZ", "A01", "1000.00", ["TB-RG-01"])
    rg01 = {"community": "TB-RG-01", "department": "TB-D-MZ"}
    h.step("R3", "street_review", 2, {"decision": "reject", "comment": "不属于准入事项"}, **rg01)

    h.request("R4", "TB-D-MZ", "A01", "3000.00", ["TB-HM-02"])
    hm02 = {"community": "TB-HM-02", "department": "TB-D-MZ"}
    h.step("R4", "street_review", 4, **hm02)
    h.step("R4", "sign_committee", 5, {"decision": "refuse", "comment": "未经准入"}, **hm02)

    h.request("R5", "TB-D-MZ", "A01", "1234.56", ["TB-RG-01"])
    for key, hours in [
        ("street_review", 1),
        # the committee signs first (3 h), then the department (1 h) and the street (2 h)
        ("sign_committee", 3),
        ("sign_department", 1),
        ("sign_street", 1),
        ("funding", 24),
        ("work", 72),
        ("acceptance", 5),
    ]:
        h.step("R5", key, hours, **rg01)
    h.step("R5", "evaluation", 10, {"score": 90, "comment": "好"}, **rg01)

    h.request("R6", "TB-D-RS", "A02", "5000.01", ["TB-RG-02"])
    rg02 = {"community": "TB-RG-02", "department": "TB-D-RS"}
    for key, hours in [
        ("street_review", 3),
        ("sign_committee", 6),
        ("sign_department", 2),
        ("sign_street", 2),
        ("funding", 480),  # 20 days: past its 10 working days, never escalated (no timer run)
        ("work", 120),
        ("acceptance", 7),
    ]:
        h.step("R6", key, hours, **rg02)
    h.step("R6", "evaluation", 20, {"score": 75, "comment": "一般"}, **rg02)

    (r9,) = h.request("R9", "TB-D-MZ", "A01", "100.00", ["TB-TD-01"])
    clock.advance(timedelta(hours=1))
    service.cancel_instance(db, r9, actor("dept.mz"), "重复")

    h.request("R8", "TB-D-RS", "A03", "2000.00", ["TB-XH-01"])
    xh01 = {"community": "TB-XH-01", "department": "TB-D-RS"}
    for key, hours in [
        ("street_review", 1),
        ("sign_committee", 3),
        ("sign_department", 1),
        ("sign_street", 1),
    ]:
        h.step("R8", key, hours, **xh01)

    h.request("R7", "TB-D-MZ", "A01", "800.00", ["TB-HM-01"])
    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) == 2  # R7's street review and R8's funding
    return h


def summary(db, actor, who="reviewer", period=PERIOD, **filters) -> dict[str, Any]:
    with db.read() as s:
        return reports.as_dict(reports.summary(s, actor(who), period, reports.Filters(**filters)))


def by_code(rows) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in rows}


def stages(row) -> dict[str, tuple]:
    return {
        s["key"]: (
            s["tasks"],
            s["completed"],
            s["overdue"],
            s["overdue_now"],
            s["median_hours"],
            s["p90_hours"],
        )
        for s in row["stages"]
    }


def counts(row) -> dict[str, Any]:
    keys = (
        "requests",
        "instances",
        "blocked",
        "blocked_negative_list",
        "blocked_forbidden_certificate",
        "blocked_unfunded",
        "rejected",
        "refused",
        "completed",
        "running",
        "cancelled",
        "error",
        "agreed",
        "transferred",
        "outstanding",
        "work_before_money",
        "overdue_now",
        "overdue_tasks",
        "evaluated",
        "avg_score",
    )
    return {k: row[k] for k in keys}


def figures(requests, instances, **kw) -> dict[str, Any]:
    out = {
        "requests": requests,
        "instances": instances,
        "blocked": sum(
            kw.get(k, 0)
            for k in ("blocked_negative_list", "blocked_forbidden_certificate", "blocked_unfunded")
        ),
        "blocked_negative_list": 0,
        "blocked_forbidden_certificate": 0,
        "blocked_unfunded": 0,
        "rejected": 0,
        "refused": 0,
        "completed": 0,
        "running": 0,
        "cancelled": 0,
        "error": 0,
        "agreed": "0.00",
        "transferred": "0.00",
        "outstanding": "0.00",
        "work_before_money": 0,
        "overdue_now": 0,
        "overdue_tasks": 0,
        "evaluated": 0,
        "avg_score": None,
    }
    out.update(kw)
    return out


TOTALS = figures(
    10,
    11,
    blocked_negative_list=1,
    blocked_forbidden_certificate=1,
    blocked_unfunded=2,
    rejected=1,
    refused=1,
    completed=2,
    running=2,
    cancelled=1,
    agreed="8234.57",
    transferred="6234.57",
    outstanding="2000.00",
    overdue_now=2,
    overdue_tasks=3,
    evaluated=2,
    avg_score=82.5,
)
MZ = figures(
    7,
    7,
    blocked_negative_list=1,
    blocked_forbidden_certificate=1,
    rejected=1,
    refused=1,
    completed=1,
    running=1,
    cancelled=1,
    agreed="1234.56",
    transferred="1234.56",
    overdue_now=1,
    overdue_tasks=1,
    evaluated=1,
    avg_score=90.0,
)
RS = figures(
    3,
    4,
    blocked_unfunded=2,
    completed=1,
    running=1,
    agreed="7000.01",
    transferred="5000.01",
    outstanding="2000.00",
    overdue_now=1,
    overdue_tasks=2,
    evaluated=1,
    avg_score=75.0,
)
RG = figures(
    5,
    5,
    blocked_negative_list=1,
    blocked_unfunded=1,
    rejected=1,
    completed=2,
    agreed="6234.57",
    transferred="6234.57",
    overdue_tasks=1,
    evaluated=2,
    avg_score=82.5,
)
HM = figures(3, 3, blocked_unfunded=1, refused=1, running=1, overdue_now=1, overdue_tasks=1)
XH = figures(
    1, 1, running=1, agreed="2000.00", outstanding="2000.00", overdue_now=1, overdue_tasks=1
)
TD = figures(1, 1, cancelled=1)
XL = figures(1, 1, blocked_forbidden_certificate=1)
# (tasks, completed, ever overdue, overdue now, median hours, p90 hours), whole district
STAGES = {
    # completed reviews took 2 (R3), 4 (R4), 1 (R5), 3 (R6), 1 (R8) hours; R7's is open and
    # escalated, R9's was withdrawn by the cancellation
    "street_review": (7, 5, 1, 1, 2.0, 3.6),
    # R4's department and street signatures were withdrawn when the committee refused
    "sign_department": (3, 3, 0, 0, 1.0, 1.8),  # R4 was refused before they signed
    "sign_street": (3, 3, 0, 0, 2.0, 3.6),
    "sign_committee": (4, 4, 0, 0, 4.0, 5.7),
    "funding": (3, 2, 2, 1, 252.0, 434.4),
    "work": (2, 2, 0, 0, 96.0, 115.2),
    "acceptance": (2, 2, 0, 0, 6.0, 6.8),
    "evaluation": (2, 2, 0, 0, 15.0, 19.0),
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    reports.clear_cache()
    yield
    reports.clear_cache()


@pytest.fixture
def history(db, actor):
    return build(db, actor)


# --- the figures ----------------------------------------------------------------------------


def test_every_figure_for_the_district(db, actor, history):
    report = summary(db, actor)
    assert report["period"] == {
        "from": "2026-03-01",
        "to": "2026-05-01",
        "timezone": "Asia/Shanghai",
    }
    assert report["scope"] == "district"
    assert counts(report["totals"]) == TOTALS
    assert stages(report["totals"]) == STAGES

    departments = by_code(report["by_department"])
    assert len(departments) == 9  # every department, zeros included, for comparison
    assert counts(departments["TB-D-MZ"]) == MZ
    assert counts(departments["TB-D-RS"]) == RS
    assert departments["TB-D-MZ"]["name"] == "区民政局"
    for code, row in departments.items():
        if code not in ("TB-D-MZ", "TB-D-RS"):
            assert counts(row) == figures(0, 0), code

    streets = by_code(report["by_street"])
    assert list(streets) == sorted(streets) and len(streets) == 7
    assert counts(streets["TB-RG"]) == RG
    assert counts(streets["TB-HM"]) == HM
    assert counts(streets["TB-XH"]) == XH
    assert counts(streets["TB-TD"]) == TD
    assert counts(streets["TB-XL"]) == XL
    assert counts(streets["TB-MR"]) == figures(0, 0)

    communities = by_code(report["by_community"])
    assert len(communities) == 39
    assert {c: r["instances"] for c, r in communities.items() if r["instances"]} == {
        "TB-RG-01": 3,
        "TB-RG-02": 2,
        "TB-HM-01": 2,
        "TB-HM-02": 1,
        "TB-XH-01": 1,
        "TB-TD-01": 1,
        "TB-XL-01": 1,
    }
    assert counts(communities["TB-RG-02"]) == figures(
        2,
        2,
        blocked_unfunded=1,
        completed=1,
        agreed="5000.01",
        transferred="5000.01",
        overdue_tasks=1,
        evaluated=1,
        avg_score=75.0,
    )
    # the rows add up to the totals (requests excepted: R2 spans two streets)
    for grouping in ("by_department", "by_street", "by_community"):
        assert sum(r["instances"] for r in report[grouping]) == 11
        assert sum(r["completed"] for r in report[grouping]) == 2
        assert sum(r["blocked_forbidden_certificate"] for r in report[grouping]) == 1
    assert sum(r["requests"] for r in report["by_street"]) == 11  # R2 in RG and HM
    assert sum(r["requests"] for r in report["by_department"]) == 10


def test_stage_durations_per_group(db, actor, history):
    report = summary(db, actor)
    streets = by_code(report["by_street"])
    # RG reviews: R3 2 h, R5 1 h, R6 3 h -> [1, 2, 3]
    assert stages(streets["TB-RG"])["street_review"] == (3, 3, 0, 0, 2.0, 2.8)
    assert stages(streets["TB-HM"])["street_review"] == (2, 1, 1, 1, 4.0, 4.0)
    assert stages(streets["TB-RG"])["funding"] == (2, 2, 1, 0, 252.0, 434.4)
    assert stages(streets["TB-XH"])["funding"] == (1, 0, 1, 1, None, None)
    assert stages(streets["TB-MR"]) == {}
    departments = by_code(report["by_department"])
    # MZ committee signatures: R4 5 h, R5 1+1+1 = 3 h
    assert stages(departments["TB-D-MZ"])["sign_committee"] == (2, 2, 0, 0, 4.0, 4.8)
    assert stages(departments["TB-D-RS"])["sign_committee"] == (2, 2, 0, 0, 4.5, 5.7)
    communities = by_code(report["by_community"])
    assert stages(communities["TB-RG-01"])["work"] == (1, 1, 0, 0, 72.0, 72.0)
    assert stages(communities["TB-RG-02"])["work"] == (1, 1, 0, 0, 120.0, 120.0)


def test_group_percentiles_can_be_left_out(db, actor, history):
    with db.read() as s:
        report = reports.as_dict(
            reports.summary(s, actor("reviewer"), PERIOD, group_percentiles=False)
        )
    assert stages(report["totals"]) == STAGES
    rg = stages(by_code(report["by_street"])["TB-RG"])["street_review"]
    assert rg == (3, 3, 0, 0, None, None)  # counts kept, durations for the totals only


def test_hold_days_per_party(db, actor, history):
    report = summary(db, actor)
    streets = by_code(report["by_street"])
    hold = {code: row["hold_days"]["street_office"] for code, row in streets.items()}
    # HM: R4 review 4 h (refused by the committee before the street was asked to sign); R7's
    # review open for 40 days -> (4 h + 960 h) / 2 handoffs = 482 h = 20.083 days
    # RG: R3 2 h; R5 1 + 2 + 10 h; R6 3 + 4 + 20 h -> 42 h / 3 = 14 h
    # XH: R8 1 + 2 h; TD: R9's review withdrawn after 1 h
    assert hold == {
        "TB-HM": 20.08,
        "TB-RG": 0.58,
        "TB-XH": 0.13,
        "TB-TD": 0.04,
        "TB-MR": None,
        "TB-CQ": None,
        "TB-XL": None,
    }
    departments = by_code(report["by_department"])
    # MZ: R5 1 h + acceptance 5 h -> 6 h / 1 (R4 was refused before the department signed)
    # RS: R6 2 + 7 h; R8 1 h -> 10 h / 2
    assert departments["TB-D-MZ"]["hold_days"]["department"] == 0.25
    assert departments["TB-D-RS"]["hold_days"]["department"] == 0.21
    communities = by_code(report["by_community"])
    # RG-01: R5 signature 3 h + work 72 h; RG-02: R6 6 h + 120 h; HM-02: R4 refusal after 5 h
    assert communities["TB-RG-01"]["hold_days"]["committee"] == 3.13
    assert communities["TB-RG-02"]["hold_days"]["committee"] == 5.25
    assert communities["TB-HM-02"]["hold_days"]["committee"] == 0.21
    assert communities["TB-HM-01"]["hold_days"]["committee"] is None


def test_period_bounds_are_shanghai_days(db, actor, history):
    everything = summary(db, actor, period=reports.Period())
    assert everything["totals"]["requests"] == 11  # R0 too
    assert everything["totals"]["blocked_negative_list"] == 2
    march = summary(db, actor, period=reports.Period(date(2026, 2, 28), date(2026, 3, 1)))
    assert march["totals"]["requests"] == 1  # R0 at 23:59:59 on the 28th, Beijing time
    after = summary(db, actor, period=reports.Period(date(2026, 3, 2), None))
    assert after["totals"]["requests"] == 10
    with pytest.raises(Invalid):
        reports.Period(date(2026, 3, 2), date(2026, 3, 2))


def test_filters_narrow_the_rows(db, actor, history):
    report = summary(db, actor, street="TB-HM")
    assert counts(report["totals"]) == HM
    assert [r["code"] for r in report["by_street"]] == ["TB-HM"]
    assert [r["code"] for r in report["by_community"]] == [f"TB-HM-0{i}" for i in range(1, 7)]
    assert by_code(report["by_department"])["TB-D-RS"]["blocked_unfunded"] == 1
    report = summary(db, actor, department="TB-D-RS", street="TB-RG")
    assert report["totals"]["instances"] == 2 and report["totals"]["requests"] == 2
    assert [r["code"] for r in report["by_department"]] == ["TB-D-RS"]
    report = summary(db, actor, community="TB-RG-01")
    assert report["totals"]["instances"] == 3
    assert [r["code"] for r in report["by_street"]] == ["TB-RG"]
    with pytest.raises(Invalid) as info:
        summary(db, actor, department="TB-RG")  # a street is not a department
    assert set(info.value.fields) == {"department"}


def test_work_before_money_is_zero_and_would_be_seen(db, actor, history):
    assert summary(db, actor)["totals"]["work_before_money"] == 0
    # a broken engine that opened R8's work before finance confirmed the transfer
    (r8,) = history.instances["R8"]
    with db.write() as s:
        instance = s.get(ProcessInstance, r8)
        s.add(
            Task(
                spiff_id=str(uuid.uuid4()),
                instance_id=r8,
                business_key=instance.business_key,
                process_key="handoff",
                key="work",
                name="办理事项",
                role="committee",
                org_unit_id=instance.scope["committee"],
                status="open",
                created_at=clock.now(),
            )
        )
    report = summary(db, actor)
    assert report["totals"]["work_before_money"] == 1
    assert by_code(report["by_street"])["TB-XH"]["work_before_money"] == 1
    assert by_code(report["by_department"])["TB-D-RS"]["work_before_money"] == 1
    assert by_code(report["by_department"])["TB-D-MZ"]["work_before_money"] == 0
    ids = drill_ids(db, actor, figure="work_before_money")
    assert ids == [r8]


# --- who sees what --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "reviewer", "finance"])
def test_district_roles_see_everything(db, actor, history, who):
    assert counts(summary(db, actor, who)["totals"]) == TOTALS


def test_department_sees_its_own_requests(db, actor, history):
    report = summary(db, actor, "dept.mz")
    assert report["scope"] == "own"
    assert counts(report["totals"]) == MZ
    assert [r["code"] for r in report["by_department"]] == ["TB-D-MZ"]
    assert [r["code"] for r in report["by_street"]] == ["TB-HM", "TB-RG", "TB-TD", "TB-XL"]
    # another department's figures are not theirs to see
    assert summary(db, actor, "dept.mz", department="TB-D-RS")["totals"]["instances"] == 0
    assert summary(db, actor, "dept.sf")["totals"]["instances"] == 0


def test_street_and_committee_see_their_own(db, actor, history):
    report = summary(db, actor, "street.rg")
    assert counts(report["totals"]) == RG
    assert [r["code"] for r in report["by_street"]] == ["TB-RG"]
    assert [r["code"] for r in report["by_department"]] == ["TB-D-MZ", "TB-D-RS"]
    report = summary(db, actor, "committee.rg02")
    assert report["totals"]["instances"] == 2
    assert [r["code"] for r in report["by_community"]] == ["TB-RG-02"]
    assert [r["code"] for r in report["by_street"]] == ["TB-RG"]
    assert summary(db, actor, "committee.cq01")["totals"]["instances"] == 0


def test_cached_reports_follow_the_data(db, actor, history):
    def cached(who="reviewer"):
        with db.read() as s:
            return reports.cached_report(s, actor(who), PERIOD)

    first = cached()
    assert counts(first["totals"]) == TOTALS
    first["totals"]["instances"] = -1  # callers get their own copy
    assert cached()["totals"]["instances"] == 11
    assert cached("dept.mz")["totals"]["instances"] == 7  # keyed by what the reader may see
    # R8's money arrives: a new ledger entry, a new version, new figures at once
    (r8,) = history.instances["R8"]
    history.step("R8", "funding", 1, community="TB-XH-01", department="TB-D-RS")
    after = cached()["totals"]
    assert (after["transferred"], after["outstanding"], after["overdue_now"]) == (
        "8234.57",
        "0.00",
        1,
    )
    assert after["work_before_money"] == 0
    assert drill_ids(db, actor, figure="outstanding") == []
    assert r8 in drill_ids(db, actor, outcome="running")


def test_reader_without_a_reporting_membership_is_refused(db):
    nobody = service.Actor(0, "nobody", frozenset())
    with db.read() as s, pytest.raises(Forbidden):
        reports.summary(s, nobody, PERIOD)


# --- drill-down -----------------------------------------------------------------------------


def drill_ids(db, actor, who="reviewer", period=PERIOD, filters=None, **drill) -> list[int]:
    with db.read() as s:
        stmt, units = reports.drill_statement(
            s, actor(who), period, reports.Filters(**(filters or {})), reports.Drill(**drill)
        )
        items, total = reports.drill_rows(s, stmt, units, 1, 200)
    assert total == len(items)
    return sorted(i["instance_id"] for i in items)


def test_drill_down_matches_the_numbers(db, actor, history):
    ids = history.instances
    assert drill_ids(db, actor, outcome="blocked_unfunded") == sorted(ids["R2"])
    assert drill_ids(db, actor, outcome="blocked_forbidden_certificate") == ids["R10"]
    assert drill_ids(db, actor, outcome="blocked") == sorted(ids["R1"] + ids["R2"] + ids["R10"])
    assert drill_ids(db, actor, outcome="running") == sorted(ids["R7"] + ids["R8"])
    assert drill_ids(db, actor, outcome="cancelled") == ids["R9"]
    assert drill_ids(db, actor, figure="outstanding") == ids["R8"]
    assert drill_ids(db, actor, figure="funded") == sorted(ids["R5"] + ids["R6"] + ids["R8"])
    assert drill_ids(db, actor, figure="overdue_now") == sorted(ids["R7"] + ids["R8"])
    assert drill_ids(db, actor, figure="overdue", key="funding") == sorted(ids["R6"] + ids["R8"])
    assert drill_ids(db, actor, figure="evaluated") == sorted(ids["R5"] + ids["R6"])
    assert drill_ids(db, actor, figure="work_before_money") == []
    assert len(drill_ids(db, actor)) == 11
    assert len(drill_ids(db, actor, period=reports.Period())) == 12
    assert drill_ids(db, actor, filters={"street": "TB-HM"}, outcome="blocked_unfunded") == [
        ids["R2"][1]
    ]
    # scoped like the figures
    assert drill_ids(db, actor, "dept.mz", outcome="blocked_unfunded") == []
    assert drill_ids(db, actor, "street.hm") == sorted([ids["R2"][1], *ids["R4"], *ids["R7"]])


def test_drill_rows_carry_request_parties_and_money(db, actor, history):
    with db.read() as s:
        stmt, units = reports.drill_statement(
            s, actor("reviewer"), PERIOD, reports.Filters(), reports.Drill(figure="funded")
        )
        items, total = reports.drill_rows(s, stmt, units, 1, 2)
        rest, _ = reports.drill_rows(s, stmt, units, 2, 2)
    assert total == 3 and len(items) == 2 and len(rest) == 1
    r8 = items[0]  # newest request first
    assert (r8["department"], r8["street"], r8["community"]) == ("TB-D-RS", "TB-XH", "TB-XH-01")
    assert (r8["agreed"], r8["transferred"], r8["outstanding"]) == ("2000.00", "0.00", "2000.00")
    assert (r8["state"], r8["outcome"], r8["score"]) == ("running", None, None)
    r5 = rest[0]
    assert (r5["agreed"], r5["outstanding"], r5["score"]) == ("1234.56", "0.00", 90)
    assert r5["number"].startswith("REQ-2026-")


# --- the HTTP API and the exports -----------------------------------------------------------


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


def token(client, username) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


QUERY = "from=2026-03-01&to=2026-05-01"


def test_api_summary_drill_down_and_errors(app, db, actor, history):
    client = app.test_client()
    assert client.get(f"/api/v1/reports/summary?{QUERY}").status_code == 401
    auth = token(client, "reviewer")
    r = client.get(f"/api/v1/reports/summary?{QUERY}", headers=auth)
    assert r.status_code == 200
    body = r.get_json()
    assert counts(body["totals"]) == TOTALS
    assert counts(by_code(body["by_department"])["TB-D-RS"]) == RS
    assert stages(body["totals"]) == STAGES
    assert body["by_street"][0]["hold_days"].keys() == {"department", "street_office", "committee"}
    assert body == summary(db, actor) | {"generated_at": body["generated_at"]}
    quick = client.get(f"/api/v1/reports/summary?{QUERY}&group_percentiles=false", headers=auth)
    assert stages(quick.get_json()["totals"]) == STAGES
    assert by_code(quick.get_json()["by_street"])["TB-RG"]["stages"][0]["median_hours"] is None

    r = client.get(
        f"/api/v1/reports/requests?{QUERY}&outcome=blocked_unfunded&per_page=1", headers=auth
    )
    page = r.get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (2, 1, 1, 1)
    assert page["items"][0]["department"] == "TB-D-RS"
    assert page["items"][0]["created_at"].endswith("+08:00")

    for bad, field in [
        ("from=2026-05-01&to=2026-03-01", "to"),
        ("from=yesterday", "from"),
        ("department=NOPE", "department"),
        ("outcome=lost", "outcome"),
    ]:
        path = "requests" if "outcome" in bad else "summary"
        r = client.get(f"/api/v1/reports/{path}?{bad}", headers=auth)
        assert r.status_code == 422, (bad, r.get_json())
        assert field in r.get_json()["error"]["fields"], (bad, r.get_json())

    mz = client.get(f"/api/v1/reports/summary?{QUERY}", headers=token(client, "dept.mz"))
    assert counts(mz.get_json()["totals"]) == MZ
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/reports/summary" in spec["paths"]
    assert "/api/v1/reports/requests" in spec["paths"]


def _numbers(value):
    return None if value in ("", None) else value


def test_csv_export_parses_back(app, history):
    client = app.test_client()
    auth = token(client, "reviewer")
    r = client.get(f"/api/v1/reports/summary.csv?{QUERY}", headers=auth)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    raw = r.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte order mark, for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["分组", "编码", "名称", "委托申请数", "委托事项数（按社区）"]
    table = {(row[0], row[1]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert len(table) == 9 + 7 + 39 + 1
    rs = table[("部门", "TB-D-RS")]
    assert rs["名称"] == "区人力资源和社会保障局"
    assert (rs["委托申请数"], rs["委托事项数（按社区）"], rs["无经费拦截"]) == ("3", "4", "2")
    assert (rs["协议金额（元）"], rs["已拨付（元）"], rs["待拨付（元）"]) == (
        "7000.01",
        "5000.01",
        "2000.00",
    )
    assert rs["平均评分"] == "75.0"
    total = table[("合计", "")]
    assert (total["委托申请数"], total["被拦截"], total["经费未到先开工"]) == ("10", "4", "0")
    blocked = ("负面清单拦截", "不得出具证明拦截", "无经费拦截")
    assert [total[k] for k in blocked] == ["1", "1", "2"]
    mz = table[("部门", "TB-D-MZ")]
    assert (mz["负面清单拦截"], mz["不得出具证明拦截"]) == ("1", "1")
    assert header.index("不得出具证明拦截") == header.index("负面清单拦截") + 1
    assert total["协议金额（元）"] == "8234.57"
    assert table[("街道", "TB-HM")]["街道平均压件天数"] == "20.08"

    r = client.get(f"/api/v1/reports/summary.csv?{QUERY}&table=stages", headers=auth)
    rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    header = rows[0]
    found = {(row[0], row[1], row[3]): dict(zip(header, row, strict=True)) for row in rows[1:]}
    funding = found[("合计", "", "funding")]
    median, p90 = funding["办理时长中位数（小时）"], funding["办理时长90分位（小时）"]
    assert (median, p90) == ("252.0", "434.4")
    assert found[("街道", "TB-RG", "street_review")]["办理时长90分位（小时）"] == "2.8"


def test_xlsx_export_parses_back(app, history):
    from openpyxl import load_workbook

    client = app.test_client()
    r = client.get(f"/api/v1/reports/summary.xlsx?{QUERY}", headers=token(client, "reviewer"))
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(r.get_data()))
    assert book.sheetnames == ["按部门", "按街道", "按社区", "环节时长与超期", "说明"]
    sheet = book["按部门"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["部门编码", "部门", "委托申请数", "委托事项数（按社区）"]
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert len(rows) == 10  # 9 departments and the totals
    rs = rows["TB-D-RS"]
    assert (rs["委托申请数"], rs["无经费拦截"], rs["被拦截"]) == (3, 2, 2)
    mz = rows["TB-D-MZ"]
    assert (mz["负面清单拦截"], mz["不得出具证明拦截"], mz["被拦截"]) == (1, 1, 2)
    assert rs["协议金额（元）"] == pytest.approx(7000.01, abs=1e-9)
    assert round(rs["待拨付（元）"] * 100) == 200000
    money_cell = sheet.cell(
        row=list(rows).index("TB-D-RS") + 2, column=header.index("协议金额（元）") + 1
    )
    assert money_cell.number_format == "#,##0.00"
    totals = rows[None]  # the totals row has no code
    assert totals["部门"] == "合计"
    assert round(totals["协议金额（元）"] * 100) == 823457
    assert round(totals["已拨付（元）"] * 100) == 623457
    assert totals["经费未到先开工"] == 0
    assert totals["平均评分"] == 82.5
    streets = {row[0]: row for row in book["按街道"].iter_rows(min_row=2, values_only=True)}
    street_header = [c.value for c in book["按街道"][1]]
    assert streets["TB-HM"][street_header.index("街道平均压件天数")] == 20.08
    assert len(list(book["按社区"].iter_rows(min_row=2))) == 40
    stage_rows = list(book["环节时长与超期"].iter_rows(min_row=2, values_only=True))
    funding = next(r for r in stage_rows if r[0] == "合计" and r[3] == "funding")
    assert funding[4:] == ("确认经费拨付", 3, 2, 2, 1, 252.0, 434.4)
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "2026-03-01" in notes["统计期"] and "经费未到先开工" in notes


# --- the dashboard page ---------------------------------------------------------------------


def test_dashboard_answers_the_two_questions(app, db, history):
    browser = signed_in(app, "reviewer")
    page = browser.get(f"/reports?{QUERY}")
    assert page.status_code == 200
    body = text(page)
    assert "减负看板" in body
    unfunded = re.search(r'id="answer-unfunded".*?</section>', body, re.S).group(0)
    assert "哪个部门下派的无经费事项最多" in unfunded
    assert "区人力资源和社会保障局" in unfunded
    holding = re.search(r'id="answer-holding".*?</section>', body, re.S).group(0)
    assert "哪个街道压件时间最长" in holding and "海明街道" in holding and "20.08" in holding
    assert "<svg" in body
    # every number is a link to the handoffs behind it
    assert "/reports/requests?" in body
    assert "outcome=blocked_unfunded" in body and "department=TB-D-RS" in body
    assert "¥8,234.57" in body
    # forbidden certificates are counted next to the negative list, and drill down
    tiles = re.search(r'<ul class="tiles" id="totals">.*?</ul>', body, re.S).group(0)
    figures_shown = re.findall(r'data-figure="([a-z_]+)">([^<]*)<', tiles)
    names = [name for name, _ in figures_shown]
    assert names.index("blocked_forbidden_certificate") == names.index("blocked_negative_list") + 1
    assert dict(figures_shown)["blocked_forbidden_certificate"] == "1"
    assert "不得出具证明拦截" in tiles
    assert "outcome=blocked_forbidden_certificate" in body
    forbidden = text(
        browser.get(f"/reports/requests?{QUERY}&outcome=blocked_forbidden_certificate")
    )
    assert "新立社区" in forbidden and "R10 委托" in forbidden and "R1 委托" not in forbidden

    drill = browser.get(f"/reports/requests?{QUERY}&outcome=blocked_unfunded")
    assert drill.status_code == 200
    listing = text(drill)
    assert "中兴社区" in listing and "海明社区" in listing and "瑞光社区" not in listing

    english = text(browser.get(f"/reports?{QUERY}&lang=en"))
    assert "Which department hands down the most unfunded work" in english
    assert "blocked: certificate communities may not issue" in english

    xlsx = browser.get(f"/reports/summary.xlsx?{QUERY}")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    csv_page = browser.get(f"/reports/summary.csv?{QUERY}")
    assert csv_page.status_code == 200 and "区民政局" in csv_page.get_data().decode("utf-8-sig")


def test_dashboard_is_scoped_and_needs_sign_in(app, db, history):
    assert Browser(app).get("/reports").status_code == 302
    body = text(signed_in(app, "dept.mz").get(f"/reports?{QUERY}"))
    assert "区民政局" in body and "区人力资源和社会保障局" not in body
    body = text(signed_in(app, "committee.rg01").get(f"/reports?{QUERY}"))
    assert "瑞光社区" in body
    bad = signed_in(app, "reviewer").get("/reports?from=2026-05-01&to=2026-03-01")
    assert bad.status_code == 200 and "结束日期须晚于开始日期" in text(bad)
    unknown = signed_in(app, "reviewer").get("/reports?department=NOPE")
    assert unknown.status_code == 200 and "NOPE" in text(unknown)
