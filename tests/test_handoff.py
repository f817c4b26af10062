"""The handoff process (权随责走、费随事转) end to end at the `workflows/` level: the real BPMN
(`bpmn/handoff.bpmn`), the real database (SQLite and PostgreSQL), the service layer and the demo
accounts. Every outcome of SPEC.md is reached here, with exact money in integer fen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from handoff import catalog
from handoff import queries as handoff_queries
from handoff import requests as handoff
from handoff.models import Agreement, CatalogItem, HandoffInstance, LedgerEntry, Request, Signature
from handoff.requests import RequestInput
from workflows import clock, queries, service
from workflows.db import Database
from workflows.errors import Conflict, Forbidden, FormErrors
from workflows.models import AuditEvent, OrgUnit, ProcessInstance, Task
from workflows.workdays import SHANGHAI, add_working_days

SIGN_KEYS = {"sign_department", "sign_committee", "sign_street"}
STREET_USERS = {
    "street.hm": "TB-HM",
    "street.mr": "TB-MR",
    "street.cq": "TB-CQ",
    "street.rg": "TB-RG",
    "street.td": "TB-TD",
    "street.xh": "TB-XH",
    "street.xl": "TB-XL",
}
# who completes each task of a TB-RG-01 handoff on the happy path
WHO = {
    "street_review": "street.rg",
    "district_review": "reviewer",
    "revise": "dept.mz",
    "sign_department": "dept.mz",
    "sign_committee": "committee.rg01",
    "sign_street": "street.rg",
    "funding": "finance",
    "work": "committee.rg01",
    "acceptance": "dept.mz",
    "evaluation": "street.rg",
}


def today() -> str:
    return handoff.today().isoformat()


def happy_data(key: str, instance_data: dict[str, Any]) -> dict[str, Any]:
    """The form data that moves `key` forward on the happy path."""
    return {
        "street_review": {"decision": "approve"},
        "district_review": {"decision": "approve", "comment": "同意"},
        "sign_department": {"decision": "sign"},
        "sign_committee": {"decision": "sign"},
        "sign_street": {"decision": "sign"},
        "funding": {
            "amount": instance_data.get("amount"),
            "voucher_no": "PZ-2026-0001",
            "transferred_on": today(),
        },
        "work": {"report": "已完成入户调查 120 户", "completed_on": today()},
        "acceptance": {"decision": "accept"},
        "evaluation": {"score": 95, "comment": "按时完成"},
    }[key]


# --- helpers ----------------------------------------------------------------------------------


def new_request(
    db: Database,
    actor,
    *,
    item: str | None = "A01",
    amount: str = "5000.00",
    communities: tuple[str, ...] = ("TB-RG-01",),
    title: str = "低保对象入户调查",
    who: str = "dept.mz",
    description: str = "对辖区低保对象开展入户调查",
    legal_basis: str = "",
    due_date: str | None = "2099-12-31",
) -> int:
    payload = RequestInput(
        title=title,
        item_code=item,
        description=description,
        legal_basis=legal_basis,
        community_codes=list(communities),
        amount=amount,
        due_date=due_date,
    )
    return handoff.create_request(db, actor(who), payload)


def instances_of(db: Database, request_id: int) -> list[ProcessInstance]:
    with db.read() as session:
        return list(
            session.scalars(
                select(ProcessInstance)
                .join(HandoffInstance, HandoffInstance.instance_id == ProcessInstance.id)
                .where(HandoffInstance.request_id == request_id)
                .order_by(ProcessInstance.id)
            )
        )


def only_instance(db: Database, request_id: int) -> ProcessInstance:
    (instance,) = instances_of(db, request_id)
    return instance


def instance(db: Database, instance_id: int) -> ProcessInstance:
    with db.read() as session:
        return session.get(ProcessInstance, instance_id)


def tasks(db: Database, instance_id: int, status: str | None = "open") -> list[Task]:
    with db.read() as session:
        stmt = select(Task).where(Task.instance_id == instance_id).order_by(Task.id)
        if status is not None:
            stmt = stmt.where(Task.status == status)
        return list(session.scalars(stmt))


def open_keys(db: Database, instance_id: int) -> list[str]:
    return sorted(t.key for t in tasks(db, instance_id))


def task(db: Database, instance_id: int, key: str) -> Task:
    found = [t for t in tasks(db, instance_id) if t.key == key]
    assert len(found) == 1, (key, open_keys(db, instance_id))
    return found[0]


def count_tasks(db: Database, instance_id: int, key: str) -> int:
    return len([t for t in tasks(db, instance_id, status=None) if t.key == key])


def data_of(db: Database, actor, instance_id: int) -> dict[str, Any]:
    with db.read() as session:
        return queries.instance_detail(session, actor("admin"), instance_id)["data"]


def inbox(db: Database, who: service.Actor, **filters) -> list[Task]:
    with db.read() as session:
        page = queries.inbox(session, who, queries.InboxFilter(**filters), per_page=200)
        assert page.total == len(page.items)
        return page.items


def do(db: Database, actor, instance_id: int, key: str, data=None, who: str | None = None):
    """Complete the open task `key` as `who` (the happy-path user by default)."""
    row = task(db, instance_id, key)
    if data is None:
        data = happy_data(key, data_of(db, actor, instance_id))
    return service.complete_task(db, row.id, actor(who or WHO[key]), data)


def walk_to(db: Database, actor, instance_id: int, key: str | None) -> None:
    """Walk the happy path until task `key` is open (None: to the end of the process)."""
    for _ in range(30):
        keys = open_keys(db, instance_id)
        if key in keys or not keys:
            break
        first = tasks(db, instance_id)[0]
        do(db, actor, instance_id, first.key)
    assert key is None or key in open_keys(db, instance_id), (key, open_keys(db, instance_id))


def start_at(db: Database, actor, key: str | None, **request) -> int:
    """A new single-community handoff walked to `key`; returns the instance id."""
    instance_id = only_instance(db, new_request(db, actor, **request)).id
    walk_to(db, actor, instance_id, key)
    return instance_id


def agreement_of(db: Database, instance_id: int) -> Agreement | None:
    with db.read() as session:
        return session.scalar(select(Agreement).where(Agreement.instance_id == instance_id))


def ledger(db: Database, instance_id: int) -> dict[str, Any]:
    with db.read() as session:
        return handoff_queries.ledger(session, instance_id)


def audit_actions(db: Database, instance_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.id)
            )
        )


def assert_finished(db: Database, instance_id: int, outcome: str) -> None:
    row = instance(db, instance_id)
    assert (row.status, row.outcome) == ("completed", outcome)
    assert row.completed_at is not None and row.next_timer_at is None
    assert open_keys(db, instance_id) == []


def assert_unchanged(db: Database, instance_id: int, before: list[Task], key: str) -> None:
    """A refused completion changed nothing: same open tasks, no completion recorded."""
    assert [(t.id, t.status) for t in tasks(db, instance_id)] == [(t.id, t.status) for t in before]
    assert instance(db, instance_id).status == "running"
    with db.read() as session:
        done = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.instance_id == instance_id,
                AuditEvent.action == "task.completed",
                AuditEvent.task_id == task(db, instance_id, key).id,
            )
        )
    assert done == 0


def refused(db, actor, instance_id: int, key: str, data: dict, who: str | None = None) -> dict:
    """Completing `key` with `data` raises FormErrors and changes nothing; returns the fields."""
    before = tasks(db, instance_id)
    with pytest.raises(FormErrors) as info:
        do(db, actor, instance_id, key, data, who=who)
    assert_unchanged(db, instance_id, before, key)
    return info.value.fields


# --- 1. screening: blocked at once ------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "amount", "outcome"),
    [
        ("N01", "5000.00", "blocked_negative_list"),  # negative list, even with money
        ("N04", "0", "blocked_negative_list"),
        ("A01", "0", "blocked_unfunded"),  # assisted without money (费随事转)
        ("A01", "0.00", "blocked_unfunded"),
        (None, "0", "blocked_unfunded"),  # unlisted without money
    ],
)
def test_screening_blocks_at_once_and_keeps_the_request(db, actor, item, amount, outcome):
    request_id = new_request(db, actor, item=item, amount=amount, communities=("TB-RG-01",))
    row = only_instance(db, request_id)
    assert_finished(db, row.id, outcome)
    assert tasks(db, row.id, status=None) == []
    assert agreement_of(db, row.id) is None
    assert ledger(db, row.id)["entries"] == []
    with db.read() as session:
        stored = session.get(Request, request_id)
        assert stored.item_code == item
        expected_category = {"N": "negative", "A": "assisted"}.get((item or "-")[0], "unlisted")
        assert stored.item_category == expected_category
        assert stored.amount_fen == (0 if amount.startswith("0") else 500000)
        detail = handoff_queries.request_detail(session, actor("dept.mz"), request_id)
    assert [(i.status, i.outcome) for i in detail["instances"]] == [("completed", outcome)]
    assert inbox(db, actor("street.rg")) == []
    assert "instance.completed" in audit_actions(db, row.id)


def test_blocked_request_to_several_communities_blocks_each(db, actor):
    request_id = new_request(db, actor, item="N02", communities=("TB-RG-01", "TB-HM-01"))
    rows = instances_of(db, request_id)
    assert [(r.status, r.outcome) for r in rows] == [("completed", "blocked_negative_list")] * 2
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Task)) == 0


# --- 1b. forbidden certificates; the negative list by what a request says ---------------------


@pytest.mark.parametrize(("item", "amount"), [("C12", "500.00"), ("C12", "0"), ("C14", "0")])
def test_forbidden_certificate_is_blocked_at_once(db, actor, item, amount):
    request_id = new_request(db, actor, item=item, amount=amount, title="为居民开具证明")
    row = only_instance(db, request_id)
    assert_finished(db, row.id, "blocked_forbidden_certificate")
    assert tasks(db, row.id, status=None) == []
    assert agreement_of(db, row.id) is None
    assert ledger(db, row.id)["entries"] == []
    with db.read() as session:
        assert session.get(Request, request_id).item_category == "certificate_forbidden"
    assert inbox(db, actor("street.rg")) == [] and inbox(db, actor("reviewer")) == []


def test_an_allowed_certificate_is_not_blocked(db, actor):
    instance_id = start_at(db, actor, "street_review", item="C01", amount="0", title="居住证明")
    assert instance(db, instance_id).status == "running"


def screened(db, actor, instance_id: int) -> dict[str, str]:
    data = data_of(db, actor, instance_id)
    return {k: data[k] for k in ("negative_term", "negative_item", "negative_field")}


@pytest.mark.parametrize(
    ("field", "text", "term", "item"),
    [
        ("title", "招商引资", "招商引资", "N01"),  # the case, unlisted
        ("title", "完成招 商 引 资任务", "招商引资", "N01"),  # spaces do not hide it
        ("title", "招商·引资（三季度）", "招商引资", "N01"),  # nor punctuation
        ("title", "招商\u3000引资", "招商引资", "N01"),  # nor a full-width space
        ("description", "协助开展行政执法检查", "行政执法", "N04"),  # the longest term found
        ("description", "对违规摊点处以罚款", "罚款", "N04"),
        ("legal_basis", "《国有土地上房屋征收与补偿条例》组织拆迁", "拆迁", "N05"),
        ("description", "落实代征税款任务", "代征税款", "N02"),
        ("title", "背街小巷环境整治", "环境整治", "N08"),  # 民发〔2015〕136号, now listed
        ("description", "社区承担城市管理任务", "城市管理", "N09"),
    ],
)
def test_unlisted_request_naming_a_negative_term_is_blocked(db, actor, field, text, term, item):
    fields = {"title": "社区事务", "description": "", "legal_basis": "", field: text}
    request_id = new_request(db, actor, item=None, amount="3000.00", **fields)
    row = only_instance(db, request_id)
    assert_finished(db, row.id, "blocked_negative_list")
    assert tasks(db, row.id, status=None) == []
    assert screened(db, actor, row.id) == {
        "negative_term": term,
        "negative_item": item,
        "negative_field": field,
    }
    with db.read() as session:
        created = session.scalar(select(AuditEvent).where(AuditEvent.action == "request.created"))
    assert (created.detail["negative_term"], created.detail["negative_item"]) == (term, item)


def test_unlisted_request_naming_a_term_without_money_is_blocked_as_negative(db, actor):
    request_id = new_request(db, actor, item=None, amount="0", title="协税护税")
    assert_finished(db, only_instance(db, request_id).id, "blocked_negative_list")


def test_listed_request_naming_a_negative_term_goes_to_district_review(db, actor):
    # the case: 招商引资 filed under the listed code A06 used to skip district review
    instance_id = start_at(db, actor, "street_review", item="A06", title="招商引资")
    assert screened(db, actor, instance_id) == {
        "negative_term": "招商引资",
        "negative_item": "N01",
        "negative_field": "title",
    }
    do(db, actor, instance_id, "street_review", {"decision": "approve"})
    assert open_keys(db, instance_id) == ["district_review"]
    (review,) = inbox(db, actor("reviewer"))
    with db.read() as session:
        detail = queries.task_detail(session, actor("reviewer"), review.id)
    assert detail["data"]["negative_term"] == "招商引资"  # the flag the reviewer sees
    do(db, actor, instance_id, "district_review", {"decision": "reject", "comment": "属负面清单"})
    assert_finished(db, instance_id, "rejected")


def test_listed_request_flagged_by_a_term_may_still_be_approved(db, actor):
    instance_id = start_at(
        db, actor, "street_review", item="A04", description="配合司法所开展社区矫正执法宣传"
    )
    assert screened(db, actor, instance_id)["negative_term"] == "执法"
    walk_to(db, actor, instance_id, None)
    assert_finished(db, instance_id, "completed")
    assert count_tasks(db, instance_id, "district_review") == 1


@pytest.mark.parametrize(
    "title",
    [
        "低保对象入户调查",
        "招商银行代发高龄津贴核对",  # a bank, not 招商
        "城乡居民医疗保险参保动员",  # 保险, not 商业保险
        "拆",  # one character is never a term
    ],
)
def test_text_without_a_negative_term_is_not_flagged(db, actor, title):
    instance_id = start_at(db, actor, "street_review", item="A01", title=title)
    assert screened(db, actor, instance_id) == {
        "negative_term": "",
        "negative_item": "",
        "negative_field": "",
    }
    do(db, actor, instance_id, "street_review", {"decision": "approve"})
    assert open_keys(db, instance_id) == ["sign_committee"]  # listed and clean: no district review


def test_the_terms_of_the_negative_list_in_force_on_the_request_date(db, actor):
    title = "完成年度创收指标"
    first = only_instance(db, new_request(db, actor, item=None, title=title))
    assert instance(db, first.id).status == "running"  # no term yet

    with db.write() as session:
        entry = catalog.set_terms(session, "N03", ["经济创收", "创收指标"], handoff.today())
        assert entry.terms == ["经济创收", "创收指标"]
    second = only_instance(db, new_request(db, actor, item=None, title=title))
    assert_finished(db, second.id, "blocked_negative_list")
    assert screened(db, actor, second.id)["negative_term"] == "创收指标"

    with db.write() as session:  # the entry no longer in force: its words are not screened
        session.scalar(select(CatalogItem).where(CatalogItem.code == "N03")).active = False
    try:
        third = only_instance(db, new_request(db, actor, item=None, title=title))
        assert instance(db, third.id).status == "running"
    finally:
        with db.write() as session:
            entry = session.scalar(select(CatalogItem).where(CatalogItem.code == "N03"))
            entry.active, entry.terms = True, ["经济创收"]


def test_a_revision_may_not_bring_in_a_negative_term(db, actor):
    instance_id = start_at(db, actor, "street_review")
    do(db, actor, instance_id, "street_review", {"decision": "revise", "comment": "请补充"})
    fields = refused(db, actor, instance_id, "revise", {"title": "低保调查暨招 商引资"})
    assert set(fields) == {"title"} and "招商引资" in fields["title"] and "N01" in fields["title"]
    fields = refused(db, actor, instance_id, "revise", {"description": "兼顾协税护税"})
    assert set(fields) == {"description"}
    fields = refused(db, actor, instance_id, "revise", {"legal_basis": "城市管理相关规定"})
    assert set(fields) == {"legal_basis"}
    do(db, actor, instance_id, "revise", {"title": "低保入户调查（修订）"})
    assert open_keys(db, instance_id) == ["street_review"]
    assert screened(db, actor, instance_id)["negative_term"] == ""


def test_a_flagged_request_may_be_revised_and_stays_flagged(db, actor):
    instance_id = start_at(db, actor, "street_review", item="A06", title="招商引资对接")
    do(db, actor, instance_id, "street_review", {"decision": "revise", "comment": "请说明"})
    do(db, actor, instance_id, "revise", {"description": "招商引资项目用工登记"})
    do(db, actor, instance_id, "street_review", {"decision": "approve"})
    assert open_keys(db, instance_id) == ["district_review"]


# --- 2. fan-out: one request, one handoff per community -----------------------------------------


def test_one_request_to_all_39_communities_fans_out(db, actor):
    with db.read() as session:
        communities = list(
            session.execute(
                select(OrgUnit.code, OrgUnit.parent_id)
                .where(OrgUnit.kind == "community")
                .order_by(OrgUnit.code)
            )
        )
        code_of = dict(session.execute(select(OrgUnit.id, OrgUnit.code)).all())
    assert len(communities) == 39
    codes = tuple(code for code, _ in communities)
    request_id = new_request(db, actor, communities=codes)

    rows = instances_of(db, request_id)
    assert len(rows) == 39
    assert len({r.scope["committee"] for r in rows}) == 39
    assert {(r.status, r.outcome) for r in rows} == {("running", None)}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 1
    assert sorted(code_of[r.scope["committee"]] for r in rows) == sorted(codes)
    for r in rows:
        assert open_keys(db, r.id) == ["street_review"]

    street_of = {code: code_of[parent] for code, parent in communities}
    seen = 0
    for username, street in STREET_USERS.items():
        mine = inbox(db, actor(username))
        assert {t.key for t in mine} <= {"street_review"}
        assert {t.org_unit.code for t in mine} <= {street}
        expected = sorted(c for c, s in street_of.items() if s == street)
        got = sorted(code_of[instance(db, t.instance_id).scope["committee"]] for t in mine)
        assert got == expected
        seen += len(mine)
    assert seen == 39
    rg = inbox(db, actor("street.rg"))
    assert rg and {t.org_unit.code for t in rg} == {"TB-RG"}
    for outsider in ("dept.mz", "finance", "reviewer", "committee.rg01"):
        assert inbox(db, actor(outsider)) == [], outsider

    # the handoffs are independent: one rejected, one approved, the other 37 untouched
    first, second = sorted((t for t in rg), key=lambda t: t.id)[:2]
    service.complete_task(db, first.id, actor("street.rg"), {"decision": "reject", "comment": "否"})
    service.complete_task(db, second.id, actor("street.rg"), {"decision": "approve"})
    assert_finished(db, first.instance_id, "rejected")
    assert open_keys(db, second.instance_id) == ["sign_committee"]
    rest = [r for r in rows if r.id not in (first.instance_id, second.instance_id)]
    assert all(open_keys(db, r.id) == ["street_review"] for r in rest)
    with db.read() as session:
        detail = handoff_queries.request_detail(session, actor("dept.mz"), request_id)
    assert len(detail["instances"]) == 39
    assert sorted(i.outcome or i.status for i in detail["instances"]) == sorted(
        ["rejected"] + ["running"] * 38
    )


def test_street_office_cannot_act_on_another_streets_review(db, actor):
    instance_id = start_at(db, actor, "street_review")
    review = task(db, instance_id, "street_review")
    with pytest.raises(Forbidden):
        service.complete_task(db, review.id, actor("street.hm"), {"decision": "approve"})
    with pytest.raises(Forbidden):
        service.complete_task(db, review.id, actor("dept.mz"), {"decision": "approve"})
    assert open_keys(db, instance_id) == ["street_review"]


# --- 3. street review: reject, revise ----------------------------------------------------------


def test_street_reject_needs_a_comment_and_ends_rejected(db, actor):
    instance_id = start_at(db, actor, "street_review")
    fields = refused(db, actor, instance_id, "street_review", {"decision": "reject"})
    assert set(fields) == {"comment"}
    fields = refused(db, actor, instance_id, "street_review", {"decision": "maybe"})
    assert "decision" in fields
    result = do(
        db, actor, instance_id, "street_review", {"decision": "reject", "comment": "超范围"}
    )
    assert (result["instance_state"], result["outcome"]) == ("completed", "rejected")
    assert_finished(db, instance_id, "rejected")
    assert agreement_of(db, instance_id) is None
    assert inbox(db, actor("street.rg")) == []
    # a second completion of the same task is a conflict, not a second step
    (done,) = tasks(db, instance_id, status="completed")
    with pytest.raises(Conflict):
        service.complete_task(db, done.id, actor("street.rg"), {"decision": "approve"})


def test_revise_then_approve(db, actor):
    instance_id = start_at(db, actor, "street_review")
    fields = refused(db, actor, instance_id, "street_review", {"decision": "revise"})
    assert set(fields) == {"comment"}
    do(db, actor, instance_id, "street_review", {"decision": "revise", "comment": "经费不足"})
    assert open_keys(db, instance_id) == ["revise"]
    (revise,) = inbox(db, actor("dept.mz"))
    assert revise.key == "revise" and revise.instance_id == instance_id
    assert inbox(db, actor("street.rg")) == []
    assert data_of(db, actor, instance_id)["street_review"]["comment"] == "经费不足"

    # the revision keeps the rules: assisted work must keep its money; something must change
    assert "amount" in refused(db, actor, instance_id, "revise", {"amount": "0"})
    assert "comment" in refused(db, actor, instance_id, "revise", {"comment": "无修改"})

    do(db, actor, instance_id, "revise", {"title": "低保入户调查（修订）", "amount": "6000.5"})
    data = data_of(db, actor, instance_id)
    assert data["title"] == "低保入户调查（修订）"
    assert (data["amount"], data["amount_fen"]) == ("6000.50", 600050)
    assert data["description"] == "对辖区低保对象开展入户调查"  # untouched fields stay
    assert open_keys(db, instance_id) == ["street_review"]
    assert count_tasks(db, instance_id, "street_review") == 2

    do(db, actor, instance_id, "street_review", {"decision": "approve"})
    assert open_keys(db, instance_id) == ["sign_committee"]
    agreement = agreement_of(db, instance_id)
    assert agreement.amount_fen == 600050
    assert agreement.content["amount"] == "6000.50"
    assert agreement.content["work"]["title"] == "低保入户调查（修订）"
    walk_to(db, actor, instance_id, None)
    assert_finished(db, instance_id, "completed")
    money = ledger(db, instance_id)
    assert (money["agreed_fen"], money["transferred_fen"], money["outstanding_fen"]) == (
        600050,
        600050,
        0,
    )


# --- 4. district review for unlisted items ----------------------------------------------------


def test_unlisted_item_needs_district_review_then_signs(db, actor):
    instance_id = start_at(db, actor, "street_review", item=None, amount="3000")
    do(db, actor, instance_id, "street_review")
    assert open_keys(db, instance_id) == ["district_review"]
    (review,) = inbox(db, actor("reviewer"))
    assert (review.key, review.instance_id, review.org_unit.code) == (
        "district_review",
        instance_id,
        "TB-A",
    )
    assert inbox(db, actor("street.rg")) == []
    with pytest.raises(Forbidden):
        do(db, actor, instance_id, "district_review", who="street.rg")
    do(db, actor, instance_id, "district_review", {"decision": "approve"})
    assert open_keys(db, instance_id) == ["sign_committee"]
    assert agreement_of(db, instance_id).amount_fen == 300000


def test_unlisted_item_district_reject_ends_rejected(db, actor):
    instance_id = start_at(db, actor, "district_review", item=None, amount="3000")
    fields = refused(db, actor, instance_id, "district_review", {"decision": "reject"})
    assert set(fields) == {"comment"}
    do(db, actor, instance_id, "district_review", {"decision": "reject", "comment": "应由部门办理"})
    assert_finished(db, instance_id, "rejected")
    assert agreement_of(db, instance_id) is None
    assert inbox(db, actor("reviewer")) == []


@pytest.mark.parametrize("item", ["A01", "S02"])
def test_listed_items_skip_district_review(db, actor, item):
    instance_id = start_at(db, actor, "street_review", item=item)
    do(db, actor, instance_id, "street_review")
    assert open_keys(db, instance_id) == ["sign_committee"]
    walk_to(db, actor, instance_id, None)
    assert_finished(db, instance_id, "completed")
    assert count_tasks(db, instance_id, "district_review") == 0
    assert inbox(db, actor("reviewer")) == []


# --- 5. the agreement -------------------------------------------------------------------------


def test_the_committee_signs_first_then_department_and_street_in_parallel(db, actor):
    request_id = new_request(db, actor, communities=("TB-RG-01", "TB-RG-02"))
    first, second = (r.id for r in instances_of(db, request_id))
    for instance_id in (first, second):
        walk_to(db, actor, instance_id, "sign_committee")
        assert open_keys(db, instance_id) == ["sign_committee"]

    # the committee sees its own signature task, and only its own community's
    row = task(db, first, "sign_committee")
    assert row.org_unit.code == "TB-RG-01"
    assert row.id in {t.id for t in inbox(db, actor("committee.rg01"))}
    assert row.id not in {t.id for t in inbox(db, actor("committee.rg02"))}
    with pytest.raises(Forbidden):
        do(db, actor, first, "sign_committee", who="committee.rg02")

    agreement, other = agreement_of(db, first), agreement_of(db, second)
    assert agreement.number.startswith("XY-") and agreement.number != other.number
    assert agreement.status == "draft" and agreement.signed_at is None
    assert agreement.amount_fen == 500000 and agreement.version == 1
    content = agreement.content
    assert {party: p["code"] for party, p in content["parties"].items()} == {
        "department": "TB-D-MZ",
        "street_office": "TB-RG",
        "committee": "TB-RG-01",
    }
    assert all(p["name"] for p in content["parties"].values())
    assert content["work"]["title"] == "低保对象入户调查"
    assert content["work"]["item_code"] == "A01"
    assert content["authority"] == "《社会救助暂行办法》"  # the catalog's legal basis
    assert content["deadline"] == "2099-12-31"
    assert content["amount"] == "5000.00"
    assert content["payment_plan"] == [
        {"seq": 1, "trigger": "signing", "on": None, "amount_fen": 500000}
    ]
    assert other.content["parties"]["committee"]["code"] == "TB-RG-02"

    do(db, actor, first, "sign_committee", {"decision": "sign", "comment": "第1方"})
    assert open_keys(db, first) == ["sign_department", "sign_street"]
    for key, who, unit in [
        ("sign_department", "dept.mz", "TB-D-MZ"),
        ("sign_street", "street.rg", "TB-RG"),
    ]:
        row = task(db, first, key)
        assert row.org_unit.code == unit
        assert row.id in {t.id for t in inbox(db, actor(who))}
    # a refusal or a counter-proposal is only for the committee
    assert "decision" in refused(db, actor, first, "sign_department", {"decision": "refuse"})
    assert "decision" in refused(db, actor, first, "sign_street", {"decision": "counter"})

    for n, key in enumerate(["sign_street", "sign_department"], start=2):
        assert ledger(db, first)["entries"] == []
        do(db, actor, first, key, {"decision": "sign", "comment": f"第{n}方"})
        signed = agreement_of(db, first)
        assert len(signed.signatures) == n
    assert {(s.party, s.decision) for s in signed.signatures} == {
        ("department", "sign"),
        ("committee", "sign"),
        ("street_office", "sign"),
    }
    users = {s.party: s.user.username for s in signed.signatures}
    assert users == {
        "department": "dept.mz",
        "committee": "committee.rg01",
        "street_office": "street.rg",
    }
    assert signed.status == "signed" and signed.signed_at is not None
    money = ledger(db, first)
    assert [(e.kind, e.amount_fen) for e in money["entries"]] == [("agreed", 500000)]
    assert money["outstanding_fen"] == 500000
    assert open_keys(db, first) == ["funding"]
    assert agreement_of(db, second).status == "draft"  # the other community is independent
    assert "agreement.signed" in audit_actions(db, first)


def test_a_committee_refusal_needs_a_reason_and_ends_the_handoff_unsigned(db, actor):
    instance_id = start_at(db, actor, "sign_committee")
    fields = refused(db, actor, instance_id, "sign_committee", {"decision": "refuse"})
    assert set(fields) == {"comment"}
    result = do(
        db, actor, instance_id, "sign_committee", {"decision": "refuse", "comment": "无人手承担"}
    )
    assert (result["instance_state"], result["outcome"]) == ("completed", "refused")
    assert_finished(db, instance_id, "refused")
    # the department and the street office were never asked to sign terms the committee refused
    assert {t.key for t in tasks(db, instance_id, status=None)} & SIGN_KEYS == {"sign_committee"}
    agreement = agreement_of(db, instance_id)
    assert agreement.status == "refused" and agreement.signed_at is None
    refusal = [s for s in agreement.signatures if s.party == "committee"]
    assert [(s.decision, s.comment) for s in refusal] == [("refuse", "无人手承担")]
    assert ledger(db, instance_id)["entries"] == []
    assert count_tasks(db, instance_id, "funding") == 0
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Signature)) == 1


# --- 6. funding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("paid", ["5000.00", "5000"])
def test_funding_must_match_the_agreement_before_work_exists(db, actor, paid):
    instance_id = start_at(db, actor, "funding")
    assert open_keys(db, instance_id) == ["funding"]
    assert count_tasks(db, instance_id, "work") == 0
    assert inbox(db, actor("committee.rg01")) == []
    (funding,) = inbox(db, actor("finance"))
    assert funding.key == "funding" and funding.org_unit.code == "TB-F"

    good = {"amount": paid, "voucher_no": "PZ-2026-0042", "transferred_on": today()}
    for amount in ("4999.99", "5000.01", "50000"):
        fields = refused(db, actor, instance_id, "funding", {**good, "amount": amount})
        assert set(fields) == {"amount"}
    assert "amount" in refused(db, actor, instance_id, "funding", {**good, "amount": 5000.0})
    assert "amount" in refused(db, actor, instance_id, "funding", {**good, "amount": "5000.001"})
    tomorrow = (handoff.today() + timedelta(days=1)).isoformat()
    fields = refused(db, actor, instance_id, "funding", {**good, "transferred_on": tomorrow})
    assert set(fields) == {"transferred_on"}
    assert "voucher_no" in refused(db, actor, instance_id, "funding", {**good, "voucher_no": ""})
    with pytest.raises(Forbidden):
        do(db, actor, instance_id, "funding", good, who="dept.mz")
    assert [e.kind for e in ledger(db, instance_id)["entries"]] == ["agreed"]
    assert count_tasks(db, instance_id, "work") == 0

    do(db, actor, instance_id, "funding", good)
    money = ledger(db, instance_id)
    transfers = [e for e in money["entries"] if e.kind == "transferred"]
    assert [(e.amount_fen, e.voucher_no, e.transferred_on.isoformat()) for e in transfers] == [
        (500000, "PZ-2026-0042", today())
    ]
    assert (money["agreed_fen"], money["transferred_fen"], money["outstanding_fen"]) == (
        500000,
        500000,
        0,
    )
    assert open_keys(db, instance_id) == ["work"]
    (work,) = inbox(db, actor("committee.rg01"))
    assert (work.key, work.instance_id, work.org_unit.code) == ("work", instance_id, "TB-RG-01")
    assert inbox(db, actor("committee.rg02")) == []
    assert data_of(db, actor, instance_id)["funding"]["amount"] == "5000.00"


def test_self_governance_item_without_money_skips_funding(db, actor):
    instance_id = start_at(db, actor, "sign_committee", item="S01", amount="0")
    for key in ("sign_committee", "sign_department", "sign_street"):
        do(db, actor, instance_id, key)
    assert agreement_of(db, instance_id).status == "signed"
    assert agreement_of(db, instance_id).amount_fen == 0
    assert open_keys(db, instance_id) == ["work"]
    assert count_tasks(db, instance_id, "funding") == 0
    walk_to(db, actor, instance_id, None)
    assert_finished(db, instance_id, "completed")
    assert count_tasks(db, instance_id, "funding") == 0
    money = ledger(db, instance_id)
    assert (money["entries"], money["outstanding_fen"]) == ([], 0)


# --- 6b. dates that cannot be --------------------------------------------------------------


def test_a_request_needs_a_due_date_that_leaves_review_and_funding(db, actor):
    # a Thursday before the Mid-Autumn Festival and National Day
    start = datetime(2026, 9, 24, 10, 0, tzinfo=SHANGHAI)
    clock.freeze(start)
    earliest = add_working_days(start, 15 + 10).astimezone(SHANGHAI).date()
    assert earliest.isoformat() == "2026-11-05"  # six weeks: the holidays do not count
    for due in (None, "", "2026-09-24", (earliest - timedelta(days=1)).isoformat()):
        with pytest.raises(FormErrors) as err:
            new_request(db, actor, due_date=due)
        message = err.value.fields["due_date"]
        assert earliest.isoformat() in message, message
        assert "15" in message and "10" in message
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 0
    request_id = new_request(db, actor, due_date=earliest.isoformat())
    assert only_instance(db, request_id).status == "running"

    # without money there is no funding period: street review only
    review_only = add_working_days(start, 15).astimezone(SHANGHAI).date()
    with pytest.raises(FormErrors) as err:
        new_request(db, actor, item="S01", amount="0", due_date=None)
    assert review_only.isoformat() in err.value.fields["due_date"]
    too_soon = (review_only - timedelta(days=1)).isoformat()
    with pytest.raises(FormErrors):
        new_request(db, actor, item="S01", amount="0", due_date=too_soon)
    new_request(db, actor, item="S01", amount="0", due_date=review_only.isoformat())


def test_a_revised_due_date_leaves_the_periods_too(db, actor):
    start = datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI)
    clock.freeze(start)
    instance_id = start_at(db, actor, "street_review")
    do(db, actor, instance_id, "street_review", {"decision": "revise", "comment": "期限太紧"})
    earliest = add_working_days(start, 25).astimezone(SHANGHAI).date()
    fields = refused(
        db, actor, instance_id, "revise", {"due_date": (earliest - timedelta(days=1)).isoformat()}
    )
    assert set(fields) == {"due_date"} and earliest.isoformat() in fields["due_date"]
    do(db, actor, instance_id, "revise", {"due_date": earliest.isoformat()})
    assert data_of(db, actor, instance_id)["due_date"] == earliest.isoformat()


def test_transfer_and_completion_lie_between_the_request_and_today(db, actor):
    clock.freeze(datetime(2026, 11, 2, 10, 0, tzinfo=SHANGHAI))
    instance_id = start_at(db, actor, "funding")
    assert data_of(db, actor, instance_id)["requested_on"] == "2026-11-02"
    clock.freeze(datetime(2026, 11, 5, 10, 0, tzinfo=SHANGHAI))
    good = {"amount": "5000.00", "voucher_no": "PZ-2026-0077"}
    for day in ("2026-11-01", "2025-12-31", "2026-11-06"):
        fields = refused(db, actor, instance_id, "funding", {**good, "transferred_on": day})
        assert set(fields) == {"transferred_on"}, day
    early = {**good, "transferred_on": "2026-11-01"}
    assert "2026-11-02" in refused(db, actor, instance_id, "funding", early)["transferred_on"]
    do(db, actor, instance_id, "funding", {**good, "transferred_on": "2026-11-02"})

    for day in ("2026-11-01", "2026-11-06"):
        fields = refused(db, actor, instance_id, "work", {"report": "完成", "completed_on": day})
        assert set(fields) == {"completed_on"}, day
    do(db, actor, instance_id, "work", {"report": "完成", "completed_on": "2026-11-05"})
    assert open_keys(db, instance_id) == ["acceptance"]


# --- 7. work, acceptance with rework, evaluation ------------------------------------------------


def test_rework_loop_then_completion_and_the_ledger_balances(db, actor):
    instance_id = start_at(db, actor, "work", amount="1234.56")
    fields = refused(db, actor, instance_id, "work", {"report": "已完成"})
    assert set(fields) == {"completed_on"}
    do(db, actor, instance_id, "work", {"report": "初稿", "completed_on": today()})
    assert open_keys(db, instance_id) == ["acceptance"]
    assert task(db, instance_id, "acceptance").id in {t.id for t in inbox(db, actor("dept.mz"))}

    fields = refused(db, actor, instance_id, "acceptance", {"decision": "rework"})
    assert set(fields) == {"comment"}
    do(db, actor, instance_id, "acceptance", {"decision": "rework", "comment": "缺少台账"})
    assert open_keys(db, instance_id) == ["work"]
    assert count_tasks(db, instance_id, "work") == 2
    assert data_of(db, actor, instance_id)["acceptance"]["comment"] == "缺少台账"
    assert count_tasks(db, instance_id, "funding") == 1  # rework does not pay twice

    do(db, actor, instance_id, "work", {"report": "补充台账后完成", "completed_on": today()})
    do(db, actor, instance_id, "acceptance", {"decision": "accept"})
    assert open_keys(db, instance_id) == ["evaluation"]
    assert task(db, instance_id, "evaluation").id in {t.id for t in inbox(db, actor("street.rg"))}

    for bad in (101, -1, "很好", 99.5):
        assert set(refused(db, actor, instance_id, "evaluation", {"score": bad})) == {"score"}
    result = do(db, actor, instance_id, "evaluation", {"score": 100, "comment": "好"})
    assert (result["instance_state"], result["outcome"]) == ("completed", "completed")
    assert_finished(db, instance_id, "completed")
    assert data_of(db, actor, instance_id)["evaluation"] == {"score": 100, "comment": "好"}

    money = ledger(db, instance_id)
    assert sorted((e.kind, e.amount_fen) for e in money["entries"]) == [
        ("agreed", 123456),
        ("transferred", 123456),
    ]
    assert money["agreed_fen"] == money["transferred_fen"] == 123456
    assert money["outstanding_fen"] == 0
    with db.read() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.instance_id == instance_id))
        assert all(isinstance(e.amount_fen, int) for e in rows)


def test_score_bounds_are_inclusive(db, actor):
    instance_id = start_at(db, actor, "evaluation", item="S03", amount="0")
    do(db, actor, instance_id, "evaluation", {"score": 0, "comment": "未达要求"})
    assert_finished(db, instance_id, "completed")


# --- 8. escalation with a controllable clock ---------------------------------------------------


def test_overdue_street_review_is_escalated_once(db, actor):
    instance_id = start_at(db, actor, "street_review")
    review = task(db, instance_id, "street_review")
    assert review.due_at is not None and review.escalated_at is None
    assert service.fire_due_timers(db) == 0
    assert inbox(db, actor("reviewer")) == []

    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) == 1
    assert service.fire_due_timers(db) == 0
    (escalated,) = inbox(db, actor("reviewer"))
    assert (escalated.id, escalated.status) == (review.id, "open")
    assert escalated.escalated_at is not None
    assert escalated.escalation_unit_id is not None
    assert [t.id for t in inbox(db, actor("street.rg"), overdue=True)] == [review.id]
    assert [t.id for t in inbox(db, actor("reviewer"), overdue=True)] == [review.id]
    assert instance(db, instance_id).status == "running"
    assert open_keys(db, instance_id) == ["street_review"]
    assert audit_actions(db, instance_id).count("task.escalated") == 1
    assert audit_actions(db, instance_id).count("timer.fired") == 1

    # the access office may now decide it; the handoff moves on
    service.complete_task(db, review.id, actor("reviewer"), {"decision": "approve"})
    assert open_keys(db, instance_id) == ["sign_committee"]
    assert service.fire_due_timers(db) == 0


def test_overdue_funding_is_escalated_once(db, actor):
    instance_id = start_at(db, actor, "funding")
    funding = task(db, instance_id, "funding")
    assert funding.due_at is not None
    assert service.fire_due_timers(db) == 0

    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) == 1
    assert service.fire_due_timers(db) == 0
    (escalated,) = inbox(db, actor("reviewer"))
    assert (escalated.id, escalated.key, escalated.status) == (funding.id, "funding", "open")
    assert escalated.escalated_at is not None
    assert [t.id for t in inbox(db, actor("finance"))] == [funding.id]
    assert open_keys(db, instance_id) == ["funding"]
    assert count_tasks(db, instance_id, "work") == 0

    do(db, actor, instance_id, "funding")  # paid late, by finance
    assert open_keys(db, instance_id) == ["work"]
    assert ledger(db, instance_id)["outstanding_fen"] == 0


@pytest.mark.parametrize(
    ("start", "key", "days"),
    [
        # a Thursday before the Mid-Autumn Festival (09-25) and National Day (10-01..10-07)
        (datetime(2026, 9, 24, 10, 0, tzinfo=SHANGHAI), "street_review", 15),
        (datetime(2026, 9, 24, 10, 0, tzinfo=SHANGHAI), "funding", 10),
    ],
)
def test_due_dates_count_chinese_working_days(db, actor, start, key, days):
    clock.freeze(start)
    instance_id = start_at(db, actor, key)
    row = task(db, instance_id, key)
    due = add_working_days(start, days)
    assert row.due_at == due
    assert due - start > timedelta(days=days + 7)  # the holidays are not working days

    clock.freeze(due - timedelta(minutes=1))
    assert service.fire_due_timers(db) == 0
    assert inbox(db, actor("reviewer")) == []
    assert inbox(db, actor("reviewer"), key=key) == []

    clock.freeze(due + timedelta(minutes=1))
    assert service.fire_due_timers(db) == 1
    assert service.fire_due_timers(db) == 0
    assert [t.id for t in inbox(db, actor("reviewer"))] == [row.id]


def test_timers_of_many_handoffs_fire_once_each(db, actor):
    request_id = new_request(db, actor, communities=("TB-RG-01", "TB-RG-02", "TB-HM-01"))
    rows = instances_of(db, request_id)
    do(db, actor, rows[0].id, "street_review", {"decision": "reject", "comment": "不予同意"})
    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) == 2  # the rejected one has no timer any more
    assert service.fire_due_timers(db) == 0
    escalated = inbox(db, actor("reviewer"))
    assert sorted(t.instance_id for t in escalated) == [rows[1].id, rows[2].id]


# --- 9. cancel ----------------------------------------------------------------------------------


def test_department_cancels_a_running_handoff(db, actor):
    instance_id = start_at(db, actor, "sign_department")  # the committee has signed
    open_ids = [t.id for t in tasks(db, instance_id)]
    department_sign = task(db, instance_id, "sign_department").id
    assert len(open_ids) == 2
    for outsider in ("street.rg", "committee.rg01", "finance", "dept.rs"):
        with pytest.raises(Forbidden):
            service.cancel_instance(db, instance_id, actor(outsider), "不想办")
    assert instance(db, instance_id).status == "running"
    assert len(tasks(db, instance_id)) == 2

    row = service.cancel_instance(db, instance_id, actor("dept.mz"), "需求取消")
    assert (row.status, row.outcome) == ("cancelled", "cancelled")
    row = instance(db, instance_id)
    assert (row.status, row.outcome, row.next_timer_at) == ("cancelled", "cancelled", None)
    assert tasks(db, instance_id) == []
    statuses = {t.id: t.status for t in tasks(db, instance_id, status=None)}
    assert all(statuses[i] == "withdrawn" for i in open_ids)
    for who in ("dept.mz", "street.rg", "committee.rg01"):
        assert inbox(db, actor(who)) == [], who
    with pytest.raises(Conflict):
        service.complete_task(db, department_sign, actor("dept.mz"), {"decision": "sign"})
    with pytest.raises(Conflict):
        service.cancel_instance(db, instance_id, actor("dept.mz"))
    assert "instance.cancelled" in audit_actions(db, instance_id)


def test_cancelled_handoff_never_escalates(db, actor):
    instance_id = start_at(db, actor, "street_review")
    service.cancel_instance(db, instance_id, actor("dept.mz"))
    clock.advance(timedelta(days=40))
    assert service.fire_due_timers(db) == 0
    assert inbox(db, actor("reviewer")) == []


def test_cancelling_during_signing_cancels_the_draft_agreement(db, actor):
    instance_id = start_at(db, actor, "sign_department")
    assert agreement_of(db, instance_id).status == "draft"
    service.cancel_instance(db, instance_id, actor("dept.mz"), "重复申请")
    assert agreement_of(db, instance_id).status == "cancelled"
    assert instance(db, instance_id).status == "cancelled"
