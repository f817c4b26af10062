"""Delegation hands a task only to someone who holds its role at its org unit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handoff import requests as handoff
from workflows import accounts, roles, service
from workflows.errors import Invalid
from workflows.models import Task, User


def street_review(db, actor) -> Task:
    payload = handoff.RequestInput(
        title="低保对象入户调查",
        community_codes=["TB-RG-01"],
        amount="5000.00",
        item_code="A01",
        due_date="2099-12-31",
    )
    handoff.create_request(db, actor("dept.mz"), payload)
    with db.read() as s:
        return s.scalar(select(Task).where(Task.key == "street_review", Task.status == "open"))


def test_a_member_of_the_unit_in_another_role_is_refused(db, actor, tag):
    with db.write() as s:
        roles.create_role(s, f"grid_{tag}", "网格员", "Grid worker", "street", None)
        accounts.create_user(
            s, f"grid.{tag}", "网格员", "a-long-password-1", [(f"grid_{tag}", "TB-RG")]
        )
        accounts.create_user(
            s, f"street2.{tag}", "街道干部", "a-long-password-1", [("street_office", "TB-RG")]
        )
    task = street_review(db, actor)
    with pytest.raises(Invalid) as err:
        service.delegate_task(db, task.id, actor("street.rg"), f"grid.{tag}")
    assert "username" in err.value.fields
    delegated = service.delegate_task(db, task.id, actor("street.rg"), f"street2.{tag}")
    with db.read() as s:
        assignee = s.get(User, delegated.assignee_id)
    assert assignee.username == f"street2.{tag}"
