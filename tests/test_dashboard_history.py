"""The 减负看板 on a realistic history (issue 13), on SQLite and PostgreSQL: every figure of
`GET /api/v1/reports/summary` (totals, per department, street and community, stages, hold times,
money to the fen, emergency orders) and every drill-down list of `GET /api/v1/reports/requests`,
for the whole period, a sub-period and no period, with filters and for readers who see only
their own, and the tiles of the /reports page, checked against counts the test makes from its
own record of what it did (`tests/history.py`), never by asking the report's tables again.

The history: the product's demo history (`handoff/demo_history.py`, what `flask seed-demo
--with-history` makes) on the timeline 2026-03-02 .. 2026-11-30, the demo district plus some 85
requests (about 150 handoffs), driven through the service layer on a running clock (real time
shifted, moved forward by minutes to weeks between steps, never frozen) with the timer worker
run before every step:
completed with evaluations, reworked, revised and resubmitted, district reviews, rejections,
refusals, blocked by the negative list (by code and by text), forbidden certificates, unfunded,
cancelled before signing, funded late, overdue and escalated reviews and transfers, money agreed
and not yet transferred, terminations (refunded, kept, both, refused, pending), requests filed
in the small hours around the sub-period's bounds, emergency orders filed afterwards (late,
disputed, open, withdrawn), and in the last weeks work waiting in every demo account's inbox.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from handoff import reports
from handoff.models import LedgerEntry
from server import create_app
from workflows import clock
from workflows.models import Task

from .history import (
    END,
    HOLD_ROLES,
    Emergency,
    Handoff,
    Simulation,
    build,
    demo_units,
    expected_emergency,
    expected_row,
    in_period,
    late,
    units_of_kind,
    yuan,
)
from .test_web_pages import signed_in

pytestmark = pytest.mark.slow  # some 730 engine steps per history, a history per test

PASSWORD = "demo-pass-2026"
WHOLE = (date(2026, 3, 1), date(2026, 12, 1))
SUMMER = (date(2026, 6, 1), date(2026, 9, 1))  # a sub-period
APPROX = 0.01 + 1e-9  # hours and days are shown to 0.01; the running clock adds milliseconds
FLOATS = {"median_hours", "p90_hours"}
NAMES = {u["code"]: u["name"] for u in demo_units()}
OUTCOMES = (
    "blocked_negative_list",
    "blocked_forbidden_certificate",
    "blocked_unfunded",
    "rejected",
    "refused",
    "completed",
    "cancelled",
    "terminated",
)
STAGE_KEYS = (
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


@pytest.fixture
def history(db) -> Simulation:
    reports.clear_cache()
    sim = build(db)
    yield sim
    reports.clear_cache()


@pytest.fixture
def app(db):
    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": "x" * 40, "TESTING": True})
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def auth(client, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def query(period: tuple[date, date] | None, **extra: str) -> str:
    params = dict(extra)
    if period is not None:
        params["from"], params["to"] = period[0].isoformat(), period[1].isoformat()
    return "&".join(f"{k}={v}" for k, v in params.items())


# --- comparing ------------------------------------------------------------------------------


class Problems(list):
    """Every disagreement, collected, so that one run shows all of them."""

    def same(self, where: str, shown: Any, expected: Any, approx: bool = False) -> None:
        if approx and shown is not None and expected is not None:
            if abs(shown - expected) > APPROX:
                self.append(f"{where}: shown {shown!r}, expected {expected!r}")
        elif shown != expected:
            self.append(f"{where}: shown {shown!r}, expected {expected!r}")

    def row(self, where: str, shown: dict[str, Any], expected: dict[str, Any]) -> None:
        figures = set(shown) - {"code", "name"}
        if figures != set(expected):
            self.append(f"{where}: figures {sorted(figures ^ set(expected))} not checked/missing")
        for name, value in expected.items():
            if name == "hold_days":
                for role in HOLD_ROLES:
                    self.same(
                        f"{where} hold_days.{role}",
                        shown["hold_days"][role],
                        value[role],
                        approx=True,
                    )
            elif name == "stages":
                self.stages(where, shown["stages"], value)
            else:
                self.same(f"{where} {name}", shown.get(name), value)

    def stages(self, where: str, shown: list[dict], expected: list[dict]) -> None:
        self.same(f"{where} stage keys", [s["key"] for s in shown], [s["key"] for s in expected])
        by_key = {s["key"]: s for s in shown}
        for stage in expected:
            mine = by_key.get(stage["key"], {})
            for name, value in stage.items():
                self.same(
                    f"{where} stage {stage['key']}.{name}",
                    mine.get(name),
                    value,
                    approx=name in FLOATS,
                )


# --- the expected figures, from the record --------------------------------------------------


def period_handoffs(sim: Simulation, period) -> list[Handoff]:
    start, end = period if period else (None, None)
    return [h for h in sim.handoffs if in_period(h.request.created, start, end)]


def period_emergencies(sim: Simulation, period) -> list[Emergency]:
    start, end = period if period else (None, None)
    return [e for e in sim.emergencies if in_period(e.created, start, end)]


UNIT_OF: dict[str, Callable[[Handoff], str]] = {
    "department": lambda h: h.department,
    "street": lambda h: h.street,
    "community": lambda h: h.community,
}


def check_summary(
    problems: Problems,
    body: dict[str, Any],
    handoffs: list[Handoff],
    emergencies: list[Emergency],
    now: datetime,
    where: str,
    every_unit: bool = True,
) -> None:
    """The totals, the emergency orders, and every row of the three groupings (a district
    reader gets every unit of the kind, zeros included; others the units they may see)."""
    problems.row(f"{where} totals", body["totals"], expected_row(handoffs, now))
    problems.same(f"{where} emergency", body["emergency"], expected_emergency(emergencies, now))
    for grouping, unit_of in UNIT_OF.items():
        rows = body[f"by_{grouping}"]
        codes = [r["code"] for r in rows]
        if every_unit:
            problems.same(f"{where} by_{grouping} codes", codes, units_of_kind(grouping))
        else:
            problems.same(f"{where} by_{grouping} codes sorted", codes, sorted(codes))
            missing = {unit_of(h) for h in handoffs} - set(codes)
            if missing:
                problems.append(f"{where} by_{grouping}: no rows for {sorted(missing)}")
        for r in rows:
            problems.same(f"{where} {r['code']} name", r["name"], NAMES.get(r["code"]))
            mine = [h for h in handoffs if unit_of(h) == r["code"]]
            problems.row(f"{where} by_{grouping} {r['code']}", r, expected_row(mine, now))


def drill(client, headers, period, **params) -> list[dict[str, Any]]:
    r = client.get(
        f"/api/v1/reports/requests?{query(period, per_page='200', **params)}", headers=headers
    )
    assert r.status_code == 200, (params, r.get_json())
    page = r.get_json()
    assert page["total"] == len(page["items"]) <= 200, page["total"]
    return page["items"]


def expected_drills(handoffs: list[Handoff], now: datetime) -> dict[tuple, set[int]]:
    """(parameter, value[, key]) -> the instance ids a drill-down must list."""

    def ids(test: Callable[[Handoff], bool]) -> set[int]:
        return {h.instance_id for h in handoffs if test(h)}

    blocked = ("blocked_negative_list", "blocked_forbidden_certificate", "blocked_unfunded")
    out: dict[tuple, set[int]] = {}
    for outcome in OUTCOMES:
        out[("outcome", outcome)] = ids(lambda h, o=outcome: h.outcome == o)
    out[("outcome", "blocked")] = ids(lambda h: h.outcome in blocked)
    out[("outcome", "running")] = ids(lambda h: h.status == "running")
    out[("outcome", "error")] = set()
    out[("figure", "instances")] = ids(lambda h: True)
    out[("figure", "blocked")] = out[("outcome", "blocked")]
    out[("figure", "funded")] = ids(lambda h: h.agreed_fen > 0)
    out[("figure", "outstanding")] = ids(
        lambda h: h.outcome != "terminated" and h.agreed_fen - h.transferred_fen > 0
    )
    out[("figure", "work_before_money")] = ids(
        lambda h: (
            h.agreed_fen > 0
            and any(
                t.key == "work" and (h.transferred_at is None or t.opened < h.transferred_at)
                for t in h.tasks
            )
        )
    )
    out[("figure", "overdue_now")] = ids(
        lambda h: any(t.status == "open" and late(t, now) for t in h.tasks)
    )
    out[("figure", "overdue")] = ids(lambda h: any(late(t, now) for t in h.tasks))
    out[("figure", "evaluated")] = ids(lambda h: h.score is not None)
    for key in ("street_review", "funding"):
        out[("figure", "overdue", key)] = ids(
            lambda h, k=key: any(t.key == k and late(t, now) for t in h.tasks)
        )
        out[("figure", "overdue_now", key)] = ids(
            lambda h, k=key: any(
                t.key == k and t.status == "open" and late(t, now) for t in h.tasks
            )
        )
    for key in STAGE_KEYS:
        out[("key", key)] = ids(lambda h, k=key: any(t.key == k for t in h.tasks))
    return out


def check_drills(problems, client, headers, period, handoffs, now, where, filters=None) -> None:
    """Every drill-down (outcome, figure, figure and stage, stage) lists the handoffs of the
    record, and the whole list's rows carry their request, parties, state, money and score."""
    filters = filters or {}
    for question, expected in expected_drills(handoffs, now).items():
        params = {question[0]: question[1]}
        if len(question) == 3:
            params["key"] = question[2]
        shown = {i["instance_id"] for i in drill(client, headers, period, **params, **filters)}
        if shown != expected:
            problems.append(
                f"{where} drill {params}: {len(shown)} shown, {len(expected)} expected; "
                f"extra {sorted(shown - expected)}, missing {sorted(expected - shown)}"
            )
    # the rows of the whole list: request, parties, state, money, score, newest request first
    items = drill(client, headers, period, **filters)
    newest_first = sorted(
        handoffs,
        key=lambda h: (-h.request.created.timestamp(), -h.request.request_id, h.instance_id),
    )
    order = [h.instance_id for h in newest_first]
    problems.same(f"{where} drill order", [i["instance_id"] for i in items], order)
    by_id = {h.instance_id: h for h in handoffs}
    for item in items:
        h = by_id.get(item["instance_id"])
        if h is None:
            continue
        r = h.request
        expected = {
            "request_id": r.request_id,
            "number": f"REQ-2026-{r.request_id:06d}",
            "title": r.title,
            "item_code": r.item_code,
            "item_category": h.category,
            "department": h.department,
            "department_name": NAMES[h.department],
            "street": h.street,
            "street_name": NAMES[h.street],
            "community": h.community,
            "community_name": NAMES[h.community],
            "state": h.status,
            "outcome": h.outcome,
            "agreed": yuan(h.agreed_fen),
            "transferred": yuan(h.transferred_fen),
            "outstanding": yuan(
                0 if h.outcome == "terminated" else h.agreed_fen - h.transferred_fen
            ),
            "score": h.score,
        }
        for name, value in expected.items():
            problems.same(f"{where} drill {h.label} {name}", item[name], value)
        created = datetime.fromisoformat(item["created_at"])
        if (
            not item["created_at"].endswith("+08:00")
            or abs((created - r.created).total_seconds()) > 5
        ):
            problems.append(f"{where} drill {h.label} created_at {item['created_at']}")
        ended = item["completed_at"]
        if (ended is None) != (h.ended is None) or (
            ended and abs((datetime.fromisoformat(ended) - h.ended).total_seconds()) > 5
        ):
            problems.append(f"{where} drill {h.label} completed_at {ended}, expected {h.ended}")


