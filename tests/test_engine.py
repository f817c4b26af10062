"""Engine core on both databases: deploy, start, route, complete, timers, persistence, audit."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflows import accounts, clock, definitions, roles, service, starting
from workflows.db import Database
from workflows.errors import Conflict, Forbidden, FormErrors, Invalid
from workflows.models import AuditEvent, OrgUnit, ProcessInstance, Task
from workflows.routing import inbox_clause

MINI = (Path(__file__).parent / "fixtures" / "mini.bpmn").read_text(encoding="utf-8")
DATA = {"street": "TB-RG", "community": "TB-RG-01", "access_office": "TB-A"}


def variant(xml: str = MINI) -> str:
    """The same process with unique content, so it deploys as a new version."""
    return xml + f"<!-- {uuid.uuid4()} -->"


def deploy_mini(db: Database, xml: str = MINI):
    with db.write() as session:
        definition, _ = definitions.deploy(session, xml, roles=roles.role_keys(session))
        return definition


def start_mini(db: Database, definition, data=None) -> int:
    with db.write() as session:
        definition = session.merge(definition)
        instance = starting.start_instance(
            session, definition, dict(data or DATA), actor_id=None, title="mini"
        )
        return instance.id


def open_tasks(db: Database, instance_id: int) -> list[Task]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Task).where(Task.instance_id == instance_id, Task.status == "open")
            )
        )


def inbox(db: Database, who: service.Actor) -> list[Task]:
    with db.read() as session:
        clause = inbox_clause(set(who.pairs), who.user_id)
        return list(session.scalars(select(Task).where(clause)))


def unit_id(db: Database, code: str) -> int:
    with db.read() as session:
        return session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))


def test_deploy_versions_by_content(db):
    xml = variant()
    first = deploy_mini(db, xml)
    again = deploy_mini(db, xml)
    assert again.id == first.id and again.version == first.version
    changed = deploy_mini(db, variant(MINI.replace('name="审核"', 'name="街道审核"')))
    assert changed.key == "mini" and changed.version == first.version + 1


def test_running_instance_stays_on_its_version(db, actor):
    v1 = deploy_mini(db, variant())
    instance_id = start_mini(db, v1)
    v2 = deploy_mini(db, variant(MINI.replace('name="办理"', 'name="办理事项"')))
    assert v2.version == v1.version + 1
    task = open_tasks(db, instance_id)[0]
    service.complete_task(db, task.id, actor("street.rg"), {"decision": "approve"})
    (work,) = open_tasks(db, instance_id)
    assert work.name == "办理"  # the v1 name: the instance did not move to v2
    with db.read() as session:
        assert session.get(ProcessInstance, instance_id).definition_id == v1.id


@pytest.mark.parametrize(
    ("mutate", "element", "reason"),
    [
        (lambda x: x.replace("</bpmn:process>", ""), None, "not well-formed"),
        (
            lambda x: x.replace('name="committee"', 'name="mayor"'),
            "work",
            "unknown role",
        ),
        (
            lambda x: x.replace("<bpmn:flowNodeRef>work</bpmn:flowNodeRef>", ""),
            "work",
            "has no role",
        ),
        (
            lambda x: x.replace(
                "review.decision == 'reject'", "().__class__.__base__.__subclasses__()"
            ),
            "f_reject",
            "is refused",
        ),
        (
            lambda x: x.replace("add_working_days(now(), 2)", "__import__('os').system('id')"),
            "review_overdue",
            "is refused",
        ),
        (lambda x: x.split("<bpmndi:BPMNDiagram")[0] + "</bpmn:definitions>", None, "BPMNDI"),
        (lambda x: x.replace('isExecutable="true"', 'isExecutable="false"'), None, "executable"),
    ],
)
def test_deploy_refuses_bad_files_naming_element(db, mutate, element, reason):
    with pytest.raises(definitions.DefinitionError) as err:
        deploy_mini(db, mutate(MINI))
    assert err.value.element == element
    assert reason in str(err.value)


def test_deploy_refuses_entity_expansion(db):
    bomb = MINI.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    )
    with pytest.raises(definitions.DefinitionError, match="DOCTYPE"):
        deploy_mini(db, bomb)


def test_start_routes_task_to_street_inbox_only(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (task,) = open_tasks(db, instance_id)
    assert (task.key, task.role, task.org_unit_id) == (
        "review",
        "street_office",
        unit_id(db, "TB-RG"),
    )
    assert task.due_at is not None and task.due_at > task.created_at
    assert [t.id for t in inbox(db, actor("street.rg"))] == [task.id]
    for other in ("street.hm", "committee.rg01", "dept.mz", "finance", "reviewer"):
        assert inbox(db, actor(other)) == [], other


def test_complete_refuses_outsiders_and_bad_data(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (task,) = open_tasks(db, instance_id)
    with pytest.raises(Forbidden):
        service.complete_task(db, task.id, actor("street.hm"), {"decision": "approve"})
    with pytest.raises(FormErrors) as err:
        service.complete_task(db, task.id, actor("street.rg"), {"decision": "maybe", "x": 1})
    assert set(err.value.fields) == {"decision", "x"}
    assert [t.id for t in open_tasks(db, instance_id)] == [task.id]  # nothing changed


def test_complete_routes_next_task_and_finishes_with_outcome(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    result = service.complete_task(db, review.id, actor("street.rg"), {"decision": "approve"})
    (work,) = open_tasks(db, instance_id)
    assert result["opened"] == [work.id]
    assert (work.role, work.org_unit_id) == ("committee", unit_id(db, "TB-RG-01"))
    assert [t.id for t in inbox(db, actor("committee.rg01"))] == [work.id]
    with pytest.raises(FormErrors) as err:
        service.complete_task(db, work.id, actor("committee.rg01"), {"report": "ok", "score": 101})
    assert "score" in err.value.fields
    done = service.complete_task(
        db, work.id, actor("committee.rg01"), {"report": "ok", "score": 90}
    )
    assert (done["instance_state"], done["outcome"]) == ("completed", "done")
    with db.read() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance.next_timer_at is None and instance.completed_at is not None
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.id)
        ).all()
    assert actions[0] == "instance.started"
    assert actions.count("task.created") == 2 and actions.count("task.completed") == 2
    assert actions[-1] == "instance.completed"


def test_reject_path_outcome(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    done = service.complete_task(
        db, review.id, actor("street.rg"), {"decision": "reject", "comment": "no"}
    )
    assert (done["instance_state"], done["outcome"]) == ("completed", "rejected")
    assert open_tasks(db, instance_id) == []


def test_state_continues_exactly_in_a_fresh_process(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    definitions._cache.clear()  # nothing parsed survives: as if another process served it
    fresh = Database(db.url)
    try:
        service.complete_task(fresh, review.id, actor("street.rg"), {"decision": "approve"})
        (work,) = open_tasks(fresh, instance_id)
        assert work.key == "work"
    finally:
        fresh.dispose()


def test_second_completion_is_a_conflict(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    service.complete_task(db, review.id, actor("street.rg"), {"decision": "approve"})
    with pytest.raises(Conflict):
        service.complete_task(db, review.id, actor("street.rg"), {"decision": "approve"})


def test_concurrent_completions_exactly_one_wins(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    who = actor("street.rg")
    results: list[str] = []
    barrier = threading.Barrier(4)

    def attempt():
        barrier.wait()
        try:
            service.complete_task(db, review.id, who, {"decision": "approve"})
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    tasks = open_tasks(db, instance_id)
    assert [t.key for t in tasks] == ["work"]  # one step, not four
    with db.read() as session:
        completed = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.action == "task.completed")
        )
    assert completed == 1


def test_timer_escalates_overdue_task_exactly_once(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    assert service.fire_due_timers(db) == 0
    assert inbox(db, actor("reviewer")) == []
    clock.advance(timedelta(days=10))
    assert service.fire_due_timers(db) == 1
    assert service.fire_due_timers(db) == 0
    (escalated,) = inbox(db, actor("reviewer"))
    assert escalated.id == review.id and escalated.escalated_at is not None
    # still the street's task, and the escalation does not complete it
    assert [t.id for t in inbox(db, actor("street.rg"))] == [review.id]
    with db.read() as session:
        fired = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.instance_id == instance_id,
                AuditEvent.action.in_(["timer.fired", "task.escalated"]),
            )
        ).all()
    assert sorted(fired) == ["task.escalated", "timer.fired"]
    service.complete_task(db, review.id, actor("reviewer"), {"decision": "approve"})
    assert [t.key for t in open_tasks(db, instance_id)] == ["work"]


def _second_street_officer(db) -> service.Actor:
    name = f"street.rg.{uuid.uuid4().hex[:6]}"
    with db.write() as session:
        user = accounts.create_user(
            session, name, "第二审核人", "pw-123456", [("street_office", "TB-RG")]
        )
        session.flush()
        return service.Actor.of(user)


def test_claim_blocks_colleagues_until_released(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    rg, rg2 = actor("street.rg"), _second_street_officer(db)
    service.claim_task(db, review.id, rg)
    for attempt in (
        lambda: service.claim_task(db, review.id, rg2),
        lambda: service.unclaim_task(db, review.id, rg2),
        lambda: service.complete_task(db, review.id, rg2, {"decision": "approve"}),
    ):
        with pytest.raises(Conflict, match="claimed by someone else"):
            attempt()
    with pytest.raises(Forbidden):
        service.claim_task(db, review.id, actor("street.hm"))
    service.unclaim_task(db, review.id, rg)
    with pytest.raises(Conflict, match="not claimed"):
        service.unclaim_task(db, review.id, rg)
    service.claim_task(db, review.id, rg2)
    service.complete_task(db, review.id, rg2, {"decision": "approve"})


def test_delegate_only_within_the_org_unit(db, actor):
    instance_id = start_mini(db, deploy_mini(db))
    (review,) = open_tasks(db, instance_id)
    rg, rg2 = actor("street.rg"), _second_street_officer(db)
    with pytest.raises(Invalid) as err:
        service.delegate_task(db, review.id, rg, "committee.rg01")
    assert "username" in err.value.fields
    with pytest.raises(Invalid):
        service.delegate_task(db, review.id, rg, "nobody-at-all")
    service.delegate_task(db, review.id, rg, rg2.username)
    assert review.id in [t.id for t in inbox(db, rg2)]
    with pytest.raises(Conflict):
        service.complete_task(db, review.id, rg, {"decision": "approve"})
    service.complete_task(db, review.id, rg2, {"decision": "approve"})
