"""The outbox on both databases: a task reaching an inbox is an in-app message for every holder
of its role and one e-mail per holder who has an address, received by a real SMTP server with
the right To, Subject and Message-ID; nothing is sent twice by a worker run twice or by two at
once; a fan-out is one digest per recipient and channel; a refused step leaves nothing."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from handoff.requests import RequestInput, create_request
from notifications import service, worker
from notifications.models import Notification, NotificationKey
from workflows import admin
from workflows.errors import FormErrors
from workflows.models import Membership, OrgUnit, Task, User

from .conftest import deliver, rows, set_email, user_id

PASSWORD = "a-long-enough-password"


def launch(db, actor, communities=("TB-RG-01",), amount="5000.00") -> int:
    payload = RequestInput(
        title="低保对象入户调查",
        community_codes=list(communities),
        amount=amount,
        item_code="A01",
        description="对辖区低保对象开展入户调查",
        due_date="2099-12-31",
    )
    return create_request(db, actor("dept.mz"), payload)


def second_reviewer(db, tag) -> int:
    """Another street_office member of 瑞光街道 (TB-RG), with an address."""
    with db.write() as s:
        user = admin.create_user(
            s,
            username=f"rg2-{tag}",
            display_name="瑞光街道 第二审核人",
            password=PASSWORD,
            memberships=[("street_office", "TB-RG")],
            email=f"rg2-{tag}@example.cn",
            actor_id=None,
        )
        return user.id


def test_a_new_task_tells_every_holder_in_app_and_by_mail(db, actor, tag, smtp, settings):
    set_email(db, "street.rg", "street.rg@example.cn")
    other = second_reviewer(db, tag)
    launch(db, actor)
    inapp = rows(db, channel="inapp")
    with db.read() as s:
        unit = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "TB-RG"))
        everyone = set(  # the active street office holders (other tests may add some)
            s.scalars(
                select(Membership.user_id)
                .join(User, User.id == Membership.user_id)
                .where(
                    Membership.role == "street_office",
                    Membership.org_unit_id == unit,
                    User.is_active.is_(True),
                )
            )
        )
    assert {user_id(db, "street.rg"), other} <= everyone
    assert {r.user_id for r in inapp} == everyone
    assert all(r.status == "sent" and r.read_at is None for r in inapp)
    item = inapp[0].items[0]
    assert item["kind"] == "task_opened" and item["task_key"] == "street_review"
    assert item["title"].startswith("低保对象入户调查")
    mails = rows(db, channel="email")
    assert sorted(r.address for r in mails) == sorted(
        ["street.rg@example.cn", f"rg2-{tag}@example.cn"]
    )
    assert all(r.status == "pending" for r in mails)

    done = deliver(db, settings)
    assert (done.sent, done.failed) == (2, 0), done.errors
    received = {m.rcpt_tos[0]: m for m in smtp.mails}
    assert set(received) == {"street.rg@example.cn", f"rg2-{tag}@example.cn"}
    mail = received["street.rg@example.cn"]
    assert "street.rg@example.cn" in mail.message["To"]
    assert mail.message["Subject"].startswith("【新待办】街道审核：低保对象入户调查")
    row = next(r for r in rows(db, channel="email") if r.address == "street.rg@example.cn")
    assert (
        mail.message_id
        == f"<notification-{row.id}-{int(row.created_at.timestamp())}@handoff.example>"
    )
    assert "http://svc/tasks/" in mail.message.get_content()
    assert all(r.status == "sent" and r.sent_at for r in rows(db, channel="email"))


def test_no_address_or_mail_switched_off_means_in_app_only(db, actor, tag):
    other = second_reviewer(db, tag)
    from notifications import settings as user_settings

    with db.write() as s:
        user_settings.update(s, other, {"email_enabled": False})
    launch(db, actor)
    assert other in {r.user_id for r in rows(db, channel="inapp")}
    assert rows(db, channel="email") == []


def test_running_the_worker_twice_sends_nothing_twice(db, actor, smtp, settings):
    set_email(db, "street.rg", "street.rg@example.cn")
    launch(db, actor)
    assert deliver(db, settings).sent == 1
    assert deliver(db, settings).total == 0
    assert len(smtp.mails) == 1


def test_two_workers_at_once_send_each_message_once(db, actor, smtp, settings):
    set_email(db, "street.rg", "street.rg@example.cn")
    set_email(db, "street.hm", "street.hm@example.cn")
    set_email(db, "street.mr", "street.mr@example.cn")
    for community in ("TB-RG-01", "TB-HM-01", "TB-MR-01"):
        launch(db, actor, (community,))  # one transaction each: three messages
    smtp.delay = 0.2  # long enough for the two workers to overlap
    results: list[worker.Delivered] = []

    def run() -> None:
        results.append(deliver(db, settings))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in results) == 3
    assert sorted(len(v) for v in smtp.by_message_id().values()) == [1, 1, 1]


def test_a_fan_out_is_one_digest_per_recipient_and_channel(db, actor, smtp, settings):
    set_email(db, "street.rg", "street.rg@example.cn")
    set_email(db, "street.hm", "street.hm@example.cn")
    communities = ("TB-RG-01", "TB-RG-02", "TB-RG-03", "TB-HM-01", "TB-HM-02")
    launch(db, actor, communities)
    inapp = {r.user_id: r for r in rows(db, channel="inapp")}
    assert len(rows(db, channel="inapp")) == len(inapp)  # one message per recipient
    assert len(inapp[user_id(db, "street.rg")].items) == 3
    assert len(inapp[user_id(db, "street.hm")].items) == 2
    assert inapp[user_id(db, "street.rg")].kind == "task_opened"
    assert deliver(db, settings).sent == 2
    by_to = {m.rcpt_tos[0]: m for m in smtp.mails}
    assert len(smtp.mails) == 2
    assert by_to["street.rg@example.cn"].message["Subject"] == "【新待办】共 3 项"
    body = by_to["street.rg@example.cn"].message.get_content()
    assert body.count("【新待办】街道审核") == 3


def test_a_refused_step_leaves_nothing_to_send(db, actor):
    set_email(db, "street.rg", "street.rg@example.cn")
    launch(db, actor)
    before = len(rows(db))
    with db.read() as s:
        task_id = s.scalar(select(Task.id).where(Task.key == "street_review"))
    from workflows import service as engine_service

    with pytest.raises(FormErrors):  # reject needs a comment: nothing changes, nothing is sent
        engine_service.complete_task(db, task_id, actor("street.rg"), {"decision": "reject"})
    assert len(rows(db)) == before


def test_an_item_is_enqueued_once_per_recipient_and_channel(db, actor):
    uid = user_id(db, "street.rg")
    for _ in range(2):
        with db.write() as s:
            service.enqueue(s, "test", "test:same", {"title": "一"}, users=[uid])
    assert len(rows(db, channel="inapp")) == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(NotificationKey)) == 1
        assert s.scalar(select(func.count()).select_from(Notification)) == 1