# --- the history is what it claims to be ----------------------------------------------------


def assert_realistic(db, sim: Simulation) -> None:
    """The history has what the dashboard is about, and the clock really ran."""
    hs = sim.handoffs
    outcomes = Counter(h.outcome or h.status for h in hs)
    assert 80 <= len(sim.requests) <= 90 and len(hs) >= 140, (len(sim.requests), len(hs))
    fanned = Counter(h.request.request_id for h in hs)
    assert sum(n > 1 for n in fanned.values()) >= 10, fanned
    for outcome, least in {
        "completed": 35,
        "rejected": 6,
        "refused": 5,
        "cancelled": 3,
        "terminated": 4,
        "blocked_negative_list": 5,
        "blocked_forbidden_certificate": 3,
        "blocked_unfunded": 3,
        "running": 8,
    }.items():
        assert outcomes[outcome] >= least, (outcome, outcomes)
    tasks = [t for h in hs for t in h.tasks]
    assert sum(t.key == "revise" and t.status == "completed" for t in tasks) >= 4
    assert sum(t.key == "district_review" for t in tasks) >= 5
    assert sum(t.key == "funding" and t.status == "completed" and late(t, END) for t in tasks) >= 3
    assert sum(t.status == "open" and late(t, END) for t in tasks) >= 4  # overdue now
    assert sum(h.agreed_fen > h.transferred_fen for h in hs) >= 3  # outstanding
    assert sum(h.refunded_fen > 0 for h in hs) >= 2 and sum(h.kept_fen > 0 for h in hs) >= 2
    assert {t.outcome for t in sim.terminations} == {"terminated", "refused", None}
    assert len({h.department for h in hs}) == 9 and len({h.street for h in hs}) == 7
    assert sim.timers_fired >= 10  # escalations happened along the way
    assert [e.status for e in sim.emergencies].count("running") == 2
    assert len(sim.emergencies) == 6
    months = Counter(h.request.created.astimezone(END.tzinfo).month for h in hs)
    assert set(months) == set(range(3, 12)), months
    assert sim.steps > 500
    # the clock ran: hardly two task rows at one instant, and a transfer and the work task its
    # step opens carry two different readings of it (what made issue 13.1's figure wrong)
    with db.read() as s:
        stamps = s.scalars(select(Task.created_at)).all()
        transfers = dict(
            s.execute(
                select(LedgerEntry.instance_id, LedgerEntry.at).where(
                    LedgerEntry.kind == "transferred"
                )
            ).all()
        )
        works = s.execute(select(Task.instance_id, Task.created_at).where(Task.key == "work"))
        differing = sum(at != transfers[i] for i, at in works if i in transfers)
    assert len(set(stamps)) > 0.5 * len(stamps)
    assert differing > 20


