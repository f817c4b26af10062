"""BPMN messages from outside (`POST /messages`): correlate by name and data, deliver, audit.

Instances waiting for a message are found through `message_subscription` (kept by the
projection), so no workflow is loaded unless it waits for that name. Each instance is locked
and advanced in the one transaction of the delivery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import (
    MessageEventDefinition as CamundaMessageEventDefinition,
)
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from . import audit, definitions, engine, queries
from .db import Database
from .errors import Forbidden, Invalid, NotFound
from .models import MessageSubscription, ProcessInstance
from .service import Actor, lock_instance, marking_failures, run_step

MAX_DATA = 64_000
MAX_INSTANCES = 1000  # one message wakes at most this many instances


def _check(name: Any, correlation: Any, data: Any) -> None:
    errors = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "请填写消息名称（最多 200 字） a message name of at most 200 characters"
    if not isinstance(correlation, Mapping) or not all(isinstance(k, str) for k in correlation):
        errors["correlation"] = "应为对象 must be an object of data keys and values"
    elif not correlation:  # as Camunda's correlate: a message is for instances it names
        errors["correlation"] = "请至少给出一个关联字段 name at least one data key to correlate"
    if not isinstance(data, Mapping):
        errors["data"] = "应为对象 must be an object"
    elif len(json.dumps(data, ensure_ascii=False, default=str)) > MAX_DATA:
        errors["data"] = f"数据过大 larger than {MAX_DATA} characters"
    if errors:
        raise Invalid("invalid message", errors)


def deliver(
    db: Database, actor: Actor, name: str, correlation: Mapping[str, Any], data: Mapping[str, Any]
) -> int:
    """Deliver to every instance waiting for `name` whose data matches `correlation`; the
    number delivered. NotFound when none waits; Forbidden when the actor may not send."""
    _check(name, correlation, data)
    with marking_failures(db), db.write() as session:
        ids = session.scalars(
            select(MessageSubscription.instance_id)
            .where(MessageSubscription.name == name)
            .order_by(MessageSubscription.instance_id)
            .limit(MAX_INSTANCES)
        ).all()
        readable = _readable(session, actor, ids)
        delivered, refused = 0, False
        for instance_id in ids:
            instance = lock_instance(session, instance_id)
            if instance.status != "running":
                continue
            parsed = definitions.of_instance(session, instance)
            if not (actor.is_admin or {r for r, _ in actor.pairs} & parsed.message_senders):
                refused = True
                continue
            if not (parsed.public_messages or readable is None or instance_id in readable):
                continue  # what a sender may not read is not there for them
            if _deliver_one(session, instance, parsed, actor, name, correlation, data):
                delivered += 1
        if not delivered:
            if refused:
                raise Forbidden("your roles may not send this message")
            raise NotFound(f"no instance waits for message {name!r} with that correlation")
        return delivered


def _readable(session, actor: Actor, ids) -> set[int] | None:
    """The instances among `ids` the actor may read (None: all, for admins)."""
    if actor.is_admin or not ids:
        return None
    return set(
        session.scalars(
            select(ProcessInstance.id).where(
                ProcessInstance.id.in_(ids), queries.visible_instances(actor)
            )
        )
    )


def _deliver_one(session, instance: ProcessInstance, parsed, actor, name, correlation, data):
    workflow = engine.load(parsed, instance.state)
    waiting = [
        (t, d)
        for t in workflow.get_tasks(state=TaskState.WAITING)
        for d in engine.event_definitions(t.task_spec)
        if isinstance(d, MessageEventDefinition)
        and d.name == name
        and all(t.data.get(key) == value for key, value in correlation.items())
    ]
    if not waiting:
        return False

    def step() -> None:
        for task, _ in waiting:
            task.data.update(data)  # merged into the instance data along the catching path
        definition = waiting[0][1]
        workflow.catch(BpmnEvent(definition, payload=_payload(definition, data)))
        engine.advance(workflow)

    audit.record(
        session,
        "message.delivered",
        actor_id=actor.user_id,
        instance_id=instance.id,
        business_key=instance.business_key,
        message=name,
        correlation=dict(correlation),
    )
    run_step(session, instance, workflow, parsed, actor.user_id, step)
    return True


def _payload(definition: MessageEventDefinition, data: Mapping[str, Any]) -> Any:
    # SpiffWorkflow 3.2: the Camunda variant stores its payload under a result variable; the
    # data is merged into the waiting tasks already, and `message` keeps the last one whole.
    if isinstance(definition, CamundaMessageEventDefinition):
        return {"payload": dict(data), "result_var": "message"}
    return dict(data)
