"""Small processes built in the tests, deployed and run through the service on the `db`
fixture's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select

from workflows import definitions, roles, starting
from workflows.db import Database
from workflows.models import AuditEvent, ProcessDefinition, ProcessInstance, Task

HEAD = (
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"'
    ' xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
    ' xmlns:di="http://www.omg.org/spec/DD/20100524/DI"'
    ' xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' id="defs" targetNamespace="http://example.org/test">'
)
DATA = {"street": "TB-RG", "community": "TB-RG-01", "access_office": "TB-A"}
REVIEW = '<bpmn:userTask id="review" name="审核" camunda:candidateGroups="street_office"/>'


def document(body: str, key: str = "p") -> str:
    """``body`` as process ``key`` (executable) with an (empty) diagram, unique content."""
    return (
        f'{HEAD}<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>'
        f'<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="pl" bpmnElement="{key}">'
        f"</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"
        f"<!-- {uuid.uuid4()} -->"
    )


def chain(*nodes: str, key: str = "p", end: str = "end") -> str:
    """start -> nodes... -> end, one sequence flow (f0, f1, ...) between each pair."""
    ids = ["start", *(re.search(r'id="([^"]+)"', n)[1] for n in nodes), end]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(pairwise(ids))
    )
    body = '<bpmn:startEvent id="start"/>' + "".join(nodes) + f'<bpmn:endEvent id="{end}"/>'
    return document(body + flows, key)


def script(sid: str, code: str, loop: str = "") -> str:
    code = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<bpmn:scriptTask id="{sid}" scriptFormat="python">{loop}'
        f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>"
    )


def timer(tid: str, kind: str, text: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{tid}"><bpmn:timerEventDefinition>'
        f"<bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


def cardinality(text: str, sequential: bool = False) -> str:
    attrs = ' isSequential="true"' if sequential else ""
    return (
        f"<bpmn:multiInstanceLoopCharacteristics{attrs}>"
        f"<bpmn:loopCardinality>{text}</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics>"
    )


def deploy(db: Database, xml: str) -> ProcessDefinition:
    with db.write() as session:
        definition, _ = definitions.deploy(session, xml, roles=roles.role_keys(session))
        return definition


def deploy_unchecked(db: Database, xml: str) -> ProcessDefinition:
    """Store a version as one deployed before today's deploy-time checks would have been:
    parsed (it must be runnable BPMN) but not validated."""
    parsed = definitions.parse_bpmn(xml)
    with db.write() as session:
        last = definitions.newest(session, parsed.key)
        definition = ProcessDefinition(
            key=parsed.key,
            name=parsed.name,
            version=(last.version if last else 0) + 1,
            content_hash=definitions.content_hash(xml),
            bpmn_xml=xml,
            suspended=False,
        )
        session.add(definition)
        session.flush()
        return definition


def start(db: Database, definition: ProcessDefinition, data: dict | None = None) -> int:
    with db.write() as session:
        definition = session.merge(definition)
        instance = starting.start_instance(
            session, definition, {**DATA, **(data or {})}, actor_id=None, title="t"
        )
        return instance.id


def instance(db: Database, instance_id: int) -> ProcessInstance:
    with db.read() as session:
        return session.get(ProcessInstance, instance_id)


def open_tasks(db: Database, instance_id: int) -> list[Task]:
    with db.read() as session:
        return list(
            session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.status == "open")
                .order_by(Task.id)
            )
        )


def counts(db: Database) -> tuple[int, int, int]:
    """(instances, task rows, audit events): what a refused step must leave as it was."""
    with db.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model))
            for model in (ProcessInstance, Task, AuditEvent)
        )


def actions(db: Database, instance_id: int) -> list[str]:
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.instance_id == instance_id)
                .order_by(AuditEvent.id)
            )
        )


def first_open(db: Database, instance_id: int) -> Task:
    tasks = open_tasks(db, instance_id)
    assert tasks, f"instance {instance_id} has no open task"
    return tasks[0]


def value(db: Database, instance_id: int, key: str) -> Any:
    from workflows import engine

    with db.read() as session:
        row = session.get(ProcessInstance, instance_id)
        parsed = definitions.loaded(row.definition)
        return engine.current_data(engine.load(parsed, row.state)).get(key)