# --- the figures ----------------------------------------------------------------------------


def test_every_figure_matches_the_record(db, history, client):
    """The district's view: whole period, a sub-period and no period; summary and drill-down."""
    sim = history
    assert_realistic(db, sim)
    headers = auth(client, "reviewer")
    problems = Problems()
    for period, where in ((WHOLE, "whole"), (SUMMER, "summer"), (None, "open")):
        r = client.get(f"/api/v1/reports/summary?{query(period)}", headers=headers)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        now = clock.now()
        expected_period = {
            "from": period[0].isoformat() if period else None,
            "to": period[1].isoformat() if period else None,
            "timezone": "Asia/Shanghai",
        }
        problems.same(f"{where} period", body["period"], expected_period)
        problems.same(f"{where} scope", body["scope"], "district")
        handoffs, emergencies = period_handoffs(sim, period), period_emergencies(sim, period)
        check_summary(problems, body, handoffs, emergencies, now, where)
        check_drills(problems, client, headers, period, handoffs, now, where)
    assert not problems, f"{len(problems)} figures disagree:\n" + "\n".join(problems)


def test_filters_scoped_readers_and_the_page_match_the_record(db, history, app, client):
    sim = history
    problems = Problems()
    reviewer = auth(client, "reviewer")
    # a street, a department, a community chosen by a district reader
    for params, keep in (
        ({"street": "TB-RG"}, lambda street, department, community: street == "TB-RG"),
        ({"department": "TB-D-MZ"}, lambda street, department, community: department == "TB-D-MZ"),
        ({"community": "TB-XL-01"}, lambda street, department, community: community == "TB-XL-01"),
    ):  # fmt: skip
        for period in (WHOLE, SUMMER):
            r = client.get(f"/api/v1/reports/summary?{query(period, **params)}", headers=reviewer)
            assert r.status_code == 200, r.get_json()
            body, now = r.get_json(), clock.now()
            where = f"{params} {period[0]}"
            handoffs = [
                h for h in period_handoffs(sim, period) if keep(h.street, h.department, h.community)
            ]
            emergencies = [
                e
                for e in period_emergencies(sim, period)
                if keep(e.street, e.department, e.community)
            ]
            problems.same(f"{where} filters", {k: v for k, v in body["filters"].items() if v},
                          params)  # fmt: skip
            check_summary(problems, body, handoffs, emergencies, now, where, every_unit=False)
            check_drills(problems, client, reviewer, period, handoffs, now, where, params)
    # readers who see their own: a department, a street office, a committee
    for username, keep in (
        ("dept.mz", lambda street, department, community: department == "TB-D-MZ"),
        ("street.hm", lambda street, department, community: street == "TB-HM"),
        ("committee.xl01", lambda street, department, community: community == "TB-XL-01"),
    ):
        r = client.get(f"/api/v1/reports/summary?{query(WHOLE)}", headers=auth(client, username))
        assert r.status_code == 200, r.get_json()
        body, now = r.get_json(), clock.now()
        problems.same(f"{username} scope", body["scope"], "own")
        handoffs = [
            h for h in period_handoffs(sim, WHOLE) if keep(h.street, h.department, h.community)
        ]
        emergencies = [
            e for e in period_emergencies(sim, WHOLE) if keep(e.street, e.department, e.community)
        ]
        check_summary(problems, body, handoffs, emergencies, now, username, every_unit=False)
    # the dashboard's quick form leaves the groups' percentiles out and keeps everything else
    r = client.get(
        f"/api/v1/reports/summary?{query(WHOLE, group_percentiles='false')}", headers=reviewer
    )
    body, now = r.get_json(), clock.now()
    problems.row("quick totals", body["totals"], expected_row(period_handoffs(sim, WHOLE), now))
    for row in body["by_street"]:
        for stage in row["stages"]:
            if stage["median_hours"] is not None or stage["p90_hours"] is not None:
                problems.append(f"quick {row['code']} {stage['key']}: percentiles shown")
    check_page(problems, app, sim)
    assert not problems, f"{len(problems)} figures disagree:\n" + "\n".join(problems)


def money_shown(yuan_text: str) -> str:
    """'1234567.80' as the page shows it: '¥1,234,567.80'."""
    whole, _, cents = yuan_text.partition(".")
    return f"¥{int(whole):,}.{cents}"


def check_page(problems: Problems, app, sim: Simulation) -> None:
    """The 减负看板 page (/reports): its tiles and its money are the same figures."""
    page = signed_in(app, "reviewer").get(f"/reports?{query(WHOLE)}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    now = clock.now()
    totals = expected_row(period_handoffs(sim, WHOLE), now)
    emergency = expected_emergency(period_emergencies(sim, WHOLE), now)
    tiles = dict(re.findall(r'data-figure="([a-z_]+)">([^<]*)<', html))
    money = dict(re.findall(r'data-money="([a-z]+)"><a [^>]*>([^<]*)<', html))
    expected_tiles = {
        name: str(totals[name])
        for name in (
            "requests",
            "instances",
            "blocked_negative_list",
            "blocked_forbidden_certificate",
            "blocked_unfunded",
            "rejected",
            "refused",
            "completed",
            "running",
            "cancelled",
            "terminated",
            "overdue_now",
            "work_before_money",
        )
    }
    expected_tiles["avg_score"] = f"{totals['avg_score']:.2f}"
    expected_tiles |= {
        "emergency_orders": str(emergency["orders"]),
        "emergency_late": str(emergency["late_filings"]),
        "emergency_open": str(emergency["open_filings"]),
        "emergency_filed": str(emergency["filed"]),
    }
    problems.same("page tiles", tiles, expected_tiles)
    problems.same(
        "page money",
        money,
        {
            name: money_shown(totals[name])
            for name in ("agreed", "transferred", "outstanding", "refunded", "kept")
        },
    )
    if "在经费拨付前就已开工" in html or "经费未到先开工：0 件" not in html:
        problems.append("page: the 费随事转 line does not say 0")
